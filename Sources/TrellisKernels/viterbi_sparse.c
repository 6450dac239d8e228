// The Viterbi step's scalar parts (trellis_kernels.h), the same code at every level.
#include <math.h>

#include "trellis_kernels.h"

void trellis_viterbi_sparse_step(
  const float *delta, long denseCount, const int32_t *denseLabels, const float *denseBest,
  const int32_t *densePointers, long sparseCount, const int32_t *sparseLabels,
  const int32_t *sparseStarts, const int32_t *sparsePrevious, const float *sparseScores,
  float *best, int32_t *pointers) {
  for (long c = 0; c < denseCount; c++) {
    best[denseLabels[c]] = denseBest[c];
    pointers[denseLabels[c]] = densePointers[c];
  }
  for (long s = 0; s < sparseCount; s++) {
    float top = -INFINITY;
    int32_t argument = 0;
    for (int32_t k = sparseStarts[s]; k < sparseStarts[s + 1]; k++) {
      const int32_t i = sparsePrevious[k];
      if (!(delta[i] > -INFINITY)) continue;
      const float candidate = delta[i] + sparseScores[k];
      if (candidate > top) {
        top = candidate;
        argument = i;
      }
    }
    best[sparseLabels[s]] = top;
    pointers[sparseLabels[s]] = argument;
  }
}

long trellis_viterbi_live_rows(
  const float *delta, long labels, const float *rowMax, const float *rowMin, int32_t *rows) {
  long top = 0;
  for (long i = 1; i < labels; i++)
    if (delta[i] > delta[top]) top = i;
  const float floor = delta[top] + rowMin[top];
  long count = 0;
  for (long i = 0; i < labels; i++)
    if (delta[i] > -INFINITY && !(delta[i] + rowMax[i] < floor)) rows[count++] = (int32_t)i;
  return count;
}
