// The panel layout of packed_product's second operand (trellis_kernels.h), the same at every
// level: packing is a copy, done once per version of the weights.
#include "trellis_kernels.h"

long trellis_panels_size(long columns, long depth) { return (columns + 15) / 16 * 16 * depth; }

void trellis_pack_panels(const float *w, long columns, long depth, float *panels) {
  const long panelCount = (columns + 15) / 16;
  for (long p = 0; p < panelCount; p++) {
    for (long k = 0; k < depth; k++) {
      for (long l = 0; l < 16; l++) {
        const long j = 16 * p + l;
        panels[(p * depth + k) * 16 + l] = j < columns ? w[j * depth + k] : 0;
      }
    }
  }
}

void trellis_pack_panels_transposed(const float *w, long depth, long columns, float *panels) {
  const long panelCount = (columns + 15) / 16;
  for (long p = 0; p < panelCount; p++) {
    for (long k = 0; k < depth; k++) {
      for (long l = 0; l < 16; l++) {
        const long j = 16 * p + l;
        panels[(p * depth + k) * 16 + l] = j < columns ? w[k * columns + j] : 0;
      }
    }
  }
}
