// The kernels for AVX-512 CPUs (x86-64 only): one 512-bit vector per 16-lane operation, and
// the 64-bit vector multiplies of dropout's SplitMix64 (AVX-512DQ) that AVX2 lacks.
#if defined(__x86_64__)
#pragma clang attribute push( \
  __attribute__((target("avx512f,avx512dq,avx512bw,avx512vl,fma"))), apply_to = function)
// packed_product's largest tile: 8 rows × 3 panels of 16 columns, whose 24 sums fill 24 of
// the 32 vector registers, the 3 panels' values and a broadcast value of a 4 more. Each step of
// k loads 3 panel vectors and 8 values of a for 24 fused multiply-adds, where 2 panels gave 16
// for 10 loads; on training's products that ran 1.05–1.16× the speed of 8 × 2 tiles, and 6
// rows × 4 panels 0.77–1.03× that of 8 × 3 (`LEVEL=avx512 scripts/pair-kernel-variants.sh`,
// Eval/SPEED.md "Session 25").
#define PRODUCT_ROWS 8
#define PRODUCT_PANELS 3
// The products' steps and exp's are fused multiply-adds (kernel_bodies.h); every AVX-512 CPU
// has FMA.
#define FUSED_MULTIPLY_ADD 1
// Viterbi's blocks per pass: 8, whose running bests and arguments fill 16 of the 32 registers.
#define VITERBI_BLOCKS 8
#define TRELLIS_KERNEL_TABLE trellis_kernels_avx512
#include "kernel_bodies.h"
#pragma clang attribute pop
#endif
