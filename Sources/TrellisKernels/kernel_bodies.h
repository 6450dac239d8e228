// The kernels' code, compiled once per instruction-set level: kernels_<level>.c defines
// TRELLIS_KERNEL_TABLE (the name of the table to export) and includes this file inside
// `#pragma clang attribute push(target(...))`, so every function here, helpers included, is built
// for that level's instructions and no other.
//
// The same results at every level but one difference: the code is written on 16-lane vectors
// (GCC/Clang vector extensions), which the compiler splits into four SSE2, two AVX2 or one
// AVX-512 instruction per operation; IEEE +, −, ·, / and √ round the same in every one of them,
// and the pragma below forbids fusing a multiply and an add into one FMA (rounded once instead
// of twice), which Clang would otherwise do wherever it pleases. The operations and their order
// are those of the Swift code these kernels replaced. The one difference is deliberate: the
// multiply-adds written MULTIPLY_ADD (the packed products' step s + a·w, product_body.h, and
// exp16's) are single fused instructions at the levels whose CPUs have FMA
// (FUSED_MULTIPLY_ADD, set by the level's file). Fused, a product's step is one instruction
// instead of two, which on a Zen 3 took the BiLSTM's passes from about 62% of OpenBLAS's
// sgemm rate to 70–77% (Eval/SPEED.md, session 15), and exp16's polynomial took the LSTM
// cell's step to 0.70 of its time on an AVX-512 Xeon (session 26); each rounds once. Levels
// with the same FUSED_MULTIPLY_ADD give bit-identical results; the two kinds differ in those
// operations' last bits (KernelLevelTests, KernelChoiceTests).
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kernel_tables.h"

#pragma clang fp contract(off)
// The helpers below pass 16-lane vectors by value, whose calling convention differs between
// levels; every one is static and always inlined within its file's level, so none crosses it.
#pragma clang diagnostic ignored "-Wpsabi"

typedef float f32x16 __attribute__((vector_size(64)));
typedef int32_t i32x16 __attribute__((vector_size(64)));
typedef uint32_t u32x16 __attribute__((vector_size(64)));
typedef float f32x8 __attribute__((vector_size(32)));
typedef int32_t i32x8 __attribute__((vector_size(32)));
typedef uint64_t u64x8 __attribute__((vector_size(64)));
typedef double f64x8 __attribute__((vector_size(64)));
typedef double f64x4 __attribute__((vector_size(32)));
typedef int64_t i64x8 __attribute__((vector_size(64)));

#define INLINE static inline __attribute__((always_inline))

// s + x·w: fused (rounded once) or rounded after the product and again after the addition.
#if FUSED_MULTIPLY_ADD
#define MULTIPLY_ADD(x, w, s) __builtin_elementwise_fma(x, w, s)
#else
#define MULTIPLY_ADD(x, w, s) ((s) + (x) * (w))
#endif

INLINE f32x16 splat16(float c) {
  return (f32x16){c, c, c, c, c, c, c, c, c, c, c, c, c, c, c, c};
}
INLINE f64x8 splat8d(double c) { return (f64x8){c, c, c, c, c, c, c, c}; }
// Half vectors, for a product's last panel when at most half of it is columns (product_body.h).
INLINE f32x8 splat8(float c) { return (f32x8){c, c, c, c, c, c, c, c}; }
INLINE f64x4 splat4d(double c) { return (f64x4){c, c, c, c}; }

// Loads, stores, lane selection and maps, one code for each vector type (16 floats, 8
// doubles), named with its suffix: load16, select8d, map16, …
#define VECTOR_HELPERS(SUFFIX, SCALAR, VECTOR, MASK, LANES) \
  INLINE VECTOR load##SUFFIX(const SCALAR *p) { \
    VECTOR v; \
    memcpy(&v, p, sizeof v); \
    return v; \
  } \
  INLINE void store##SUFFIX(SCALAR *p, VECTOR v) { memcpy(p, &v, sizeof v); } \
  /* mask ? a : b lane by lane; mask lanes are 0 or −1, as vector comparisons make them. */ \
  INLINE VECTOR select##SUFFIX(MASK mask, VECTOR a, VECTOR b) { \
    return (VECTOR)((mask & (MASK)a) | (~mask & (MASK)b)); \
  } \
  /* y = f(x) for `count` elements, LANES at a time; the tail goes through the same vector \
     code (zero-padded), so every element gets bit-identical treatment. */ \
  INLINE void map##SUFFIX(VECTOR (*f)(VECTOR), const SCALAR *x, SCALAR *y, long count) { \
    long k = 0; \
    for (; k + LANES <= count; k += LANES) store##SUFFIX(y + k, f(load##SUFFIX(x + k))); \
    if (k < count) { \
      SCALAR lanes[LANES] = {0}; \
      memcpy(lanes, x + k, (size_t)(count - k) * sizeof(SCALAR)); \
      store##SUFFIX(lanes, f(load##SUFFIX(lanes))); \
      memcpy(y + k, lanes, (size_t)(count - k) * sizeof(SCALAR)); \
    } \
  }
