// The vector kernels of the recurrent cells, tagging's packed product, Viterbi, the gradient
// norm, Adam and dropout, compiled once per instruction-set level and chosen at run time from
// the CPU's features, so that a plain `swift build -c release` runs them as fast as a build for
// this CPU (-target-cpu) would.
//
// Every level computes the same IEEE operations in the same order (kernel_bodies.h), except
// that the packed products' steps and exp's multiply-adds are fused where the CPU has FMA
// (fuses_multiply_adds): levels that agree on that give bit-identical results, and the others
// differ only in the rounding of those operations.
#ifndef TRELLIS_KERNELS_H
#define TRELLIS_KERNELS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// What each SplitMix64 draw adds to the generator's state (the golden ratio's 64 bits): the
/// dropout kernel's and Swift's `SplitMix64` (Random.swift) one constant.
#define TRELLIS_SPLITMIX_GAMMA 0x9E3779B97F4A7C15ull

/// How many partial sums `sum_of_squares` adds into (element i to partial i mod this): the
/// kernel's four 8-lane accumulators and the gradient norm's blocks (ParameterStore.swift).
#define TRELLIS_SUM_OF_SQUARES_PARTIALS 32

/// Instruction-set levels, lowest first: SSE2 (any x86-64; the compiler's default elsewhere),
/// AVX2 with FMA (Haswell and later, Zen), AVX-512 F/DQ/BW/VL (Skylake-X and later, Zen 4 and later).
typedef enum {
  TRELLIS_KERNELS_PORTABLE = 0,
  TRELLIS_KERNELS_AVX2 = 1,
  TRELLIS_KERNELS_AVX512 = 2,
} trellis_kernel_level;

