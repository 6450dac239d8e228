// Times the packed products of two builds of one level's kernels (tables variant_a and variant_b,
// from scripts/pair-kernel-variants.sh) in one process, one thread: 40 rounds per shape, the
// two builds alternating within each round, so that a drift in a shared machine's speed moves
// both alike. Prints each build's median GFLOP/s and the median of the rounds' ratios b/a.
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "trellis_kernels.h"

extern const trellis_kernels variant_a, variant_b;

enum { ROUNDS = 40 };

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

static int ascending(const void *x, const void *y) {
  const double a = *(const double *)x, b = *(const double *)y;
  return a < b ? -1 : a > b;
}

static double median(double *values) {
  qsort(values, ROUNDS, sizeof *values, ascending);
  return values[ROUNDS / 2];
}

static void *filled(long count, int isDouble) {
  void *p = malloc((size_t)count * (isDouble ? 8 : 4));
  for (long k = 0; k < count; k++) {
    const double value = (double)((k * 7) % 13) * 0.05 - 0.3;
    if (isDouble) ((double *)p)[k] = value;
    else ((float *)p)[k] = (float)value;
  }
  return p;
}

int main(void) {
  // rows, depth, columns, kind (0 product, 1 adding product with A read transposed, 2 Double):
  // tagging's and training's recurrent step (B = 32, H = 100, 4H = 400), ∂h ← ∂zh·Wh, the
  // weight gradient ∂Wh += ∂Zᵀ·H over 12 steps, ∂X = ∂Z·Wx, the CRF's step (L = 120), the
  // small batches at the ends of a sorted group, and weight gradients over 20 and 32 steps.
  const long shapes[][4] = {
    {32, 100, 400, 0}, {32, 400, 100, 0}, {400, 384, 100, 1}, {384, 400, 100, 0},
    {32, 120, 120, 2}, {8, 100, 400, 0}, {13, 100, 400, 0}, {400, 640, 100, 1},
    {400, 1024, 100, 1},
  };
  const trellis_kernels *variants[2] = {&variant_a, &variant_b};
  for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
    const long rows = shapes[s][0], depth = shapes[s][1], columns = shapes[s][2];
    const long kind = shapes[s][3];
    float *a = filled(rows * depth, 0), *w = filled(columns * depth, 0);
    float *c = filled(rows * columns, 0);
    double *ad = filled(rows * depth, 1), *wd = filled(columns * depth, 1);
    double *cd = filled(rows * columns, 1);
    float *panels = malloc((size_t)trellis_panels_size(columns, depth) * 4);
    double *panelsd = malloc((size_t)trellis_panels_size_f64(columns, depth) * 8);
    trellis_pack_panels(w, columns, depth, panels);
    trellis_pack_panels_f64(wd, columns, depth, panelsd);
    const long repetitions = (long)(1e8 / (2.0 * rows * depth * columns)) + 1;
    double rates[2][ROUNDS], ratios[ROUNDS];
    for (int round = 0; round < ROUNDS; round++) {
      for (int v = 0; v < 2; v++) {
        const trellis_kernels *k = variants[v];
        const double start = now();
        for (long r = 0; r < repetitions; r++) {
          if (kind == 1) k->packed_product_add(a, 1, rows, rows, depth, panels, columns, c);
          else if (kind == 2) k->packed_product_f64(ad, depth, 1, rows, depth, panelsd, columns, cd);
          else k->packed_product(a, rows, depth, panels, columns, c);
        }
        rates[v][round] = 2.0 * rows * depth * columns * repetitions / (now() - start) / 1e9;
      }
      ratios[round] = rates[1][round] / rates[0][round];
    }
    printf(
      "%4ld x %3ld by %3ld %-14s a %6.1f  b %6.1f GFLOP/s  b/a %.3f\n", rows, depth, columns,
      kind == 1 ? "(A^T, adding)" : kind == 2 ? "(Double)" : "", median(rates[0]),
      median(rates[1]), median(ratios));
    free(a), free(w), free(c), free(ad), free(wd), free(cd), free(panels), free(panelsd);
  }
  return 0;
}