VECTOR_HELPERS(16, float, f32x16, i32x16, 16)
VECTOR_HELPERS(8d, double, f64x8, i64x8, 8)
#undef VECTOR_HELPERS

// exp is Cephes' expf (Moshier 1984): x = n·ln2 + r with |r| ≤ ln2/2, ln2 split into a short
// and a long part so n·ln2 is exact, e^r by a degree-6 minimax polynomial, 2^n by building the
// exponent bits; its multiply-adds are fused at the levels that fuse (MULTIPLY_ADD). Within
// 1.01 ulp of the exact e^x, fused or not, on the clamped range [−87.3, 88.3]
// (KernelLevelTests.testExpIsWithinOneUlp), where 2^n stays a normal float; outside it the
// results saturate (e^−87.3 ≈ 1e−38, e^88.3 ≈ 2e38), which σ and tanh turn into exact 0/1
// and ±1. A NaN stays NaN.
INLINE f32x16 exp16(f32x16 x) {
  const f32x16 low = splat16(-87.3f);
  const f32x16 high = splat16(88.3f);
  x = select16(x < low, low, x);
  x = select16(x > high, high, x);
  // n = round(x·log2 e) without a float→int conversion: adding 1.5·2^23 makes the FPU round to
  // an integer, held in the low mantissa bits of `shifted`.
  const f32x16 magic = splat16(12582912.0f);
  const f32x16 shifted = MULTIPLY_ADD(x, splat16(1.44269504f), magic);
  const f32x16 n = shifted - magic;
  // x − n·ln2 in two steps; n times the short part is exact, so only the second can fuse.
  const f32x16 rHigh = MULTIPLY_ADD(n, splat16(-0.693359375f), x);
  const f32x16 r = MULTIPLY_ADD(n, splat16(2.12194440e-4f), rHigh);
  f32x16 p = splat16(1.9875691500e-4f);
  p = MULTIPLY_ADD(p, r, splat16(1.3981999507e-3f));
  p = MULTIPLY_ADD(p, r, splat16(8.3334519073e-3f));
  p = MULTIPLY_ADD(p, r, splat16(4.1665795894e-2f));
  p = MULTIPLY_ADD(p, r, splat16(1.6666665459e-1f));
  p = MULTIPLY_ADD(p, r, splat16(5.0000001201e-1f));
  p = MULTIPLY_ADD(p, r * r, r) + 1.0f;
  const u32x16 exponent = (((u32x16)shifted - (u32x16)magic) + 127u) << 23;
  return p * (f32x16)exponent;
}

INLINE f32x16 sigmoid16(f32x16 x) { return 1.0f / (1.0f + exp16(-x)); }

INLINE f32x16 tanh16(f32x16 x) { return 1.0f - 2.0f / (exp16(2.0f * x) + 1.0f); }

// exp16 with every x below its clamped range (and −∞) giving exactly 0, as exp8d does below
// its own: the CRF's Float recursions divide by sums of these factors, and a sum of factors
// saturated at e^−87.3 is a normal Float that stands for a mass the scores do not have,
// where a sum of zeros tells them to redo the batch in Double.
INLINE f32x16 exp_or_zero16(f32x16 x) {
  return select16(x < splat16(-87.3f), splat16(0), exp16(x));
}

static void exp_kernel(const float *x, float *y, long count) { map16(exp_or_zero16, x, y, count); }

static void sigmoid_kernel(const float *x, float *y, long count) {
  map16(sigmoid16, x, y, count);
}

static void tanh_kernel(const float *x, float *y, long count) { map16(tanh16, x, y, count); }

