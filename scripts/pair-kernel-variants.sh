#!/usr/bin/env bash
# Two variants of one level's kernels against each other, in one process (README "Speed",
# session 12): each variant is the kernel sources of the working tree, or of git revision
# REVISION_A / REVISION_B when set, with its sed script (SED_A, SED_B; empty keeps them) applied
# to the level's file (kernels_LEVEL.c), kernel_bodies.h, product_body.h and panels.c; the
# packed products, the LSTM cell's forward step and the weights' packing of both builds are
# timed alternately by scripts/pair-kernel-variants.c. LEVEL is avx2
# (default) or avx512 and needs a CPU that has it; the toolchain's clang builds both. A
# revision's sources are compiled against the working tree's trellis_kernels.h, so it must have
# the same table of kernels (60f2109^ does; c053684^, whose table still had products_fused,
# does not).
# Examples:
#   scripts/pair-kernel-variants.sh '' 's/#define PRODUCT_ROWS 6/#define PRODUCT_ROWS 4/'
#   scripts/pair-kernel-variants.sh '' \
#     's/#define PRODUCT_DEPTH_BLOCK .*/#define PRODUCT_DEPTH_BLOCK 32/'
#   REVISION_A=60f2109^ LEVEL=avx512 scripts/pair-kernel-variants.sh '' ''
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: scripts/pair-kernel-variants.sh SED_A SED_B" >&2; exit 2; }
level=${LEVEL:-avx2}
case $level in
  avx2 | avx512) ;;
  *) echo "LEVEL must be avx2 or avx512, not $level" >&2; exit 2 ;;
esac
sources=Sources/TrellisKernels
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
flags=(-O3 -I"$sources/include")
# The rest of the kernels (dispatch, the other levels) from the working tree, once.
for f in kernels_portable kernels_avx2 kernels_avx512 dispatch panels viterbi_sparse; do
  clang "${flags[@]}" -I"$sources" -c "$sources/$f.c" -o "$work/$f.o"
done
for variant in a b; do
  script=$([ "$variant" = a ] && echo "$1" || echo "$2")
  revision=$([ "$variant" = a ] && echo "${REVISION_A:-}" || echo "${REVISION_B:-}")
  tree="$work/$variant"
  mkdir "$tree"
  for f in "kernels_$level.c" kernel_bodies.h product_body.h panels.c; do
    if [ -n "$revision" ]; then
      git show "$revision:$sources/$f" > "$tree/$f.in"
    else
      cp "$sources/$f" "$tree/$f.in"
    fi
    sed -e "$script" "$tree/$f.in" > "$tree/$f"
  done
  sed -i "s/\(#define TRELLIS_KERNEL_TABLE \)trellis_kernels_$level/\1variant_$variant/" \
    "$tree/kernels_$level.c"
  grep -q "variant_$variant" "$tree/kernels_$level.c" \
    || { echo "kernels_$level.c no longer names its table as this script expects" >&2; exit 1; }
  clang "${flags[@]}" -I"$tree" -I"$sources" -c "$tree/kernels_$level.c" \
    -o "$work/variant_$variant.o"
  # The variant's packers under names of its own (variant_a_pack_panels, ...), beside the
  # working tree's, which the products' panels come from.
  for name in panels_size pack_panels pack_panels_transposed; do
    for suffix in '' _f64; do
      echo "#define trellis_$name$suffix variant_${variant}_$name$suffix"
    done
  done > "$tree/names.h"
  clang "${flags[@]}" -include "$tree/names.h" -I"$sources" -c "$tree/panels.c" \
    -o "$work/variant_${variant}_panels.o"
done
clang "${flags[@]}" scripts/pair-kernel-variants.c "$work"/*.o -lm -o "$work/pair"
"$work/pair"
