// The kernels for any CPU of the architecture: SSE2 on x86-64 (the compiler's baseline).
// packed_product's largest tile: 2 rows × 1 panel of 16 columns, whose 2 sums fill 8 of the 16
// vector registers (four each).
#define PRODUCT_ROWS 2
#define PRODUCT_PANELS 1
// The products' steps and exp's are fused multiply-adds (kernel_bodies.h) where the compiler's
// baseline has FMA (64-bit ARM; an x86-64 build for a CPU with FMA); SSE2 has none, and a
// software fma would cost more than the whole step.
#if defined(__FMA__) || defined(__ARM_FEATURE_FMA)
#define FUSED_MULTIPLY_ADD 1
#else
#define FUSED_MULTIPLY_ADD 0
#endif
// Viterbi's blocks per pass: 2, whose running bests and arguments fill the 16 registers (four
// each).
#define VITERBI_BLOCKS 2
#define TRELLIS_KERNEL_TABLE trellis_kernels_portable
#include "kernel_bodies.h"
