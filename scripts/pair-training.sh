#!/usr/bin/env bash
# Two `trellis` binaries' training speed against each other (Eval/SPEED.md, session 22): one
# epoch of ATIS training without character features (the peer's sizes, as `make bench-peers`
# trains), OLD and NEW alternating for ROUNDS rounds (default 20), each run's tokens/s as its
# epoch line prints it (training steps only: reading the corpus and writing the model are left
# out). Prints the median of the rounds' NEW/OLD ratios and their range. The kernels' level is
# the environment's (TRELLIS_KERNELS=avx2 for an AVX2 CPU's code).
#   [ROUNDS=20] [TRELLIS_KERNELS=L] scripts/pair-training.sh OLD NEW [TRAIN.conll]
set -euo pipefail
old=${1:?usage: scripts/pair-training.sh OLD NEW [TRAIN.conll]}
new=${2:?usage: scripts/pair-training.sh OLD NEW [TRAIN.conll]}
train=${3:-../shared/corpora/atis/train.conll}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
rate() {
  "$1" train --train "$train" --model "$work/model" --epochs 1 --seed 1 --character-filters 0 \
    2>&1 | awk '/^epoch/ { for (i = 1; i < NF; i++) if ($(i + 1) == "tokens/s") r = $i } END { print r }'
}
ratios=()
for round in $(seq "${ROUNDS:-20}"); do
  # Alternate which binary goes first, so that a drift in the machine's speed favours neither.
  if ((round % 2)); then a=$(rate "$old"); b=$(rate "$new"); else b=$(rate "$new"); a=$(rate "$old"); fi
  ratios+=("$(awk -v a="$a" -v b="$b" 'BEGIN { print b / a }')")
done
printf '%s\n' "${ratios[@]}" | sort -g | awk '{ v[NR] = $1 } END {
  printf "NEW/OLD training tokens/s: median %.3f (%.3f-%.3f) over %d rounds\n",
    v[int((NR + 1) / 2)], v[1], v[NR], NR }'