// e^x in Double, for the CRF's potentials and ψ, whose arguments are ≤ 0 (a score minus the
// largest one): x = n·ln2 + r with |r| ≤ ln2/2, ln2 split as Cody and Waite's (its short
// part times any n here is exact), e^r by its Taylor series to r^13 by Horner (truncation
// under 2e−17 relative at |r| = 0.347; measured against libm within 4 ulp), 2^n by building
// the exponent bits. Below −708.39, where 2^n would leave the normal range, the result is
// exactly 0, as e^−∞ of a forbidden transition must be; x is clamped at 709 above (the CRF never
// passes x > 0). A NaN stays NaN.
INLINE f64x8 exp8d(f64x8 x) {
  const i64x8 belowRange = x < splat8d(-708.39);
  const f64x8 low = splat8d(-708.39);
  const f64x8 high = splat8d(709.0);
  f64x8 clamped = select8d(belowRange, low, x);
  clamped = select8d(clamped > high, high, clamped);
  // n = round(x·log2 e) by the 1.5·2^52 trick, as exp16 does with 1.5·2^23.
  const f64x8 magic = splat8d(6755399441055744.0);
  const f64x8 shifted = clamped * 1.4426950408889634 + magic;
  const f64x8 n = shifted - magic;
  const f64x8 r = clamped - n * 6.93147180369123816490e-01 - n * 1.90821492927058770002e-10;
  f64x8 p = splat8d(1.0 / 6227020800.0);  // 1/13!
  p = p * r + 1.0 / 479001600.0;
  p = p * r + 1.0 / 39916800.0;
  p = p * r + 1.0 / 3628800.0;
  p = p * r + 1.0 / 362880.0;
  p = p * r + 1.0 / 40320.0;
  p = p * r + 1.0 / 5040.0;
  p = p * r + 1.0 / 720.0;
  p = p * r + 1.0 / 120.0;
  p = p * r + 1.0 / 24.0;
  p = p * r + 1.0 / 6.0;
  p = p * r + 0.5;
  p = p * r + 1.0;
  p = p * r + 1.0;
  const u64x8 exponent = (((u64x8)shifted - (u64x8)magic) + 1023u) << 52;
  return select8d(belowRange, splat8d(0), p * (f64x8)exponent);
}

static void exp_f64_kernel(const double *x, double *y, long count) {
  map8d(exp8d, x, y, count);
}

// y = (float)e^(x − shift), the CRF's Float potentials from its Double scores: the subtraction,
// exp8d and the rounding to float of Swift's `Float(exp(x − shift))` in the same order, eight
// at a time (in Swift the subtraction and the rounding ran one element at a time, as much
// time as the exponentials). The tail goes through the same vector code, zero-padded.
INLINE f32x8 exp_shifted_to_f32_8(const double *x, double shift) {
  return __builtin_convertvector(exp8d(load8d(x) - splat8d(shift)), f32x8);
}

static void exp_shifted_f64_to_f32_kernel(const double *x, double shift, float *y, long count) {
  long k = 0;
  for (; k + 8 <= count; k += 8) {
    const f32x8 result = exp_shifted_to_f32_8(x + k, shift);
    memcpy(y + k, &result, sizeof result);
  }
  if (k < count) {
    double lanes[8] = {0};
    memcpy(lanes, x + k, (size_t)(count - k) * sizeof(double));
    const f32x8 result = exp_shifted_to_f32_8(lanes, shift);
    memcpy(y + k, &result, (size_t)(count - k) * sizeof(float));
  }
}

// i ascends and the comparison is strict, so ties go to the lowest label id.
// One Viterbi step over `blocks` vectors of 16 next labels starting at column v: for each
// listed previous label i (ascending), candidate = δ[i] + trans[i][v...] against the running best,
// strictly greater wins, so ties keep the lowest i. Each block's running best depends on its
// previous i (compare, then select: several cycles of latency); `blocks` independent chains
// interleaved keep the vector units busy instead of waiting on one. `blocks` is a constant at
// each call site, at most VITERBI_BLOCKS (the level's file sets it to what its registers
// hold), so the arrays below live in registers.
INLINE void viterbi_blocks(
  const float *delta, const float *transition, const int32_t *rows, long rowCount, long stride,
  long v, int blocks, float *best, int32_t *pointers) {
  f32x16 running[VITERBI_BLOCKS];
  i32x16 argument[VITERBI_BLOCKS];
  for (int b = 0; b < blocks; b++) {
    running[b] = splat16(-INFINITY);
    argument[b] = (i32x16){0};
  }
  for (long r = 0; r < rowCount; r++) {
    const int32_t i = rows[r];
    const f32x16 previous = splat16(delta[i]);
    for (int b = 0; b < blocks; b++) {
      const f32x16 candidate = previous + load16(transition + i * stride + v + 16 * b);
      const i32x16 better = candidate > running[b];
      running[b] = select16(better, candidate, running[b]);
      argument[b] = (better & (int32_t)i) | (~better & argument[b]);
    }
  }
  for (int b = 0; b < blocks; b++) {
    store16(best + v + 16 * b, running[b]);
    memcpy(pointers + v + 16 * b, &argument[b], sizeof argument[b]);
  }
}

