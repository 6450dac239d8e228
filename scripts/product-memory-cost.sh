#!/usr/bin/env bash
# What the packed products lose when their operands are farther out than the caches
# (Eval/SPEED.md, session 47): builds scripts/product-memory-cost.c against the working tree's
# Sources/TrellisKernels and prints the vector units' peak (GFLOP/s a core, every core running
# the loop at once), then training's product shapes timed after reading S MB of other memory.
# On a shared machine run it while nothing else does.
#   scripts/product-memory-cost.sh
set -euo pipefail
sources=Sources/TrellisKernels
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
clang -O3 -I"$sources/include" -I"$sources" scripts/product-memory-cost.c \
  "$sources"/{kernels_portable,kernels_avx2,kernels_avx512,dispatch,panels,viterbi_sparse}.c \
  -lm -o "$work/cost"
cores=$(nproc)
for _ in $(seq "$cores"); do "$work/cost" peak > "$work/peak.$RANDOM" & done
wait
echo "FMA peak, GFLOP/s a core with $cores cores busy: $(cat "$work"/peak.* | sort -n | tr '\n' ' ')"
"$work/cost"
