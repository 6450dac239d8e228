// The panel layout of packed_product's second operand (trellis_kernels.h), the same at every
// level: packing is a copy, done once per version of the weights for tagging and once per
// batch for training.
#include <string.h>

#include "trellis_kernels.h"

// The packers of both element types: panels of `lanes` columns (16 floats, 8 doubles), one
// vector of the product's kernel each.
#define DEFINE_PACKERS(scalar, lanes, suffix)                                                 \
  long trellis_panels_size##suffix(long columns, long depth) {                                \
    return (columns + lanes - 1) / lanes * lanes * depth;                                     \
  }                                                                                           \
                                                                                              \
  /* Panel p at k holds w's column k of rows lanes·p ..< lanes·(p + 1), zeros past the last */ \
  /* row. Each row is read in order and spread over its panel (depth·lanes elements, in L1): */ \
  /* in a training profile its share fell from 2.2% to 0.8% against gathering lanes at each k. */ \
  void trellis_pack_panels##suffix(const scalar *w, long columns, long depth, scalar *panels) { \
    const long panelCount = (columns + lanes - 1) / lanes;                                    \
    for (long p = 0; p < panelCount; p++) {                                                   \
      scalar *panel = panels + p * depth * lanes;                                             \
      const long rows = columns - lanes * p < lanes ? columns - lanes * p : lanes;            \
      for (long l = 0; l < rows; l++) {                                                       \
        const scalar *row = w + (lanes * p + l) * depth;                                      \
        for (long k = 0; k < depth; k++) panel[k * lanes + l] = row[k];                       \
      }                                                                                       \
      for (long l = rows; l < lanes; l++) {                                                   \
        for (long k = 0; k < depth; k++) panel[k * lanes + l] = 0;                            \
      }                                                                                       \
    }                                                                                         \
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
