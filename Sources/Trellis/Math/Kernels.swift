import Foundation
import TrellisKernels

/// The instruction-set level of the vector kernels (Sources/TrellisKernels): exp, σ and tanh
/// of the recurrent cells and the character CNN, tagging's packed product (the recurrent step
/// and the output layer), Viterbi's max-plus step, the gradient norm's sums of squares, Adam's
/// update and dropout's masks. Each is compiled for every level and one level is chosen per
/// process, so a plain `swift build -c release` runs them as fast as a build for this CPU.
/// Every level computes the same IEEE operations in the same order, except that the packed
/// products' steps and exp's multiply-adds are fused at the levels whose CPUs have FMA
/// (`fusesMultiplyAdds`): levels that agree on it give bit-identical results, and the others
/// the same labels with numbers that differ in their last bits (KernelLevelTests,
/// KernelChoiceTests).
enum KernelLevel: Int, CaseIterable, Comparable, Sendable {
  /// SSE2 on x86-64, the architecture's baseline elsewhere.
  case portable
  /// 256-bit AVX2 with FMA (Haswell and later, AMD Zen).
  case avx2
  /// 512-bit AVX-512 F/DQ/BW/VL (Skylake-X and later, AMD Zen 4 and later).
  case avx512

  /// The name `TRELLIS_KERNELS` takes and `trellis bench` prints.
  var name: String { ["portable", "avx2", "avx512"][rawValue] }

  static func < (a: KernelLevel, b: KernelLevel) -> Bool { a.rawValue < b.rawValue }

  /// The highest level this CPU and operating system support.
  static let supported = KernelLevel(rawValue: Int(trellis_kernels_supported_level().rawValue))!

  /// The level of every kernel call in this process: `chosen(environment:supported:)` from the
  /// process's environment, read once.
  static let active = chosen(
    environment: ProcessInfo.processInfo.environment, supported: supported)

  /// `supported`, or the lower level the variable `TRELLIS_KERNELS` names (portable, avx2 or
  /// avx512; to compare levels on one machine). A level above `supported`, or an unknown name,
  /// leaves `supported`: a run never faults on an instruction its CPU lacks.
  static func chosen(environment: [String: String], supported: KernelLevel) -> KernelLevel {
    guard let level = allCases.first(where: { $0.name == environment["TRELLIS_KERNELS"] }),
      level <= supported
    else { return supported }
    return level
  }

  /// Whether this level's packed products and exp fuse each multiply-add (rounded once): AVX2
  /// and AVX-512 do; the portable level does where the architecture's baseline has FMA (64-bit
  /// ARM), not on x86-64 (SSE2).
  var fusesMultiplyAdds: Bool { kernels.fuses_multiply_adds }

  /// This level's kernels; the CPU must support the level.
  var kernels: trellis_kernels {
    trellis_kernels_for_level(trellis_kernel_level(rawValue: UInt32(rawValue))).pointee
  }
}

/// The kernels of `KernelLevel.active`.
let kernels = KernelLevel.active.kernels

/// The level of the vector kernels this process runs: "avx512", "avx2" or "portable" (SSE2),
/// chosen from the CPU's features; the environment variable `TRELLIS_KERNELS` can name a
/// lower one. For benchmark reports; levels give the same results up to the rounding of the
/// multiply-adds (`KernelLevel.fusesMultiplyAdds`).
public func vectorKernelLevel() -> String { KernelLevel.active.name }

/// c `(rows, columns)` = a `(rows, depth)` · Wᵀ for W `(columns, depth)` packed by
/// `trellis_pack_panels`: each element summed in k order, each step a fused multiply-add or not
/// as the level says (`KernelLevel.fusesMultiplyAdds`), so the same bits at every level that
/// agrees on it (not OpenBLAS's bits: it orders its sums differently).
func packedProduct(
  _ a: UnsafePointer<Float>, rows: Int, depth: Int, panels: UnsafePointer<Float>, columns: Int,
  into c: UnsafeMutablePointer<Float>
) {
  kernels.packed_product(a, rows, depth, panels, columns, c)
}

/// c `(rows, columns)` ← `packedProduct`'s sums over k = `from` ..< `depth` started at c, A
/// `(rows, depth − from)` read with row stride `rowStride`: where c holds the sums over k <
/// `from` (a table's, `InputProjectionTables`), the bits of the whole product.
func continuePackedProduct(
  _ a: UnsafePointer<Float>, rowStride: Int, rows: Int, from: Int, depth: Int,
  panels: UnsafePointer<Float>, columns: Int, into c: UnsafeMutablePointer<Float>
) {
  kernels.packed_product_continue(a, rowStride, rows, from, depth, panels, columns, c)
}

/// Rows of a product that one thread takes at a time when the two threads share it
/// (`ThreadPair.forEach`, `ThreadPair.share`): a few of the kernels' tiles (6 rows at AVX2,
/// whose last tiles even out as 6, 6, 6, 5, 5, 4; 8 at AVX-512); at the default sizes a BiLSTM
/// batch of 32 sentences of 12 tokens makes 24 such chunks of input projections and 76 of the
/// products after the backward steps, of about 2.5 MFLOP each, so the thread that is ahead
/// fills the other's lag with them. 16 and 64 rows ran a one-epoch ATIS training at 0.989 and
/// 1.016 of the speed on a Zen 2 (`ROUNDS=16 scripts/pair-training.sh`, Eval/SPEED.md
/// "Session 47"): within that machine's noise, so 32 stays.
let productChunkRows = 32

