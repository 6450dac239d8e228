import Foundation
import TrellisKernels

/// A named block of the parameter slab: `rows × columns` Floats starting at `offset`.
struct ParameterSlot: Codable, Equatable, Sendable {
  var name: String
  var offset: Int
  var rows: Int
  var columns: Int
  var count: Int { rows * columns }
}

/// Every trainable scalar of a model in one contiguous slab, with a gradient slab that mirrors it
/// offset for offset (llm.c's layout): the optimiser, clipping, averaging and the model file each
/// become one loop over `count` Floats, and a layer's weights are a slot, not an object.
///
/// Public for its size (`count`); the layout and the slabs are the library's own.
package final class ParameterStore: @unchecked Sendable {
  private(set) var slots: [ParameterSlot] = []
  /// Changes whenever the values change through `didChangeValues()` (optimiser steps,
  /// `restore`), so tables derived from them (the Viterbi decoder) know when to rebuild.
  /// Code that writes `values` directly must call `didChangeValues()`.
  private(set) var version = 0
  /// The number of trainable scalars: the length of the value and gradient slabs.
  package private(set) var count = 0
  /// The parameters, `count` Floats.
  private(set) var values: UnsafeMutablePointer<Float>
  /// ∂loss/∂parameters, `count` Floats, accumulated by backward passes and zeroed once per step.
  private(set) var gradients: UnsafeMutablePointer<Float>

  /// Builds the layout first; storage is allocated by `allocate()` once every slot is reserved.
  init() {
    // One Float each, which calloc does not refuse.
    values = Self.zeroedSlab(1)!
    gradients = Self.zeroedSlab(1)!
  }

  deinit {
    free(values)
    free(gradients)
  }

  /// Reserves a `rows × columns` block and returns its slot (values not yet allocated).
  func reserve(_ name: String, rows: Int, columns: Int) -> ParameterSlot {
    precondition(!slots.contains { $0.name == name }, "duplicate parameter \(name)")
    let slot = ParameterSlot(name: name, offset: count, rows: rows, columns: columns)
    slots.append(slot)
    count += slot.count
    return slot
  }

  /// Allocates zeroed values and gradients for every reserved slot; throws
  /// `AllocationFailure` when the system refuses the memory (a model file whose layout asks
  /// for more than the machine has), leaving the store as it was.
  func allocate() throws {
    guard let newValues = Self.zeroedSlab(count) else { throw AllocationFailure(count: count) }
    guard let newGradients = Self.zeroedSlab(count) else {
      free(newValues)
      throw AllocationFailure(count: count)
    }
    free(values)
    free(gradients)
    (values, gradients) = (newValues, newGradients)
  }

  /// The system refused the slabs of `count` parameters (values and gradients, 8 bytes each).
  struct AllocationFailure: Error {
    let count: Int
    /// The memory asked for, in whole MB, for messages.
    var megabytes: Int { count / (1 << 17) + 1 }
  }

  /// `count` (at least one) zeroed Floats from `calloc`, which takes a block mapped fresh from
  /// the system (past glibc's mapping threshold, 32 MB where `reuseLargeFreedBlocks()` set it)
  /// as the zeros it already is instead of writing them: a model read from a file writes its
  /// values once, and a process that only tags never touches its gradients, whose pages never
  /// become resident (40 MB for a model of 10 M parameters). A smaller block from a thread's
  /// arena glibc clears, as the loop this replaced did.
  private static func zeroedSlab(_ count: Int) -> UnsafeMutablePointer<Float>? {
    let floats = max(count, 1)
    guard let slab = calloc(floats, MemoryLayout<Float>.stride) else { return nil }
    return slab.bindMemory(to: Float.self, capacity: floats)
  }

  /// Whether the system gives `floats` Floats now (`trellis_can_allocate`): for memory that
  /// arrays, whose allocation cannot fail but by ending the process, take later.
  static func canAllocate(floats: Int) -> Bool {
    trellis_can_allocate(floats, MemoryLayout<Float>.stride) != 0
  }

  @inline(__always) func value(_ slot: ParameterSlot) -> UnsafeMutablePointer<Float> {
    values + slot.offset
  }

  @inline(__always) func gradient(_ slot: ParameterSlot) -> UnsafeMutablePointer<Float> {
    gradients + slot.offset
  }

  /// Marks the values as changed (bumps `version`); see `version` for who must call it.
  func didChangeValues() { version &+= 1 }

  /// Sets every gradient to zero, once per step before the backward passes add to them.
  func zeroGradients() {
    zeroGradients(in: [0..<count])
  }

  /// Sets the gradients in `ranges` to zero: those a step's backward passes can write, when
  /// the rest are zero already (`TrainingRun.updatedRanges`).
  func zeroGradients(in ranges: [Range<Int>]) {
    inParts(of: ranges) { range in
      (gradients + range.lowerBound).update(repeating: 0, count: range.count)
    }
  }

  /// Runs `body` over the slab's indices in halves on the thread pair (cut where
  /// `ThreadPair.inHalves` cuts), or on the calling thread when the slab is too small to be
  /// worth a second thread. For elementwise passes only (zeroing, the optimiser's update).
  func inParts(_ body: (Range<Int>) -> Void) {
    inParts(of: [0..<count], body)
  }

  /// `inParts` over the indices of `ranges` (ascending, disjoint) alone: each half of their
  /// total count (`secondPartStart`), cut into its pieces of the ranges.
  func inParts(of ranges: [Range<Int>], _ body: (Range<Int>) -> Void) {
    guard let start = secondPartStart(of: ranges) else {
      for range in ranges where !range.isEmpty { body(range) }
      return
    }
    ThreadPair.shared.run { thread in
      let part = Self.half(onThread: thread) == 0 ? 0..<start : start..<count
      for range in ranges {
        let piece = range.clamped(to: part)
        if !piece.isEmpty { body(piece) }
      }
    }
  }

  /// Below this many values an elementwise pass (zeroing, Adam, dropout masks) stays on one
  /// thread, where handing half to the pair would cost about as much as it saves. From
  /// 65,536, a training batch's input dropout mask (T·B rows of 100) ran on one thread: 0.7%
  /// of the calling thread's samples in a training profile, with the other waiting.
  static let countWorthTwoThreads = 16_384

  /// Which half of the slab (0: the indices before `secondPartStart`) thread `thread` of the
  /// pair (0: the calling thread) takes in the passes over it. The first half, the embeddings
  /// and then the left-to-right direction's weights, goes to the second thread, which runs
  /// that direction's steps (`Encoder`): so each direction's weights, gradients and moments
  /// stay in the caches of the core that reads and writes them. Where a virtual machine's two
  /// CPUs share no cache (a cache line's round trip of 366–490 ns, `scripts/core-round-trip.c`),
  /// one-epoch ATIS trainings ran 1.05× as fast as with the halves the other way round (1.04×
  /// with character features), and as fast where they share one, with the same bits
  /// (`scripts/pair-training.sh`, Eval/SPEED.md "Session 53").
  static func half(onThread thread: Int) -> Int { 1 - thread }

  /// The index where `inParts(of: ranges)` starts the slab's second half, nil when it runs
  /// all of them on the calling thread.
  func secondPartStart(of ranges: [Range<Int>]) -> Int? {
    let total = ranges.reduce(0) { $0 + $1.count }
    guard var position = ThreadPair.secondHalfStart(of: total, from: Self.countWorthTwoThreads)
    else { return nil }
    for range in ranges {
      if position < range.count { return range.lowerBound + position }
      position -= range.count
    }
    preconditionFailure("the second part starts within the ranges")
  }

  /// The Euclidean norm of the whole gradient: `gradientNorm(over:)` of every index.
  func gradientNorm() -> Double {
    gradientNorm(over: [0..<count])
  }

  /// The partial sums each half of `gradientNorm` adds into (the kernel's).
  static let partialSums = Int(TRELLIS_SUM_OF_SQUARES_PARTIALS)

  /// The Euclidean norm of the gradient when it is zero outside `ranges` (ascending,
  /// disjoint; `TrainingRun.updatedRanges`), summed in Double in two halves, one on each
  /// thread of the pair: the first the elements before `cut`, where `inParts(of: ranges)`
  /// starts its second part rounded down to a multiple of P = `partialSums` (the end when it
  /// has none), the second the rest. Each half adds its element i to its partial sum i mod P in
  /// ascending order (the `sum_of_squares` kernel), skipping the blocks of P that meet no range (a
  /// skipped block would add +0 to each); then the square of the norm is the sum over j
  /// ascending of (first's j + second's j). So the same bits on every run and at every kernel
  /// level, and P independent chains of additions in each half.
  /// Each thread then updates (`inParts`) the part of the gradient it has just read. Summed on
  /// the calling thread alone, the norm took 0.4–1.0% of its samples in a profile of ATIS
  /// epochs at the AVX2 level, the other thread idle (`Eval/SPEED.md` "Session 33").
  func gradientNorm(over ranges: [Range<Int>]) -> Double {
    let P = Self.partialSums
    // The spans of whole blocks of P that meet `ranges`, ascending, each block once (the
    // last block of the slab may be short).
    var spans: [Range<Int>] = []
    for range in ranges {
      let lower = max(range.lowerBound / P * P, spans.last?.upperBound ?? 0)
      let upper = min((range.upperBound + P - 1) / P * P, count)
      if lower < upper { spans.append(lower..<upper) }
    }
    let cut = secondPartStart(of: ranges).map { $0 / P * P } ?? count
    let gradients = UnsafePointer(self.gradients)
    return withUnsafeTemporaryAllocation(of: Double.self, capacity: 2 * P) { partialSums in
      // Half h's partial sums are partialSums[P·h ..< P·h + P].
      let sums = partialSums.baseAddress!
      sums.initialize(repeating: 0, count: 2 * P)
      func addSquares(half: Int) {
        for span in spans {
          let piece = span.clamped(to: half == 0 ? 0..<cut : cut..<count)
          if !piece.isEmpty {
            kernels.sum_of_squares(gradients + piece.lowerBound, piece.count, sums + P * half)
          }
        }
      }
      if cut < count {
        ThreadPair.shared.run { addSquares(half: Self.half(onThread: $0)) }
      } else {
        addSquares(half: 0)
      }
      var square = 0.0
      for j in 0..<P { square += sums[j] + sums[P + j] }
      return square.squareRoot()
    }
  }

  /// True when every value is finite (a model with a NaN weight is never written).
  func valuesAreFinite() -> Bool {
    for i in 0..<count where !values[i].isFinite { return false }
    return true
  }

  /// A copy of the values, e.g. the best-dev-F1 snapshot.
  func snapshot() -> [Float] { Array(UnsafeBufferPointer(start: values, count: count)) }

  /// Puts back the values of `snapshot`, which must come from a store of the same layout.
  func restore(_ snapshot: [Float]) {
    precondition(snapshot.count == count, "snapshot has \(snapshot.count) values, store \(count)")
    snapshot.withUnsafeBufferPointer { values.update(from: $0.baseAddress!, count: count) }
    didChangeValues()
  }
}
