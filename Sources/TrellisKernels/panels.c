// The panel layout of packed_product's second operand (trellis_kernels.h), the same at every
// level: packing is a copy, done once per version of the weights for tagging and once per
// batch for training.
#include <string.h>

#include "trellis_kernels.h"

// Panel p at k holds w's column k of rows lanes·p ..< lanes·(p + 1), zeros past the last row,
// for k in [from, depth) of the panel's rows, which start at `block` (w's row lanes·p). Each
// row is read in order and spread over its panel (depth·lanes elements, in L1): in a training
// profile its share fell from 2.2% to 0.8% against gathering lanes at each k.
#define DEFINE_PACK_COLUMNS(scalar, lanes, suffix)                                            \
  static void pack_columns##suffix(                                                           \
    const scalar *block, long rows, long from, long depth, scalar *panel) {                   \
    for (long l = 0; l < rows; l++) {                                                         \
      for (long k = from; k < depth; k++) panel[k * lanes + l] = block[l * depth + k];        \
    }                                                                                         \
    for (long l = rows; l < lanes; l++) {                                                     \
      for (long k = from; k < depth; k++) panel[k * lanes + l] = 0;                           \
    }                                                                                         \
  }

// The panels' size and the packer from Wᵀ, for both element types: panels of `lanes` columns
// (16 floats, 8 doubles), one vector of the product's kernel each.
#define DEFINE_PACKERS(scalar, lanes, suffix)                                                 \
  long trellis_panels_size##suffix(long columns, long depth) {                                \
    return (columns + lanes - 1) / lanes * lanes * depth;                                     \
  }                                                                                           \
                                                                                              \
  /* Panel p at k holds w's row k, columns lanes·p ..< lanes·(p + 1): one copy of a vector's */ \
  /* worth, zeros past the last column in the last panel. The full panels' copies have a    */ \
  /* constant size, so they are a few vector moves rather than a call to memcpy each (a      */ \
  /* training step packs X and H this way, T·B rows each).                                  */ \
  void trellis_pack_panels_transposed##suffix(                                                \
    const scalar *w, long depth, long columns, scalar *panels) {                              \
    const long fullPanels = columns / lanes;                                                  \
    for (long p = 0; p < fullPanels; p++) {                                                   \
      for (long k = 0; k < depth; k++) {                                                      \
        memcpy(panels + (p * depth + k) * lanes, w + k * columns + lanes * p,                 \
               lanes * sizeof(scalar));                                                       \
      }                                                                                       \
    }                                                                                         \
    const long width = columns - lanes * fullPanels;                                          \
    if (width == 0) return;                                                                   \
    for (long k = 0; k < depth; k++) {                                                        \
      scalar *destination = panels + (fullPanels * depth + k) * lanes;                        \
      const scalar *source = w + k * columns + lanes * fullPanels;                            \
      for (long l = 0; l < lanes; l++) destination[l] = l < width ? source[l] : 0;            \
    }                                                                                         \
  }

DEFINE_PACKERS(float, 16, )
DEFINE_PACKERS(double, 8, _f64)
DEFINE_PACK_COLUMNS(float, 16, )
DEFINE_PACK_COLUMNS(double, 8, _f64)

// Double panels pack the CRF's L·L transitions once per batch: column by column.
void trellis_pack_panels_f64(const double *w, long columns, long depth, double *panels) {
  for (long p = 0; p * 8 < columns; p++) {
    const long rows = columns - 8 * p < 8 ? columns - 8 * p : 8;
    pack_columns_f64(w + 8 * p * depth, rows, 0, depth, panels + p * depth * 8);
  }
}

typedef float f32x8 __attribute__((vector_size(32)));

// Rows i and i + m of an 8 × 8 block exchange their off-diagonal m × m blocks (the lanes
// whose bit m is set in row i with those whose bit m is clear in row i + m): `low` keeps row
// i's lanes with bit m clear and takes row i + m's, `high` the rest.
#define EXCHANGE(m, low, high)                                                           \
  for (int i = 0; i < 8; i++) {                                                          \
    if (i & m) continue;                                                                 \
    const f32x8 a = v[i], b = v[i + m];                                                  \
    v[i] = __builtin_shufflevector(a, b, low);                                           \
    v[i + m] = __builtin_shufflevector(a, b, high);                                      \
  }
#define LOW_4 0, 1, 2, 3, 8, 9, 10, 11
#define HIGH_4 4, 5, 6, 7, 12, 13, 14, 15
#define LOW_2 0, 1, 8, 9, 4, 5, 12, 13
#define HIGH_2 2, 3, 10, 11, 6, 7, 14, 15
#define LOW_1 0, 8, 2, 10, 4, 12, 6, 14
#define HIGH_1 1, 9, 3, 11, 5, 13, 7, 15

// Float panels pack the recurrent layers' Wx and Wh (4H × In, 4H × H) once per batch in
// training. A full panel's rows go in 8 × 8 blocks: 8 rows' runs of 8 columns loaded,
// transposed in registers by three exchanges (blocks of 4, 2, 1) and stored as 8 steps of k's
// half panels, in place of 64 scattered stores. The generic vectors are split into the
// compiler's baseline (two SSE2 registers each), as a plain build compiles this file: a 400 ×
// 100 W packed in 0.49 of the time of the scattered stores (`REVISION_A=d48edbc
// scripts/pair-kernel-variants.sh '' ''` on an Intel Sapphire Rapids; Eval/SPEED.md, "Session 24").
void trellis_pack_panels(const float *w, long columns, long depth, float *panels) {
  for (long p = 0; p * 16 < columns; p++) {
    const float *block = w + 16 * p * depth;
    float *panel = panels + p * depth * 16;
    const long rows = columns - 16 * p < 16 ? columns - 16 * p : 16;
    long from = 0;
    if (rows == 16) {
      for (; from + 8 <= depth; from += 8) {
        for (int half = 0; half < 2; half++) {
          f32x8 v[8];
          for (int l = 0; l < 8; l++) memcpy(&v[l], block + (8 * half + l) * depth + from, 32);
          EXCHANGE(4, LOW_4, HIGH_4)
          EXCHANGE(2, LOW_2, HIGH_2)
          EXCHANGE(1, LOW_1, HIGH_1)
          for (int k = 0; k < 8; k++) memcpy(panel + (from + k) * 16 + 8 * half, &v[k], 32);
        }
      }
    }
    pack_columns(block, rows, from, depth, panel);
  }
}
