// What the C timing harnesses in scripts/ (pair-kernel-variants.c, product-memory-cost.c)
// share: a monotonic clock in seconds and an ascending order for qsort, for medians.
#include <time.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

static int ascending(const void *x, const void *y) {
  const double a = *(const double *)x, b = *(const double *)y;
  return a < b ? -1 : a > b;
}
