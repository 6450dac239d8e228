// What a core pays to write cache lines the other core has read (Eval/SPEED.md, session 58).
// Two threads, one pinned to each CPU, each owning an Adam-shaped slab set (weights, gradient
// and two moments, N floats each). Every step each thread first streams over a private buffer
// of POLLUTE bytes (the step's other work), then, in some cases, reads the OTHER thread's
// weights, one float a cache line, as the pair's passes read weights the other core updates;
// after a barrier each thread times one optimiser-shaped pass over its own slabs. Prints the
// median pass in microseconds for each case:
//   private      no core reads the other's weights
//   read         the other core has read the weights the pass writes
//   read+stream  the same, the pass writing the weights with non-temporal stores
//   read+flush   the same, the reader evicting the lines it read (clflushopt) after reading
//                them; its flush time is printed too
//   read-nta     the other core has read the weights with a non-temporal prefetch ahead
//                (PREFETCHNTA, the hint to keep lines out of the outer caches)
// With scripts/core-round-trip.c before and after, to say where the host has the two CPUs.
// Needs AVX2 and CLFLUSHOPT (x86-64 since about 2017; -march=native on such a CPU):
//   cc -O3 -march=native -pthread scripts/shared-line-writes.c -o slw -lm && ./slw
#define _GNU_SOURCE
#include <immintrin.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { N = 145000, POLLUTE = 4 << 20, STEPS = 200 };
enum Case { PRIVATE, READ, READ_STREAM, READ_FLUSH, READ_NTA, CASES };
static const char *names[CASES] = {"private", "read", "read+stream", "read+flush", "read-nta"};

static float *slabs[2][4];  // [thread][weights, gradient, first moment, second moment]
static float *pollution[2];
static atomic_int arrived;
static volatile float sinks[2];  // each thread's sums, kept from being optimised away
static double passes[2][STEPS], flushes[2][STEPS];
static enum Case current;

static double microseconds(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e6 + t.tv_nsec * 1e-3;
}

// Both threads wait here; `round` counts the barriers each has passed.
static void barrier(int round) {
  atomic_fetch_add(&arrived, 1);
  while (atomic_load(&arrived) < 2 * round) {
  }
}

static void pass(float *theta, float *g, float *m, float *v, int stream) {
  for (long i = 0; i < N; i += 8) {
    const __m256 gradient = _mm256_load_ps(g + i);
    const __m256 first = _mm256_add_ps(
      _mm256_mul_ps(_mm256_set1_ps(0.9f), _mm256_load_ps(m + i)),
      _mm256_mul_ps(_mm256_set1_ps(0.1f), gradient));
    const __m256 second = _mm256_add_ps(
      _mm256_mul_ps(_mm256_set1_ps(0.999f), _mm256_load_ps(v + i)),
      _mm256_mul_ps(_mm256_set1_ps(0.001f), _mm256_mul_ps(gradient, gradient)));
    const __m256 value = _mm256_sub_ps(
      _mm256_load_ps(theta + i),
      _mm256_div_ps(
        _mm256_mul_ps(_mm256_set1_ps(1e-3f), first),
        _mm256_add_ps(_mm256_sqrt_ps(second), _mm256_set1_ps(1e-8f))));
    _mm256_store_ps(m + i, first);
    _mm256_store_ps(v + i, second);
    if (stream) {
      _mm256_stream_ps(theta + i, value);
    } else {
      _mm256_store_ps(theta + i, value);
    }
    _mm256_store_ps(g + i, _mm256_setzero_ps());
  }
  if (stream) _mm_sfence();
}

// `bytes` (rounded up to whole cache lines, as aligned_alloc requires) on a line boundary.
static void *lines(size_t bytes) {
  void *p = aligned_alloc(64, (bytes + 63) / 64 * 64);
  if (p == NULL) {
    perror("aligned_alloc");
    exit(1);
  }
  return p;
}

static void *run(void *argument) {
  const int id = (int)(long)argument;
  cpu_set_t cpus;
  CPU_ZERO(&cpus);
  CPU_SET(id, &cpus);
  sched_setaffinity(0, sizeof cpus, &cpus);
  for (int k = 0; k < 4; k++) {
    slabs[id][k] = lines(N * sizeof(float));
    for (long i = 0; i < N; i++) slabs[id][k][i] = 1e-3f * (float)(i % 1000);
  }
  pollution[id] = lines(POLLUTE);
  memset(pollution[id], 1, POLLUTE);
  int round = 0;
  barrier(++round);
  for (int step = 0; step < STEPS; step++) {
    float *q = pollution[id];
    for (long i = 0; i < POLLUTE / 4; i++) q[i] = q[i] * 0.5f + 1.0f;
    if (current != PRIVATE) {
      float *others = slabs[1 - id][0];
      float sum = 0;
      for (long i = 0; i < N; i += 16) {
        if (current == READ_NTA) _mm_prefetch((const char *)(others + i + 256), _MM_HINT_NTA);
        sum += others[i];
      }
      sinks[id] += sum;
      if (current == READ_FLUSH) {
        const double started = microseconds();
        for (long i = 0; i < N; i += 16) _mm_clflushopt(others + i);
        _mm_sfence();
        flushes[id][step] = microseconds() - started;
      }
    }
    barrier(++round);
    const double started = microseconds();
    pass(slabs[id][0], slabs[id][1], slabs[id][2], slabs[id][3], current == READ_STREAM);
    passes[id][step] = microseconds() - started;
    barrier(++round);
  }
  return NULL;
}

static int ascending(const void *a, const void *b) {
  const double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double median(double *values) {
  qsort(values, STEPS, sizeof *values, ascending);
  return values[STEPS / 2];
}

int main(void) {
  for (current = PRIVATE; current < CASES; current++) {
    atomic_store(&arrived, 0);
    memset(flushes, 0, sizeof flushes);
    pthread_t threads[2];
    for (long i = 0; i < 2; i++) pthread_create(&threads[i], NULL, run, (void *)i);
    for (int i = 0; i < 2; i++) pthread_join(threads[i], NULL);
    printf("%-12s pass %6.1f %6.1f us", names[current], median(passes[0]), median(passes[1]));
    if (current == READ_FLUSH) {
      printf("   flush %5.1f %5.1f us", median(flushes[0]), median(flushes[1]));
    }
    printf("\n");
    for (int t = 0; t < 2; t++) {
      for (int k = 0; k < 4; k++) free(slabs[t][k]);
      free(pollution[t]);
    }
  }
  return 0;
}
