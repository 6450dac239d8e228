// The kernels for any CPU of the architecture: SSE2 on x86-64 (the compiler's baseline).
#define TRELLIS_KERNEL_TABLE trellis_kernels_portable
#include "kernel_bodies.h"
