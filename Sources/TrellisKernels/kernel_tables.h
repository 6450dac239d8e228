// The three tables kernels_<level>.c define, which dispatch.c chooses from.
#ifndef TRELLIS_KERNEL_TABLES_H
#define TRELLIS_KERNEL_TABLES_H

#include "trellis_kernels.h"

__attribute__((visibility("hidden"))) extern const trellis_kernels trellis_kernels_portable;
#if defined(__x86_64__)
__attribute__((visibility("hidden"))) extern const trellis_kernels trellis_kernels_avx2;
__attribute__((visibility("hidden"))) extern const trellis_kernels trellis_kernels_avx512;
#endif

#endif