/// One level's kernels. Counts are element counts; pointers may be unaligned.
typedef struct {
  /// Whether the packed products (packed_product, packed_product_add,
  /// packed_product_continue, packed_product_f64) and exp (with sigmoid, tanh and
  /// lstm_forward, which use it) form each s + a·w as one fused multiply-add, rounded once
  /// (AVX2, AVX-512, and the portable level where the architecture's baseline has FMA, as
  /// 64-bit ARM's does), or as a product rounded before its addition (SSE2). Every other
  /// kernel is the same at every level, bit for bit.
  bool fuses_multiply_adds;
  /// y[k] = e^x[k] within 1.01 ulp on [−87.3, 88.3], saturating at e^88.3 above it, exactly 0
  /// below it and for −∞; y may equal x.
  void (*_Nonnull exp)(const float *_Nonnull x, float *_Nonnull y, long count);
  /// y[k] = e^x[k] in Double for x[k] ≤ 0 (larger x saturate at e^709), exactly 0 below
  /// −708.39 and for −∞, within a few ulp of libm's exp elsewhere; y may equal x.
  void (*_Nonnull exp_f64)(const double *_Nonnull x, double *_Nonnull y, long count);
  /// y[k] = (float)e^(x[k] − shift), e^ as exp_f64's: the same bits as exp_f64 of x[k] − shift
  /// rounded to float.
  void (*_Nonnull exp_shifted_f64_to_f32)(
    const double *_Nonnull x, double shift, float *_Nonnull y, long count);
  /// y[k] = σ(x[k]) = 1 / (1 + e^−x[k]), saturating to exact 0 and 1; y may equal x.
  void (*_Nonnull sigmoid)(const float *_Nonnull x, float *_Nonnull y, long count);
  /// y[k] = tanh(x[k]) = 1 − 2 / (e^2x[k] + 1), absolute error ~1e−7; y may equal x.
  void (*_Nonnull tanh)(const float *_Nonnull x, float *_Nonnull y, long count);
  /// One Viterbi step over the previous labels i = rows[0 ..< rowCount] (ascending), for
  /// every next label j < stride (a multiple of 16): best[j] = max_i delta[i] +
  /// transition[i·stride + j], pointers[j] = the lowest such argmax (−∞ and 0 when there is
  /// none). viterbi_live_rows lists the rows that can win.
  void (*_Nonnull viterbi_step)(
    const float *_Nonnull delta, const float *_Nonnull transition,
    const int32_t *_Nonnull rows, long rowCount, long stride, float *_Nonnull best,
    int32_t *_Nonnull pointers);
  /// The previous labels i < stride (a multiple of 16), ascending, into rows (room for
  /// `stride`), that can win some column of viterbi_step, and their count: delta[i] > −∞ and
  /// not delta[i] + rowMax[i] < floor = max_k delta[k] + rowMin[k]. rowMax[i] and rowMin[i]
  /// bound row i of the transitions over the columns (−∞ in padding rows), and rounding is
  /// monotonic, so every column's best is at least floor (row k's candidate, and row k
  /// lives), and a row left out scores below it in every column: the step's maxima and
  /// lowest argmaxes are those over every row with delta > −∞, bit for bit.
  long (*_Nonnull viterbi_live_rows)(
    const float *_Nonnull delta, long stride, const float *_Nonnull rowMax,
    const float *_Nonnull rowMin, int32_t *_Nonnull rows);
  /// The squares of `count` floats in Double, added to TRELLIS_SUM_OF_SQUARES_PARTIALS (P)
  /// partial sums: partial[i mod P] ← partial[i mod P] + values[i]² for i ascending (the squares exact: a float's 24-bit
  /// significand squared fits in Double's 53, so fused or not they round the same). The
  /// gradient's global norm (ParameterStore.gradientNorm), 32 chains of additions where one
  /// would wait for its last addition at every element.
  void (*_Nonnull sum_of_squares)(
    const float *_Nonnull values, long count, double *_Nonnull partial);
  /// Adam's update of `count` parameters (Optimizer.swift) along g = scale·gradient (one
  /// rounded product; `scale` is clipping's factor, 1 unclipped):
  ///   m ← β1·m + (1 − β1)·g,  v ← β2·v + ((1 − β2)·g)·g,  θ ← θ − (step·m) / (√v + ε)
  /// then gradient ← 0, ready for the next batch's backward passes to add to.
  void (*_Nonnull adam)(
    float *_Nonnull theta, float *_Nonnull gradient, float *_Nonnull m, float *_Nonnull v,
    long count, float beta1, float beta2, float epsilon, float step, float scale);
  /// Nadam's update (Dozat 2016): g, m, v and the gradient as Adam's, then
  ///   θ ← θ − (step·(momentum·m + current·g)) / (√v + ε)
  void (*_Nonnull nadam)(
    float *_Nonnull theta, float *_Nonnull gradient, float *_Nonnull m, float *_Nonnull v,
    long count, float beta1, float beta2, float epsilon, float step, float scale,
    float momentum, float current);
  /// c (rows, columns) = a (rows, depth) · Wᵀ for W (columns, depth) in panels
  /// (trellis_pack_panels): c[r·columns + j] = Σ_k a[r·depth + k] · W[j·depth + k], summed in
  /// k order from k = 0, each step fused or not as fuses_multiply_adds says. For tagging's
  /// recurrent step h_{s−1} · Whᵀ and output layer, whose W stays the same for many products
  /// and is packed once.
  void (*_Nonnull packed_product)(
    const float *_Nonnull a, long rows, long depth, const float *_Nonnull panels, long columns,
    float *_Nonnull c);
  /// c[r·columns + j] = c[r·columns + j] + packed_product's sum, with a read through strides:
  /// its element (r, k) at a[r·rowStride + k·depthStride] ((1, n) reads the transpose of a
  /// row-major (depth, n) matrix in place). Training's products that add to what is there:
  /// ∂h_{s−1} += ∂zh_s · Wh at each step, and the weight gradients ∂W += ∂Zᵀ · X.
  void (*_Nonnull packed_product_add)(
    const float *_Nonnull a, long rowStride, long depthStride, long rows, long depth,
    const float *_Nonnull panels, long columns, float *_Nonnull c);
  /// packed_product's sums over k = from ..< depth, started at c instead of 0: c[r·columns + j]
  /// ← c[r·columns + j] + Σ_k a[r·rowStride + k − from] · W[j·depth + k], each step in k order
  /// as packed_product takes it, so that a product begun elsewhere over k < from (into c)
  /// ends with packed_product's bits. Tagging's input projections when a table holds the word
  /// embedding's part of each (InputProjectionTables).
  void (*_Nonnull packed_product_continue)(
    const float *_Nonnull a, long rowStride, long rows, long from, long depth,
    const float *_Nonnull panels, long columns, float *_Nonnull c);
  /// packed_product in Double, over W packed in panels of 8 (trellis_pack_panels_f64), with a
  /// read through strides as packed_product_add reads it: the CRF's per-step products of its
  /// scaled forward and backward recursions, and its pairwise sums α̂ᵀ · g over all steps.
  void (*_Nonnull packed_product_f64)(
    const double *_Nonnull a, long rowStride, long depthStride, long rows, long depth,
    const double *_Nonnull panels, long columns, double *_Nonnull c);
  /// Dropout with SplitMix64 draws: for k < count, u_k is the next draw from *state as
  /// SplitMix64.nextUnitFloat() makes it (top 24 bits · 2^−24), mask[k] = u_k < rate ? 0 :
  /// scale and values[k] *= mask[k]; *state advances by `count` draws.
  void (*_Nonnull dropout)(
    float *_Nonnull values, float *_Nonnull mask, long count, float rate, float scale,
    uint64_t *_Nonnull state);
  /// One LSTM step's forward pass (LSTMCell in RecurrentCell.swift) on one row of `hidden`
  /// units: zx and zh (4·hidden, gate blocks i, f, g, o) and c_previous = c_{t−1} (hidden;
  /// NULL at the first step); out: gates (4·hidden) after their nonlinearities, c and h
  /// (hidden), with the sigmoid and tanh kernels' σ and tanh:
  ///   i = σ(zx + zh), f and o likewise, g = 2·σ((zx + zh)·2) − 1,
  ///   c = f·c_{t−1} + i·g (i·g at the first step),  h = o·tanh(c),
  /// each product rounded before the next operation.
  void (*_Nonnull lstm_forward)(
    const float *_Nonnull zx, const float *_Nonnull zh, const float *_Nullable c_previous,
    float *_Nonnull gates, float *_Nonnull c, float *_Nonnull h, long hidden);
  /// One LSTM step's backward pass (LSTMCell in RecurrentCell.swift) over `rows` rows of
  /// `hidden` units: gates (rows, 4·hidden) holding i, f, g, o after their nonlinearities,
  /// tanh_c = tanh(c_t) and c_previous = c_{t−1} (rows, hidden; NULL for zeros at the first
  /// step), dh (rows, hidden), carry (rows, hidden) in and out, dz (rows, 4·hidden) out:
  ///   dc = carry + (dh·o)·(1 − tc·tc),  carry ← dc·f,
  ///   dz_i = ((dc·g)·i)·(1 − i),  dz_f = ((dc·c_{t−1})·f)·(1 − f),
  ///   dz_g = (dc·i)·(1 − g·g),  dz_o = ((dh·tc)·o)·(1 − o),
  /// each product rounded before the next operation, in that order.
  void (*_Nonnull lstm_backward)(
    const float *_Nonnull gates, const float *_Nonnull tanh_c, const float *_Nullable c_previous,
    const float *_Nonnull dh, float *_Nonnull carry, float *_Nonnull dz, long rows,
    long hidden);
  /// One GRU step's backward pass (GRUCell in RecurrentCell.swift) over `rows` rows of
  /// `hidden` units: gates (rows, 3·hidden) holding r, u, n, zh_n (rows, hidden) the recurrent
  /// projection of n's block, h_previous (rows, hidden; NULL for zeros at the first step), dh
  /// (rows, hidden); out: dh_previous_direct (rows, hidden), dzx and dzh (rows, 3·hidden):
  ///   dn = dh·(1 − u),  du = dh·(h_{t−1} − n),  dh_previous_direct = dh·u,
  ///   dan = dn·(1 − n·n),  dar = ((dan·zh_n)·r)·(1 − r),  dau = (du·u)·(1 − u),
  ///   dzx = [dar, dau, dan],  dzh = [dar, dau, dan·r].
  void (*_Nonnull gru_backward)(
    const float *_Nonnull gates, const float *_Nonnull zh_n, const float *_Nullable h_previous,
    const float *_Nonnull dh, float *_Nonnull dh_previous_direct, float *_Nonnull dzx,
    float *_Nonnull dzh, long rows, long hidden);
} trellis_kernels;