// δ and ψ of one step for all `stride` next labels (a multiple of 16): VITERBI_BLOCKS blocks
// per pass over the previous labels, then the remaining blocks in one more pass. Each column
// sees the same i in the same order at any grouping, so the results are those of one block
// at a time, bit for bit.
static void viterbi_step_kernel(
  const float *delta, const float *transition, const int32_t *rows, long rowCount, long stride,
  float *best, int32_t *pointers) {
  long v = 0;
  for (; v + 16 * VITERBI_BLOCKS <= stride; v += 16 * VITERBI_BLOCKS)
    viterbi_blocks(delta, transition, rows, rowCount, stride, v, VITERBI_BLOCKS, best, pointers);
#define VITERBI_REST(count) \
  case count: \
    viterbi_blocks(delta, transition, rows, rowCount, stride, v, count, best, pointers); \
    break;
  switch ((stride - v) / 16) {
    VITERBI_REST(1)
#if VITERBI_BLOCKS > 2
    VITERBI_REST(2)
    VITERBI_REST(3)
#endif
#if VITERBI_BLOCKS > 4
    VITERBI_REST(4)
    VITERBI_REST(5)
    VITERBI_REST(6)
    VITERBI_REST(7)
#endif
    default: break;
  }
#undef VITERBI_REST
}

// trellis_kernels.h's viterbi_live_rows: the floor as the largest of 16 lanes' running
// maxima (max is exact, so any order gives the same floor), then each block of 16 rows tested
// at once; the rare block with a live row appends its rows without branches.
static long viterbi_live_rows_kernel(
  const float *delta, long stride, const float *rowMax, const float *rowMin, int32_t *rows) {
  f32x16 floors = splat16(-INFINITY);
  for (long v = 0; v < stride; v += 16) {
    const f32x16 least = load16(delta + v) + load16(rowMin + v);
    floors = select16(least > floors, least, floors);
  }
  float floor = -INFINITY;
  for (int lane = 0; lane < 16; lane++) floor = floors[lane] > floor ? floors[lane] : floor;
  long count = 0;
  for (long v = 0; v < stride; v += 16) {
    const f32x16 previous = load16(delta + v);
    const i32x16 live = (previous > splat16(-INFINITY)) &
      ~((previous + load16(rowMax + v)) < splat16(floor));
    const u64x8 pairs = (u64x8)live;
    if (!(pairs[0] | pairs[1] | pairs[2] | pairs[3] | pairs[4] | pairs[5] | pairs[6] | pairs[7]))
      continue;
    for (int lane = 0; lane < 16; lane++) {
      rows[count] = (int32_t)(v + lane);
      count -= live[lane];  // −1 in a live lane
    }
  }
  return count;
}

// What a packed product does with c (product_body.h): c = the sums from 0, c = c + the sums
// from 0, or c = the sums started at c (a product continued over more of the depth).
enum { PRODUCT_SET, PRODUCT_ADD, PRODUCT_CONTINUE };
// Steps of k per block of a product whose a is read transposed (product_body.h): a step reads
// one 64-byte line of each of the group's PRODUCT_PANELS panels and one of a's lines, and a
// block of them stays within 16 KB, half of a 32 KB first-level cache: 128 steps at one panel a
// group, 64 at the AVX-512 level's three (on a 48 KB cache, 64 and 128 steps ran alike there).
#define PRODUCT_DEPTH_BLOCK (16384 / 64 / (PRODUCT_PANELS + 1))

#define SCALAR float
#define VECTOR f32x16
#define HALF_VECTOR f32x8
#define LANES 16
#define SPLAT splat16
#define HALF_SPLAT splat8
#define LOAD load16
#define STORE store16
#define PRODUCT(name) product_##name
#include "product_body.h"

