// Chooses the kernels' level from the CPU's features.
#include "kernel_tables.h"

trellis_kernel_level trellis_kernels_supported_level(void) {
#if defined(__x86_64__)
  // __builtin_cpu_supports reports AVX and AVX-512 only where the operating system also saves
  // their registers (xgetbv), so a supported level never faults.
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq")
      && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl")) {
    return TRELLIS_KERNELS_AVX512;
  }
  // The AVX2 level's products are fused multiply-adds (kernels_avx2.c).
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
    return TRELLIS_KERNELS_AVX2;
  }
#endif
  return TRELLIS_KERNELS_PORTABLE;
}

const trellis_kernels *trellis_kernels_for_level(trellis_kernel_level level) {
  switch (level) {
#if defined(__x86_64__)
    case TRELLIS_KERNELS_AVX512: return &trellis_kernels_avx512;
    case TRELLIS_KERNELS_AVX2: return &trellis_kernels_avx2;
#endif
    default: return &trellis_kernels_portable;
  }
}

void trellis_spin_pause(void) {
#if defined(__x86_64__)
  __builtin_ia32_pause();
#endif
}
