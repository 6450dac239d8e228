// glibc's malloc thresholds for a process whose steps free and allocate the same large arrays
// again and again (Scratch.swift says who calls this and why).
#include "trellis_kernels.h"
#include <stdlib.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

void trellis_reuse_large_freed_blocks(void) {
#if defined(__GLIBC__)
  // The ceiling of glibc's own adaptation on 64-bit: it raises the mapping threshold to the
  // size of each mapped block freed, up to DEFAULT_MMAP_THRESHOLD_MAX (4 Mi · sizeof(long)),
  // and the trimming threshold to twice that. Setting either turns that adaptation off, so
  // both are set.
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 64 << 20);
#endif
}

void trellis_limit_malloc_arenas(int count) {
#if defined(__GLIBC__)
  mallopt(M_ARENA_MAX, count);
#endif
}

void trellis_release_free_memory(void) {
#if defined(__GLIBC__)
  malloc_trim(0);
#endif
}

int trellis_can_allocate(size_t count, size_t size) {
  // Through a volatile pointer: a block neither read nor written is otherwise left out.
  void *volatile block = calloc(count, size);
  const int given = block != NULL;
  free(block);
  return given;
}
