#!/usr/bin/env bash
# Two variants of the AVX2 kernels' sources against each other, in one process (README
# "Speed", session 12): SED_A and SED_B are sed scripts applied to copies of kernels_avx2.c
# and kernel_bodies.h (an empty one keeps the sources as they are); the packed products of
# both builds are timed alternately by scripts/pair-kernel-variants.c. Needs an AVX2 CPU and
# the toolchain's clang. Examples:
#   scripts/pair-kernel-variants.sh '' 's/#define PRODUCT_ROWS 6/#define PRODUCT_ROWS 4/'
#   scripts/pair-kernel-variants.sh '' 's/#define PRODUCT_DEPTH_BLOCK 128/#define PRODUCT_DEPTH_BLOCK 64/'
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: scripts/pair-kernel-variants.sh SED_A SED_B" >&2; exit 2; }
sources=Sources/TrellisKernels
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$sources"/*.c "$sources"/*.h "$work/"
flags=(-O3 -I"$sources/include" -I"$work")
for f in kernels_portable kernels_avx2 kernels_avx512 dispatch panels viterbi_sparse; do
  clang "${flags[@]}" -c "$work/$f.c" -o "$work/$f.o"
done
for variant in a b; do
  script=$([ "$variant" = a ] && echo "$1" || echo "$2")
  sed -e "$script" "$sources/kernel_bodies.h" > "$work/bodies_$variant.h"
  sed -e "$script" \
    -e "s/#include \"kernel_bodies.h\"/#include \"bodies_$variant.h\"/" \
    -e "s/#define TRELLIS_KERNEL_TABLE trellis_kernels_avx2/#define TRELLIS_KERNEL_TABLE variant_$variant/" \
    "$sources/kernels_avx2.c" > "$work/variant_$variant.c"
  grep -q "variant_$variant" "$work/variant_$variant.c" \
    || { echo "kernels_avx2.c no longer names its table as this script expects" >&2; exit 1; }
  clang "${flags[@]}" -c "$work/variant_$variant.c" -o "$work/variant_$variant.o"
done
clang "${flags[@]}" scripts/pair-kernel-variants.c "$work"/*.o -lm -o "$work/pair"
"$work/pair"
