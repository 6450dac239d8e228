// The kernels for AVX-512 CPUs (x86-64 only): one 512-bit vector per 16-lane operation, and
// the 64-bit vector multiplies of dropout's SplitMix64 (AVX-512DQ) that AVX2 lacks.
#if defined(__x86_64__)
#pragma clang attribute push( \
  __attribute__((target("avx512f,avx512dq,avx512bw,avx512vl,fma"))), apply_to = function)
// packed_product's largest tile: 8 rows × 2 panels of 16 columns, whose 16 sums fill 16 of
// the 32 vector registers.
#define PRODUCT_ROWS 8
#define PRODUCT_PANELS 2
// The products' steps are fused multiply-adds (kernel_bodies.h); every AVX-512 CPU has FMA.
#define PRODUCT_FUSED 1
// Viterbi's blocks per pass: 8, whose running bests and arguments fill 16 of the 32 registers.
#define VITERBI_BLOCKS 8
#define TRELLIS_KERNEL_TABLE trellis_kernels_avx512
#include "kernel_bodies.h"
#pragma clang attribute pop
#endif
