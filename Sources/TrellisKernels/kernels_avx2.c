// The kernels for AVX2 CPUs (x86-64 only): 256-bit vectors, two per 16-lane operation.
#if defined(__x86_64__)
#pragma clang attribute push(__attribute__((target("avx2"))), apply_to = function)
#define TRELLIS_KERNEL_TABLE trellis_kernels_avx2
#include "kernel_bodies.h"
#pragma clang attribute pop
#endif
