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
  void trellis_pack_panels##suffix(const scalar *w, long columns, long depth, scalar *panels) { \
    const long panelCount = (columns + lanes - 1) / lanes;                                    \
    for (long p = 0; p < panelCount; p++) {                                                   \
      for (long k = 0; k < depth; k++) {                                                      \
        for (long l = 0; l < lanes; l++) {                                                    \
          const long j = lanes * p + l;                                                       \
          panels[(p * depth + k) * lanes + l] = j < columns ? w[j * depth + k] : 0;           \
        }                                                                                     \
      }                                                                                       \
    }                                                                                         \
  }                                                                                           \
                                                                                              \
  /* Panel p at k holds w's row k, columns lanes·p ..< lanes·(p + 1): one copy of a vector's */ \
  /* worth, zeros past the last column in the last panel. */                                  \
  void trellis_pack_panels_transposed##suffix(                                                \
    const scalar *w, long depth, long columns, scalar *panels) {                              \
    const long panelCount = (columns + lanes - 1) / lanes;                                    \
    for (long p = 0; p < panelCount; p++) {                                                   \
      const long width = columns - lanes * p < lanes ? columns - lanes * p : lanes;           \
      for (long k = 0; k < depth; k++) {                                                      \
        scalar *destination = panels + (p * depth + k) * lanes;                               \
        memcpy(destination, w + k * columns + lanes * p, (size_t)width * sizeof(scalar));     \
        if (width < lanes) {                                                                  \
          memset(destination + width, 0, (size_t)(lanes - width) * sizeof(scalar));          \
        }                                                                                     \
      }                                                                                       \
    }                                                                                         \
  }

DEFINE_PACKERS(float, 16, )
DEFINE_PACKERS(double, 8, _f64)