#define SCALAR double
#define VECTOR f64x8
#define HALF_VECTOR f64x4
#define LANES 8
#define SPLAT splat8d
#define HALF_SPLAT splat4d
#define LOAD load8d
#define STORE store8d
#define PRODUCT(name) product_f64_##name
#include "product_body.h"

static void packed_product_kernel(
  const float *a, long rows, long depth, const float *panels, long columns, float *c) {
  product_panels(a, depth, 1, rows, 0, depth, panels, columns, c, PRODUCT_SET);
}

// The CRF's products (LinearChain+ForwardBackward.swift): c = a · W in Double over W packed
// in panels of 8 (trellis_pack_panels_f64), a read through strides.
static void packed_product_f64_kernel(
  const double *a, long rowStride, long depthStride, long rows, long depth, const double *panels,
  long columns, double *c) {
  product_f64_panels(
    a, rowStride, depthStride, rows, 0, depth, panels, columns, c, PRODUCT_SET);
}

static void packed_product_add_kernel(
  const float *a, long rowStride, long depthStride, long rows, long depth, const float *panels,
  long columns, float *c) {
  product_panels(a, rowStride, depthStride, rows, 0, depth, panels, columns, c, PRODUCT_ADD);
}

static void packed_product_continue_kernel(
  const float *a, long rowStride, long rows, long from, long depth, const float *panels,
  long columns, float *c) {
  product_panels(a, rowStride, 1, rows, from, depth, panels, columns, c, PRODUCT_CONTINUE);
}

// Adam's and Nadam's update of 16 parameters. `nesterov` is a constant at each call site, so
// Adam's expression stays the one Optimizer.swift writes (no extra terms, the same bits). The
// gradient is read times `scale` (one rounded product: the bits of a gradient scaled
// beforehand) and left zero.
INLINE void moments16(
  float *theta, float *g, float *m, float *v, float beta1, float beta2, float epsilon,
  float step, float scale, bool nesterov, float momentum, float current) {
  const f32x16 gradient = load16(g) * scale;
  const f32x16 first = beta1 * load16(m) + (1.0f - beta1) * gradient;
  const f32x16 second = beta2 * load16(v) + (1.0f - beta2) * gradient * gradient;
  f32x16 direction = first;
  if (nesterov) direction = momentum * first + current * gradient;
  const f32x16 value =
    load16(theta) - step * direction / (__builtin_elementwise_sqrt(second) + epsilon);
  store16(m, first);
  store16(v, second);
  store16(theta, value);
  store16(g, splat16(0));
}

INLINE void moments_kernel(
  float *theta, float *gradient, float *m, float *v, long count, float beta1, float beta2,
  float epsilon, float step, float scale, bool nesterov, float momentum, float current) {
  long k = 0;
  for (; k + 16 <= count; k += 16) {
    moments16(
      theta + k, gradient + k, m + k, v + k, beta1, beta2, epsilon, step, scale, nesterov,
      momentum, current);
  }
  if (k < count) {
    const size_t bytes = (size_t)(count - k) * sizeof(float);
    float lanes[4][16] = {{0}};
    memcpy(lanes[0], theta + k, bytes);
    memcpy(lanes[1], gradient + k, bytes);
    memcpy(lanes[2], m + k, bytes);
    memcpy(lanes[3], v + k, bytes);
    moments16(
      lanes[0], lanes[1], lanes[2], lanes[3], beta1, beta2, epsilon, step, scale, nesterov,
      momentum, current);
    memcpy(theta + k, lanes[0], bytes);
    memcpy(gradient + k, lanes[1], bytes);
    memcpy(m + k, lanes[2], bytes);
    memcpy(v + k, lanes[3], bytes);
  }
}

// trellis_kernels.h's sum_of_squares: four vectors of eight partial sums, element i in
// lane i mod 8 of vector (i mod 32) / 8; a short tail zero-padded, adding +0 to the partial
// sums it does not reach (nonnegative, so they keep their bits).
INLINE f64x8 squares8(const float *values) {
  f32x8 x;
  memcpy(&x, values, sizeof x);
  const f64x8 wide = __builtin_convertvector(x, f64x8);
  return wide * wide;
}

