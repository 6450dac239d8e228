// What the process may use: the CPUs it may run on, which Foundation's activeProcessorCount does
// not read on Linux (it reads the cgroup quota and the online CPUs; `taskset -c 0` left it at
// 2), and the file descriptors libdispatch needs to start.
#if defined(__linux__)
#define _GNU_SOURCE
#include <sched.h>
#include <sys/epoll.h>
#include <unistd.h>
#endif
#include "trellis_kernels.h"

long trellis_affinity_core_count(void) {
#if defined(__linux__)
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) return CPU_COUNT(&set);
#endif
  return 0;
}

// Whether libdispatch can start: its first worker thread makes an epoll instance, an eventfd
// and a timerfd, and traps (SIGILL) when one cannot be made.
int trellis_dispatch_descriptors_available(void) {
#if defined(__linux__)
  enum { made = 3 };
  int descriptors[made], opened = 0;
  while (opened < made && (descriptors[opened] = epoll_create1(EPOLL_CLOEXEC)) >= 0) opened++;
  for (int i = 0; i < opened; i++) close(descriptors[i]);
  return opened == made;
#else
  return 1;
#endif
}
