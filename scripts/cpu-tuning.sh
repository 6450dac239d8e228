#!/usr/bin/env bash
# Prints the tuning `make` uses for release runs on this CPU:
#   cpu-tuning.sh blas   -> an OPENBLAS_CORETYPE, or nothing
# (The Swift build needs none: Sources/TrellisKernels picks its instruction set at run time.)
#
# Why: Debian's OpenBLAS 0.3.21 does not recognise recent Xeons and falls back to its generic
# Prescott (SSE3) kernels, about 5x slower than its AVX-512 ones on the same CPU. When the
# environment already sets OPENBLAS_CORETYPE (some machines need it because old OpenBLAS builds
# misbehave on them), that setting wins. Tests and CI never use this: they keep the environment.
set -euo pipefail
flags=$(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null || true)
has() { for f in "$@"; do [[ " $flags " == *" $f "* ]] || return 1; done; }
case "${1:-}" in
  blas)
    if [ -n "${OPENBLAS_CORETYPE:-}" ]; then echo "$OPENBLAS_CORETYPE"
    elif has avx512f avx512dq avx512bw avx512vl; then echo SkylakeX
    elif has avx2 fma; then echo Haswell
    fi ;;
  *) echo "usage: $0 blas" >&2; exit 2 ;;
esac