/// The floats trellis_pack_panels writes for a (columns, depth) matrix: ⌈columns/16⌉·16·depth.
long trellis_panels_size(long columns, long depth);

/// Packs W (columns, depth), row-major, into panels of 16 columns for packed_product: panel p
/// holds W's rows 16p ..< 16p + 16 transposed, panels[(p·depth + k)·16 + l] = W[16p + l][k]
/// (0 past the last row), so each step of the product's k loop reads 16 consecutive floats.
void trellis_pack_panels(
  const float *_Nonnull w, long columns, long depth, float *_Nonnull panels);

/// Packs W (columns, depth) given as its transpose w = Wᵀ (depth, columns), row-major, into
/// trellis_pack_panels's layout: panels[(p·depth + k)·16 + l] = w[k][16p + l], so
/// packed_product forms a · w without transposing w first (training's ∂h_{s−1} = ∂zh_s · Wh).
void trellis_pack_panels_transposed(
  const float *_Nonnull w, long depth, long columns, float *_Nonnull panels);

/// The same three for Double, in panels of 8 columns (packed_product_f64).
long trellis_panels_size_f64(long columns, long depth);
void trellis_pack_panels_f64(
  const double *_Nonnull w, long columns, long depth, double *_Nonnull panels);
void trellis_pack_panels_transposed_f64(
  const double *_Nonnull w, long depth, long columns, double *_Nonnull panels);

