// What a packed product loses when its operands are not in the caches (Eval/SPEED.md, session
// 47), built by scripts/product-memory-cost.sh against Sources/TrellisKernels at the CPU's best
// level. First the vector units' peak: 14 independent chains of 8-lane fused multiply-adds,
// on every core at once (one process per core, the script starts them), GFLOP/s a core. Then
// training's product shapes, each call timed alone after the thread has read S bytes of other
// memory (S = 0, 2, 6, 10, 14, 20, 48 MB), so that its operands were pushed out of the caches
// that S exceeds: the median GFLOP/s of 60 calls at each S.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness-timing.h"
#include "trellis_kernels.h"

#if defined(__x86_64__)
// 14 chains: two FMA pipes of up to 5 cycles' latency need 10 in flight.
__attribute__((target("avx2,fma"))) static double fmaPeak(void) {
  typedef float f32x8 __attribute__((vector_size(32)));
  f32x8 sums[14];
  const f32x8 scale = {0}, step = {0};
  for (int i = 0; i < 14; i++) sums[i] = (f32x8){0} + (float)i;
  const long steps = 100000000;
  const double start = now();
  for (long k = 0; k < steps; k++) {
#pragma clang loop unroll(full)
    for (int i = 0; i < 14; i++) sums[i] = sums[i] * (scale + 0.999999f) + (step + 1e-7f);
  }
  const double seconds = now() - start;
  float total = 0;
  for (int i = 0; i < 14; i++) total += sums[i][0];
  if (total == 12345) puts("");  // keeps the sums live
  return 14.0 * 16 * steps / seconds / 1e9;
}
#endif

static float *filled(long count) {
  float *p = malloc((size_t)count * sizeof *p);
  for (long k = 0; k < count; k++) p[k] = (float)((k * 7) % 13) * 0.05f - 0.3f;
  return p;
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "peak") == 0) {
#if defined(__x86_64__)
    if (trellis_kernels_supported_level() >= TRELLIS_KERNELS_AVX2) {
      printf("%.1f\n", fmaPeak());
      return 0;
    }
#endif
    puts("no AVX2");
    return 0;
  }
  const trellis_kernels *k = trellis_kernels_for_level(trellis_kernels_supported_level());
  enum { SIZES = 7, CALLS = 60 };
  const long megabytes[SIZES] = {0, 2, 6, 10, 14, 20, 48};
  const long junkBytes = 48L << 20;
  volatile char *junk = malloc(junkBytes);
  memset((char *)junk, 1, junkBytes);
  // rows, depth, columns, a read transposed (∂W's): the recurrent step (B = 32, H = 100,
  // 4H = 400), an ATIS batch's input projection, ∂X = ∂Z·Wx and the weight gradient.
  const long shapes[][4] = {
    {32, 100, 400, 0}, {384, 100, 400, 0}, {384, 400, 100, 0}, {400, 384, 100, 1}};
  printf("%-26s", "product");
  for (int s = 0; s < SIZES; s++) printf(" %4ld MB", megabytes[s]);
  printf("   (GFLOP/s after reading S MB)\n");
  for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
    const long rows = shapes[i][0], depth = shapes[i][1], columns = shapes[i][2];
    const int transposed = shapes[i][3];
    float *a = filled(rows * depth), *w = filled(columns * depth), *c = filled(rows * columns);
    float *panels = malloc((size_t)trellis_panels_size(columns, depth) * sizeof *panels);
    trellis_pack_panels(w, columns, depth, panels);
    // Untimed calls first: the core's clock and the caches settle before the first figure.
    for (int call = 0; call < 200; call++) k->packed_product(a, rows, depth, panels, columns, c);
    printf("%4ld x %3ld by %3ld%-9s", rows, depth, columns, transposed ? " (A^T)" : "");
    for (int s = 0; s < SIZES; s++) {
      double rates[CALLS];
      for (int call = 0; call < CALLS; call++) {
        for (long b = 0; b < megabytes[s] << 20; b += 64) junk[b]++;
        const double start = now();
        if (transposed) k->packed_product_add(a, 1, rows, rows, depth, panels, columns, c);
        else k->packed_product(a, rows, depth, panels, columns, c);
        rates[call] = 2.0 * rows * depth * columns / (now() - start) / 1e9;
      }
      qsort(rates, CALLS, sizeof *rates, ascending);
      printf(" %7.1f", rates[CALLS / 2]);
    }
    printf("\n");
    free(a), free(w), free(c), free(panels);
  }
  return 0;
}