static void sum_of_squares_kernel(const float *values, long count, double *partial) {
  enum { partials = TRELLIS_SUM_OF_SQUARES_PARTIALS };
  _Static_assert(partials == 4 * 8, "four accumulators of 8 lanes");
  f64x8 sums[4];
  for (int v = 0; v < 4; v++) sums[v] = load8d(partial + 8 * v);
  long k = 0;
  for (; k + partials <= count; k += partials) {
    for (int v = 0; v < 4; v++) sums[v] += squares8(values + k + 8 * v);
  }
  if (k < count) {
    float lanes[partials] = {0};
    memcpy(lanes, values + k, (size_t)(count - k) * sizeof(float));
    for (int v = 0; v < 4; v++) sums[v] += squares8(lanes + 8 * v);
  }
  for (int v = 0; v < 4; v++) store8d(partial + 8 * v, sums[v]);
}

static void adam_kernel(
  float *theta, float *gradient, float *m, float *v, long count, float beta1, float beta2,
  float epsilon, float step, float scale) {
  moments_kernel(theta, gradient, m, v, count, beta1, beta2, epsilon, step, scale, false, 0, 0);
}

static void nadam_kernel(
  float *theta, float *gradient, float *m, float *v, long count, float beta1, float beta2,
  float epsilon, float step, float scale, float momentum, float current) {
  moments_kernel(
    theta, gradient, m, v, count, beta1, beta2, epsilon, step, scale, true, momentum, current);
}

// SplitMix64 (Random.swift): draw n (counting from 1) after state s is the output function of
// s + n·γ, so eight draws are computed at once from their own states.
static const uint64_t splitmix_gamma = TRELLIS_SPLITMIX_GAMMA;

INLINE u64x8 splitmix_output(u64x8 z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
  return z ^ (z >> 31);
}

/// Eight dropout decisions from the SplitMix64 state `before` (draws 1...8 after it).
INLINE void dropout8(float *values, float *mask, uint64_t before, float rate, float scale) {
  const u64x8 draws =
    splitmix_output(before + (u64x8){1, 2, 3, 4, 5, 6, 7, 8} * splitmix_gamma);
  // The top 24 bits, exact as int32 and as float, times 2^−24: nextUnitFloat()'s value.
  const f32x8 u =
    __builtin_convertvector(__builtin_convertvector(draws >> 40, i32x8), f32x8) * 0x1p-24f;
  const f32x8 kept = {scale, scale, scale, scale, scale, scale, scale, scale};
  const f32x8 m = (f32x8)(~(u < rate) & (i32x8)kept);  // +0 where dropped
  f32x8 x;
  memcpy(&x, values, sizeof x);
  x = x * m;
  memcpy(values, &x, sizeof x);
  memcpy(mask, &m, sizeof m);
}

static void dropout_kernel(
  float *values, float *mask, long count, float rate, float scale, uint64_t *state) {
  const uint64_t start = *state;
  long k = 0;
  for (; k + 8 <= count; k += 8) {
    dropout8(values + k, mask + k, start + (uint64_t)k * splitmix_gamma, rate, scale);
  }
  if (k < count) {
    const size_t bytes = (size_t)(count - k) * sizeof(float);
    float lanes[2][8] = {{0}};
    memcpy(lanes[0], values + k, bytes);
    dropout8(lanes[0], lanes[1], start + (uint64_t)k * splitmix_gamma, rate, scale);
    memcpy(values + k, lanes[0], bytes);
    memcpy(mask + k, lanes[1], bytes);
  }
  *state = start + (uint64_t)count * splitmix_gamma;
}

// One LSTM step's backward pass on 16 units of one row: pointers at the row's unit j, the gate
// blocks `hidden` apart; the expressions and their order are LSTMCell.backward's.
INLINE void lstm_backward16(
  const float *gates, long hidden, const float *tanh_c, f32x16 c_previous, const float *dh,
  float *carry, float *dz) {
  const f32x16 one = splat16(1.0f);
  const f32x16 i = load16(gates), f = load16(gates + hidden);
  const f32x16 g = load16(gates + 2 * hidden), o = load16(gates + 3 * hidden);
  const f32x16 tc = load16(tanh_c), gradient = load16(dh);
  const f32x16 dc = load16(carry) + gradient * o * (one - tc * tc);
  store16(dz, dc * g * i * (one - i));
  store16(dz + hidden, dc * c_previous * f * (one - f));
  store16(dz + 2 * hidden, dc * i * (one - g * g));
  store16(dz + 3 * hidden, gradient * tc * o * (one - o));
  store16(carry, dc * f);
}

