// Times the packed products of two builds of one level's kernels (tables variant_a and variant_b,
// from scripts/pair-kernel-variants.sh) in one process, one thread: 40 rounds per shape, the
// two builds alternating within each round, so that a drift in a shared machine's speed moves
// both alike. Prints each build's median GFLOP/s and the median of the rounds' ratios b/a;
// then the same for the LSTM cell's forward step and for packing weights into panels, in µs.
#include <stdio.h>
#include <stdlib.h>

#include "harness-timing.h"
#include "trellis_kernels.h"

extern const trellis_kernels variant_a, variant_b;
// Each variant's trellis_pack_panels (panels.c), renamed by the script.
void variant_a_pack_panels(const float *w, long columns, long depth, float *panels);
void variant_b_pack_panels(const float *w, long columns, long depth, float *panels);

enum { ROUNDS = 40 };

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

// The inputs of `step` below: one LSTM step of B rows of H units, or a weight matrix to pack.
enum { B = 32, H = 100 };
static float *zx, *zh, *cPrevious, *gates, *cell, *hidden, *weights, *packed;
static long packedColumns, packedDepth;

static void cellStep(int v) {
  const trellis_kernels *k = v ? &variant_b : &variant_a;
  for (long b = 0; b < B; b++) {
    k->lstm_forward(
      zx + b * 4 * H, zh + b * 4 * H, cPrevious + b * H, gates + b * 4 * H, cell + b * H,
      hidden + b * H, H);
  }
}

static void pack(int v) {
  (v ? variant_b_pack_panels : variant_a_pack_panels)(
    weights, packedColumns, packedDepth, packed);
}

// `step` of variant v (0 for a, 1 for b), `repetitions` times a round: each variant's median
// µs a step and the median of the rounds' ratios b/a.
static void timePair(const char *what, void (*step)(int v), long repetitions) {
  double times[2][ROUNDS], ratios[ROUNDS];
  for (int round = 0; round < ROUNDS; round++) {
    for (int v = 0; v < 2; v++) {
      const double start = now();
      for (long r = 0; r < repetitions; r++) step(v);
      times[v][round] = (now() - start) / repetitions * 1e6;
    }
    ratios[round] = times[1][round] / times[0][round];
  }
  printf(
    "%-32s a %6.2f  b %6.2f µs       b/a %.3f\n", what, median(times[0]), median(times[1]),
    median(ratios));
}

static void timeProducts(void);

int main(void) {
  timeProducts();
  // One recurrent step's cell (B = 32 rows, H = 100 units, c_{t−1} given).
  zx = filled(B * 4 * H, 0), zh = filled(B * 4 * H, 0), cPrevious = filled(B * H, 0);
  gates = filled(B * 4 * H, 0), cell = filled(B * H, 0), hidden = filled(B * H, 0);
  timePair("LSTM cell, 32 rows x 100 units", cellStep, 500);
  // Wx and Wh (4H × In, 4H × H) without and with character features (In = 100, 130), and an
  // output layer (L × 2H), as training packs them once per batch.
  const long shapes[][2] = {{400, 100}, {400, 130}, {121, 200}};
  for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
    packedColumns = shapes[s][0], packedDepth = shapes[s][1];
    weights = filled(packedColumns * packedDepth, 0);
    packed = malloc((size_t)trellis_panels_size(packedColumns, packedDepth) * 4);
    char what[64];
    snprintf(what, sizeof what, "packing %ld x %ld", packedColumns, packedDepth);
    timePair(what, pack, 500);
    free(weights), free(packed);
  }
  return 0;
}

static void timeProducts(void) {
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
}
