// The kernels for AVX2 CPUs (x86-64 only): 256-bit vectors, two per 16-lane operation.
#if defined(__x86_64__)
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
// packed_product's largest tile: 6 rows × 1 panel of 16 columns, whose 6 sums fill 12 of the
// 16 vector registers (two each), the panel's 16 values and a broadcast value of a the other
// 3. Two FMA pipes of 4 cycles' latency need 8 sums in flight, which 4 rows gave with nothing
// to spare; with 6 rows training's products ran at 1.00–1.10× the speed of the 4-row tiles
// before (`REVISION_A=c053684^ scripts/pair-kernel-variants.sh '' ''`, Eval/SPEED.md "Session
// 21").
#define PRODUCT_ROWS 6
#define PRODUCT_PANELS 1
// The products' steps and exp's are fused multiply-adds (kernel_bodies.h): dispatch.c chooses
// this level only on CPUs with FMA as well as AVX2.
#define FUSED_MULTIPLY_ADD 1
// Viterbi's blocks per pass: 4, whose running bests and arguments fill the 16 registers (two
// each).
#define VITERBI_BLOCKS 4
#define TRELLIS_KERNEL_TABLE trellis_kernels_avx2
#include "kernel_bodies.h"
#pragma clang attribute pop
#endif