static void lstm_backward_kernel(
  const float *gates, const float *tanh_c, const float *c_previous, const float *dh,
  float *carry, float *dz, long rows, long hidden) {
  const f32x16 zero = splat16(0.0f);
  for (long b = 0; b < rows; b++) {
    const float *gateRow = gates + b * 4 * hidden;
    float *dzRow = dz + b * 4 * hidden;
    const long at = b * hidden;
    long j = 0;
    for (; j + 16 <= hidden; j += 16) {
      lstm_backward16(
        gateRow + j, hidden, tanh_c + at + j, c_previous ? load16(c_previous + at + j) : zero,
        dh + at + j, carry + at + j, dzRow + j);
    }
    if (j < hidden) {
      // The last units through the same code, in zero-padded lanes: gate blocks 16 apart.
      const size_t bytes = (size_t)(hidden - j) * sizeof(float);
      float lanes[4][16] = {{0}}, gateLanes[4][16] = {{0}}, dzLanes[4][16];
      for (int q = 0; q < 4; q++) memcpy(gateLanes[q], gateRow + q * hidden + j, bytes);
      memcpy(lanes[0], tanh_c + at + j, bytes);
      if (c_previous) memcpy(lanes[1], c_previous + at + j, bytes);
      memcpy(lanes[2], dh + at + j, bytes);
      memcpy(lanes[3], carry + at + j, bytes);
      lstm_backward16(
        gateLanes[0], 16, lanes[0], load16(lanes[1]), lanes[2], lanes[3], dzLanes[0]);
      for (int q = 0; q < 4; q++) memcpy(dzRow + q * hidden + j, dzLanes[q], bytes);
      memcpy(carry + at + j, lanes[3], bytes);
    }
  }
}

// One GRU step's backward pass on 16 units of one row, as lstm_backward16: the expressions
// and their order are GRUCell.backward's.
INLINE void gru_backward16(
  const float *gates, long hidden, const float *zh_n, f32x16 previous, const float *dh,
  float *dh_previous_direct, float *dzx, float *dzh) {
  const f32x16 one = splat16(1.0f);
  const f32x16 r = load16(gates), u = load16(gates + hidden), n = load16(gates + 2 * hidden);
  const f32x16 gradient = load16(dh);
  const f32x16 dn = gradient * (one - u);
  const f32x16 du = gradient * (previous - n);
  store16(dh_previous_direct, gradient * u);
  const f32x16 dan = dn * (one - n * n);
  const f32x16 dar = dan * load16(zh_n) * r * (one - r);
  const f32x16 dau = du * u * (one - u);
  store16(dzx, dar);
  store16(dzx + hidden, dau);
  store16(dzx + 2 * hidden, dan);
  store16(dzh, dar);
  store16(dzh + hidden, dau);
  store16(dzh + 2 * hidden, dan * r);
}

static void gru_backward_kernel(
  const float *gates, const float *zh_n, const float *h_previous, const float *dh,
  float *dh_previous_direct, float *dzx, float *dzh, long rows, long hidden) {
  const f32x16 zero = splat16(0.0f);
  for (long b = 0; b < rows; b++) {
    const float *gateRow = gates + b * 3 * hidden;
    float *dzxRow = dzx + b * 3 * hidden, *dzhRow = dzh + b * 3 * hidden;
    const long at = b * hidden;
    long j = 0;
    for (; j + 16 <= hidden; j += 16) {
      gru_backward16(
        gateRow + j, hidden, zh_n + at + j, h_previous ? load16(h_previous + at + j) : zero,
        dh + at + j, dh_previous_direct + at + j, dzxRow + j, dzhRow + j);
    }
    if (j < hidden) {
      // The last units through the same code, in zero-padded lanes: gate blocks 16 apart.
      const size_t bytes = (size_t)(hidden - j) * sizeof(float);
      float lanes[4][16] = {{0}}, gateLanes[3][16] = {{0}}, dzxLanes[3][16], dzhLanes[3][16];
      for (int q = 0; q < 3; q++) memcpy(gateLanes[q], gateRow + q * hidden + j, bytes);
      memcpy(lanes[0], zh_n + at + j, bytes);
      if (h_previous) memcpy(lanes[1], h_previous + at + j, bytes);
      memcpy(lanes[2], dh + at + j, bytes);
      gru_backward16(
        gateLanes[0], 16, lanes[0], load16(lanes[1]), lanes[2], lanes[3], dzxLanes[0],
        dzhLanes[0]);
      memcpy(dh_previous_direct + at + j, lanes[3], bytes);
      for (int q = 0; q < 3; q++) {
        memcpy(dzxRow + q * hidden + j, dzxLanes[q], bytes);
        memcpy(dzhRow + q * hidden + j, dzhLanes[q], bytes);
      }
    }
  }
}

