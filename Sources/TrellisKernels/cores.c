// The CPUs the process may run on, which Foundation's activeProcessorCount does not read on
// Linux (it reads the cgroup quota and the online CPUs; `taskset -c 0` left it at 2).
#if defined(__linux__)
#define _GNU_SOURCE
#include <sched.h>
#endif
#include "trellis_kernels.h"

long trellis_affinity_core_count(void) {
#if defined(__linux__)
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) return CPU_COUNT(&set);
#endif
  return 0;
}