/// `0..<rows` cut into chunks of `productChunkRows`.
func productChunks(of rows: Int) -> [Range<Int>] {
  stride(from: 0, to: rows, by: productChunkRows).map { $0..<min($0 + productChunkRows, rows) }
}

/// Whether a product's first operand is read as stored or as the transpose of what is stored
/// (`addPackedProduct`, the Double `packedProduct`).
enum Transpose {
  case none, transposed
}

/// c `(rows, columns)` += A `(rows, depth)` · Wᵀ for W packed by `packPanels`, with A read from
/// `a` as stored (row-major), or `.transposed` as the transpose of a row-major `(depth, rows)`
/// matrix in place (a weight gradient's ∂Zᵀ · X without a transposed copy of ∂Z). The sum is
/// `packedProduct`'s, added to c's element once it is complete. `rowRange` limits the work to
/// those rows of c (each row's bits are the same whichever rows a call covers).
func addPackedProduct(
  _ a: UnsafePointer<Float>, _ layout: Transpose, rows: Int, depth: Int,
  panels: UnsafePointer<Float>, columns: Int, to c: UnsafeMutablePointer<Float>,
  rowRange: Range<Int>? = nil
) {
  let range = rowRange ?? 0..<rows
  let (rowStride, depthStride) = layout == .none ? (depth, 1) : (1, rows)
  kernels.packed_product_add(
    a + range.lowerBound * rowStride, rowStride, depthStride, range.count, depth, panels, columns,
    c + range.lowerBound * columns)
}

/// `w` packed into `buffer` for the `packedProduct` of `depth` and `columns`; returns the
/// panels. `w` is W `(columns, depth)` row-major, for `a · Wᵀ`, or, `transposed`, `(depth,
/// columns)`, for `a · w` (`trellis_pack_panels_transposed`).
func packPanels(
  _ w: UnsafePointer<Float>, columns: Int, depth: Int, transposed: Bool = false,
  into buffer: Scratch
) -> UnsafeMutablePointer<Float> {
  let panels = buffer.reserve(panelsSize(columns: columns, depth: depth))
  packPanels(w, columns: columns, depth: depth, transposed: transposed, at: panels)
  return panels
}

/// `packPanels` into `panels`, which holds `panelsSize(columns:depth:)` Floats.
func packPanels(
  _ w: UnsafePointer<Float>, columns: Int, depth: Int, transposed: Bool = false,
  at panels: UnsafeMutablePointer<Float>
) {
  if transposed {
    trellis_pack_panels_transposed(w, depth, columns, panels)
  } else {
    trellis_pack_panels(w, columns, depth, panels)
  }
}

/// Floats of the panels `packPanels` makes for `columns` and `depth`.
func panelsSize(columns: Int, depth: Int) -> Int { trellis_panels_size(columns, depth) }

/// c `(rows, columns)` = A `(rows, depth)` · Wᵀ in Double, W `(columns, depth)` given as
/// `panels` from `doublePanels`, each element summed in k order as the Float product sums;
/// A read from `a` as stored, or `.transposed` from a row-major `(depth, rows)` matrix in place.
func packedProduct(
  _ a: UnsafePointer<Double>, _ layout: Transpose = .none, rows: Int, depth: Int,
  panels: UnsafePointer<Double>, columns: Int, into c: UnsafeMutablePointer<Double>
) {
  let (rowStride, depthStride) = layout == .none ? (depth, 1) : (1, rows)
  kernels.packed_product_f64(a, rowStride, depthStride, rows, depth, panels, columns, c)
}

/// `w` packed for the Double `packedProduct` of `depth` and `columns`, as `packPanels` packs
/// Floats: `w` is W `(columns, depth)` row-major, for `a · Wᵀ`, or, `transposed`, `(depth,
/// columns)`, for `a · w`.
func doublePanels(
  _ w: UnsafePointer<Double>, columns: Int, depth: Int, transposed: Bool = false
) -> [Double] {
  [Double](unsafeUninitializedCapacity: trellis_panels_size_f64(columns, depth)) {
    buffer, initialized in
    if transposed {
      trellis_pack_panels_transposed_f64(w, depth, columns, buffer.baseAddress!)
    } else {
      trellis_pack_panels_f64(w, columns, depth, buffer.baseAddress!)
    }
    initialized = buffer.count
  }
}

/// y = e^x for `count` Doubles ≤ 0 (y may equal x): exactly 0 for −∞ and below −708.39,
/// within a few ulp of `Foundation.exp` elsewhere, the same bits at every level.
func exponentials(_ x: UnsafePointer<Double>, into y: UnsafeMutablePointer<Double>, count: Int) {
  kernels.exp_f64(x, y, count)
}

/// y = σ(x) for `count` Floats (y may equal x): 1 / (1 + e^−x), saturating to exact 0 and 1.
func sigmoid(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, count: Int) {
  kernels.sigmoid(x, y, count)
}

/// y = tanh(x) for `count` Floats (y may equal x), absolute error ~1e−7, saturating to ±1.
func tanh(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, count: Int) {
  kernels.tanh(x, y, count)
}