// One LSTM step's forward pass on 16 units of one row: pointers at the row's unit j, the gate
// blocks `hidden` apart; the expressions and their order are those of the Swift loops this
// replaced (σ over z, with g = 2σ(2z) − 1, then c, then h = o·tanh(c)), so the same bits.
INLINE void lstm_forward16(
  const float *zx, const float *zh, long hidden, const float *c_previous, float *gates,
  float *c, float *h) {
  const f32x16 one = splat16(1.0f), two = splat16(2.0f);
  const f32x16 i = sigmoid16(load16(zx) + load16(zh));
  const f32x16 f = sigmoid16(load16(zx + hidden) + load16(zh + hidden));
  const f32x16 zg = load16(zx + 2 * hidden) + load16(zh + 2 * hidden);
  const f32x16 g = two * sigmoid16(zg * two) - one;
  const f32x16 o = sigmoid16(load16(zx + 3 * hidden) + load16(zh + 3 * hidden));
  const f32x16 cell = c_previous ? f * load16(c_previous) + i * g : i * g;
  store16(gates, i);
  store16(gates + hidden, f);
  store16(gates + 2 * hidden, g);
  store16(gates + 3 * hidden, o);
  store16(c, cell);
  store16(h, o * tanh16(cell));
}

static void lstm_forward_kernel(
  const float *zx, const float *zh, const float *c_previous, float *gates, float *c, float *h,
  long hidden) {
  long j = 0;
  for (; j + 16 <= hidden; j += 16) {
    lstm_forward16(
      zx + j, zh + j, hidden, c_previous ? c_previous + j : NULL, gates + j, c + j, h + j);
  }
  if (j < hidden && hidden >= 16) {
    // The last 16 units again, overlapping the block before: each unit's outputs depend only
    // on its inputs, which no store here touches, so units done twice get the same values.
    j = hidden - 16;
    lstm_forward16(
      zx + j, zh + j, hidden, c_previous ? c_previous + j : NULL, gates + j, c + j, h + j);
  } else if (j < hidden) {
    // Fewer than 16 units: through the same code in zero-padded lanes, gate blocks 16 apart.
    const size_t bytes = (size_t)(hidden - j) * sizeof(float);
    float zxLanes[4][16] = {{0}}, zhLanes[4][16] = {{0}}, gateLanes[4][16];
    float previousLanes[16] = {0}, cLanes[16], hLanes[16];
    for (int q = 0; q < 4; q++) {
      memcpy(zxLanes[q], zx + q * hidden + j, bytes);
      memcpy(zhLanes[q], zh + q * hidden + j, bytes);
    }
    if (c_previous) memcpy(previousLanes, c_previous + j, bytes);
    lstm_forward16(
      zxLanes[0], zhLanes[0], 16, c_previous ? previousLanes : NULL, gateLanes[0], cLanes,
      hLanes);
    for (int q = 0; q < 4; q++) memcpy(gates + q * hidden + j, gateLanes[q], bytes);
    memcpy(c + j, cLanes, bytes);
    memcpy(h + j, hLanes, bytes);
  }
}

const trellis_kernels TRELLIS_KERNEL_TABLE = {
  .fuses_multiply_adds = FUSED_MULTIPLY_ADD,
  .exp = exp_kernel,
  .exp_f64 = exp_f64_kernel,
  .exp_shifted_f64_to_f32 = exp_shifted_f64_to_f32_kernel,
  .sigmoid = sigmoid_kernel,
  .tanh = tanh_kernel,
  .viterbi_step = viterbi_step_kernel,
  .viterbi_live_rows = viterbi_live_rows_kernel,
  .packed_product = packed_product_kernel,
  .packed_product_add = packed_product_add_kernel,
  .packed_product_continue = packed_product_continue_kernel,
  .packed_product_f64 = packed_product_f64_kernel,
  .sum_of_squares = sum_of_squares_kernel,
  .adam = adam_kernel,
  .nadam = nadam_kernel,
  .dropout = dropout_kernel,
  .lstm_forward = lstm_forward_kernel,
  .lstm_backward = lstm_backward_kernel,
  .gru_backward = gru_backward_kernel,
};
