// The round trip of a cache line between CPUs 0 and 1 (Eval/SPEED.md, session 53): one thread
// on each CPU, taking turns to flip a shared flag a million times; prints nanoseconds a round
// trip and "shared" or "apart". On a virtual machine it tells where the host has put the two
// virtual CPUs: tens of nanoseconds when they share a core or its cache, hundreds when they
// sit on cores that share no cache. Trellis's training splits each step over two threads that
// hand data to each other many times a step, so its speed follows this figure
// (scripts/pair-training.sh, `make bench-peers`'s paired rounds).
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>

enum { turns = 1000000 };
// Below this round trip (ns) the two CPUs share a cache: measured 56-62 ns then on a Zen 2
// virtual machine, against 366-490 ns apart.
enum { shared_cache_round_trip = 200 };
static _Atomic int flag __attribute__((aligned(64)));

static void pin(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

// CPU 1's side: waits for 1, answers 0.
static void *answer(void *unused) {
  (void)unused;
  pin(1);
  for (int i = 0; i < turns; i++) {
    while (atomic_load_explicit(&flag, memory_order_acquire) != 1) {}
    atomic_store_explicit(&flag, 0, memory_order_release);
  }
  return NULL;
}

int main(void) {
  pthread_t thread;
  pin(0);
  pthread_create(&thread, NULL, answer, NULL);
  struct timespec start, end;
  clock_gettime(CLOCK_MONOTONIC, &start);
  for (int i = 0; i < turns; i++) {
    atomic_store_explicit(&flag, 1, memory_order_release);
    while (atomic_load_explicit(&flag, memory_order_acquire) != 0) {}
  }
  clock_gettime(CLOCK_MONOTONIC, &end);
  pthread_join(thread, NULL);
  double round_trip = ((end.tv_sec - start.tv_sec) * 1e9 + (end.tv_nsec - start.tv_nsec)) / turns;
  printf("%.1f %s\n", round_trip, round_trip < shared_cache_round_trip ? "shared" : "apart");
  return 0;
}
