// The Viterbi step's scalar part (trellis_kernels.h), the same code at every level.
#include <math.h>

#include "trellis_kernels.h"

// The winner is chosen with selects rather than branches: it follows the scores, and
// mispredicted branches cost more than the arithmetic.
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
    // A sparse column's transitions are finite, so a previous label with δ = −∞ gives a −∞
    // candidate, which never wins: viterbi_step's rows with δ > −∞ only.
    for (int32_t k = sparseStarts[s]; k < sparseStarts[s + 1]; k++) {
      const int32_t i = sparsePrevious[k];
      const float candidate = delta[i] + sparseScores[k];
      const int better = candidate > top;
      top = better ? candidate : top;
      argument = better ? i : argument;
    }
    best[sparseLabels[s]] = top;
    pointers[sparseLabels[s]] = argument;
  }
}
