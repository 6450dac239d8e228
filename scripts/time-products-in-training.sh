#!/usr/bin/env bash
# How fast the packed products run inside a training, by shape (Eval/SPEED.md, session 47), to
# hold against the same shapes in a loop (scripts/pair-kernel-variants.sh '' '',
# scripts/product-memory-cost.sh): builds a copy of the working tree's tracked files whose
# packed_product and packed_product_add kernels add each call's clock_gettime interval and
# FLOPs by kind and shape, trains it (ATIS without character features, 3 epochs unless
# TRELLIS_FLAGS says otherwise) and prints each shape's calls, seconds and GFLOP/s a core.
# With AGAIN=1 each call is run a second time at once on the same operands, into a scratch
# copy of its result, and timed apart ("again"): the gap between the two rates is what fetching
# the operands costs the call in place (Eval/SPEED.md, session 48). The training's own results
# are the first calls'. The build takes a minute or two; nothing in the checkout changes.
#   [AGAIN=1] [TRELLIS_FLAGS=...] scripts/time-products-in-training.sh [TRAIN.conll]
set -euo pipefail
train=$(realpath "${1:-$(make --no-print-directory -s atis-path)/train.conll}")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
git ls-files -z | tar --null -T - -cf - | tar -xf - -C "$work"
python3 - "$work/Sources/TrellisKernels/kernel_bodies.h" "${AGAIN:-0}" <<'PY'
import sys
path, again = sys.argv[1], sys.argv[2] == "1"
text = open(path).read()
timing = r'''
#include <stdio.h>
#include <string.h>
#include <time.h>
// kind 0: c = a·W; 1: c += a·W; 2: c += aᵀ·W; 3–5 the same calls again (AGAIN=1). A shape's
// depth is kept when it is a layer's width (100, 120, 200, 400) and counted as N (a batch's
// rows) otherwise.
enum { TIMED_SHAPES = 64 };
static long timedSeconds[TIMED_SHAPES], timedFlops[TIMED_SHAPES], timedCalls[TIMED_SHAPES];
static long timedShape[TIMED_SHAPES][4];
static long timedNanoseconds(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1000000000L + t.tv_nsec;
}
static void timedAdd(int kind, long rows, long depth, long columns, long nanoseconds) {
  const long d = depth == 100 || depth == 120 || depth == 200 || depth == 400 ? depth : -1;
  const long tall = rows >= 64;
  int s = 0;
  for (; s < TIMED_SHAPES - 1; s++) {
    if (__atomic_load_n(&timedCalls[s], __ATOMIC_ACQUIRE) == 0) break;
    if (timedShape[s][0] == kind && timedShape[s][1] == d && timedShape[s][2] == columns
        && timedShape[s][3] == tall) break;
  }
  if (timedCalls[s] == 0) {
    timedShape[s][0] = kind, timedShape[s][1] = d, timedShape[s][2] = columns;
    timedShape[s][3] = tall;
  }
  __atomic_fetch_add(&timedSeconds[s], nanoseconds, __ATOMIC_RELAXED);
  __atomic_fetch_add(&timedFlops[s], 2 * rows * depth * columns, __ATOMIC_RELAXED);
  __atomic_fetch_add(&timedCalls[s], 1, __ATOMIC_RELEASE);
}
// The repeated call's result: a buffer of the thread's own, grown as needed; NULL without
// AGAIN=1.
static float *timedScratch(long count) {
  static __thread float *buffer;
  static __thread long capacity;
  if (!TIMED_AGAIN) return NULL;
  if (count > capacity) {
    free(buffer);
    buffer = malloc((size_t)count * sizeof(float));
    capacity = count;
  }
  return buffer;
}
__attribute__((destructor)) static void timedPrint(void) {
  static const char *kinds[] = {
    "c = a·W", "c += a·W", "c += aT·W", "c = a·W again", "c += a·W again", "c += aT·W again"};
  for (int s = 0; s < TIMED_SHAPES; s++) {
    if (timedCalls[s] == 0 || timedShape[s][0] < 0) continue;
    char depth[16];
    if (timedShape[s][1] < 0) snprintf(depth, sizeof depth, "N");
    else snprintf(depth, sizeof depth, "%ld", timedShape[s][1]);
    fprintf(stderr, "%-16s depth %4s by %3ld, %s rows: %8ld calls %7.3f s %6.1f GFLOP/s\n",
      kinds[timedShape[s][0]], depth, timedShape[s][2], timedShape[s][3] ? ">= 64" : "< 64",
      timedCalls[s], timedSeconds[s] * 1e-9, (double)timedFlops[s] / timedSeconds[s]);
    timedShape[s][0] = -1;  // printed once, though every level's file holds this function
  }
}
'''
old_set = '''  product_panels(a, depth, 1, rows, 0, depth, panels, columns, c, PRODUCT_SET);
}'''
new_set = '''  long start = timedNanoseconds();
  product_panels(a, depth, 1, rows, 0, depth, panels, columns, c, PRODUCT_SET);
  timedAdd(0, rows, depth, columns, timedNanoseconds() - start);
  float *again = timedScratch(rows * columns);
  if (!again) return;
  start = timedNanoseconds();
  product_panels(a, depth, 1, rows, 0, depth, panels, columns, again, PRODUCT_SET);
  timedAdd(3, rows, depth, columns, timedNanoseconds() - start);
}'''
old_add = '''  product_panels(a, rowStride, depthStride, rows, 0, depth, panels, columns, c, PRODUCT_ADD);
}'''
new_add = '''  const int kind = depthStride == 1 ? 1 : 2;
  long start = timedNanoseconds();
  product_panels(a, rowStride, depthStride, rows, 0, depth, panels, columns, c, PRODUCT_ADD);
  timedAdd(kind, rows, depth, columns, timedNanoseconds() - start);
  float *again = timedScratch(rows * columns);
  if (!again) return;
  // The adding call reads its result too: the copy starts as c was, now cached as well.
  memcpy(again, c, (size_t)(rows * columns) * sizeof(float));
  start = timedNanoseconds();
  product_panels(
    a, rowStride, depthStride, rows, 0, depth, panels, columns, again, PRODUCT_ADD);
  timedAdd(kind + 3, rows, depth, columns, timedNanoseconds() - start);
}'''
anchor = 'static void packed_product_kernel('
timing = "#define TIMED_AGAIN %d\n" % again + timing
for old, new in [(old_set, new_set), (old_add, new_add), (anchor, timing + anchor)]:
    if text.count(old) != 1:
        sys.exit("kernel_bodies.h no longer reads as this script expects: " + old.strip()[:60])
    text = text.replace(old, new)
open(path, "w").write(text)
PY
# TMPDIR inside the work folder: SwiftPM leaves its lock files for a package there.
TMPDIR="$work" swift build -c release --product trellis --package-path "$work" \
  --scratch-path "$work/.build" > "$work/build.log" 2>&1 || { tail -30 "$work/build.log" >&2; exit 1; }
# shellcheck disable=SC2086 # TRELLIS_FLAGS is a list of options
"$work/.build/release/trellis" train --train "$train" --model "$work/model" --seed 1 --quiet \
  ${TRELLIS_FLAGS---epochs 3 --character-filters 0} 2>&1 | grep GFLOP | sort -k2