/// The rest of a Viterbi step whose dense columns viterbi_step computed into denseBest and
/// densePointers (column c is label denseLabels[c]): copies them to best and pointers at their
/// labels, then for each sparse column s (label sparseLabels[s]) maximises over its allowed
/// previous labels i = sparsePrevious[k], k in [sparseStarts[s], sparseStarts[s + 1]),
/// ascending, the candidates delta[i] + sparseScores[k] with delta[i] > −∞, strictly greater
/// winning: viterbi_step's comparisons without the −∞ transitions, so the same bits.
void trellis_viterbi_sparse_step(
  const float *_Nonnull delta, long denseCount, const int32_t *_Nonnull denseLabels,
  const float *_Nonnull denseBest, const int32_t *_Nonnull densePointers, long sparseCount,
  const int32_t *_Nonnull sparseLabels, const int32_t *_Nonnull sparseStarts,
  const int32_t *_Nonnull sparsePrevious, const float *_Nonnull sparseScores,
  float *_Nonnull best, int32_t *_Nonnull pointers);

/// The highest level this CPU and operating system support (cpuid and xgetbv, through the
/// compiler's __builtin_cpu_supports); TRELLIS_KERNELS_PORTABLE off x86-64.
trellis_kernel_level trellis_kernels_supported_level(void);

/// The kernels of `level`, which must not exceed trellis_kernels_supported_level().
const trellis_kernels *_Nonnull trellis_kernels_for_level(trellis_kernel_level level);

/// Tells the CPU that the caller is in a spin-wait loop (x86's PAUSE): the loop then yields
/// execution resources to the other hardware thread and leaves it without a memory-order
/// mis-speculation. Nothing on other CPUs.
void trellis_spin_pause(void);

/// The CPUs in the calling thread's affinity mask (sched_getaffinity); 0 where it is unknown
/// (off Linux, or a mask larger than glibc's cpu_set_t of 1,024 CPUs).
long trellis_affinity_core_count(void);

/// Whether the process can open the three file descriptors libdispatch makes as it starts: each
/// is opened (as an epoll instance, one of the kinds it makes) and closed again. 1 off Linux.
int trellis_dispatch_descriptors_available(void);

/// Sets glibc's malloc thresholds for mapping a block and for trimming a heap where glibc's own
/// raising of them ends (allocator.c), instead of at their 128 KiB start. Process-wide;
/// nothing off glibc.
void trellis_reuse_large_freed_blocks(void);

/// At most `count` malloc arenas (glibc's M_ARENA_MAX; its default is 8 a core): each reserves
/// 64 MiB of address space, and holds what its threads freed. Process-wide; nothing off glibc.
void trellis_limit_malloc_arenas(int count);

/// Gives the free memory of every malloc arena back to the system (glibc's malloc_trim(0)):
/// the pages of freed blocks, wherever they lie in the heaps. Nothing off glibc.
void trellis_release_free_memory(void);

/// Whether the system gives a block of `count` elements of `size` bytes now (calloc'd and
/// freed at once; never touched, so no page of it becomes resident). An optimiser removes
/// such a pair written in Swift, which then asked for nothing.
int trellis_can_allocate(size_t count, size_t size);

#ifdef __cplusplus
}
#endif

#endif
