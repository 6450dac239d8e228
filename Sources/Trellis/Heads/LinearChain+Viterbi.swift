import Foundation
import TrellisKernels

// Legend and score s(y): see LinearChain.swift.

extension LinearChain {
  /// Chain scores in the form the vectorised Viterbi reads them: Float, forbidden and padding
  /// entries −∞; built once per parameter version for tagging (DecoderCache), once per batch
  /// by the perceptron's and SSVM's training losses. Labels with at most
  /// `sparseLimit` allowed previous labels (under BIO every I-X, after B-X and I-X only) are
  /// sparse columns, maximised over those labels alone; the others are dense columns, which
  /// the 16-lane kernel maximises over every previous label.
  struct DecodingScores: Sendable {
    /// Labels with at most this many allowed previous labels are sparse columns: a dense column
    /// costs the kernel about L/16 vector steps, a sparse one a scalar step per previous label.
    static let sparseLimit = 4

    let labelCount: Int
    /// `L` rounded up to whole 16-lane vectors: the length of δ and of a row of ψ.
    let stride: Int
    /// The dense columns' labels, ascending.
    var denseLabels: [Int32] = []
    /// `denseLabels.count` rounded up to whole 16-lane vectors.
    var denseStride = 0
    /// `(L, denseStride)`: `transition[i·denseStride + c]` scores previous label i before
    /// label `denseLabels[c]`; padding columns −∞.
    var transition: [Float] = []
    /// Sparse column s is label `sparseLabels[s]`; its allowed previous labels, ascending, are
    /// `sparsePrevious[sparseStarts[s] ..< sparseStarts[s + 1]]`, with their transition scores
    /// at the same positions of `sparseScores`.
    var sparseLabels: [Int32] = []
    var sparseStarts: [Int32] = [0]
    var sparsePrevious: [Int32] = []
    var sparseScores: [Float] = []
    /// `(stride)`: the highest and lowest of row i of `transition` over the dense columns
    /// (−∞ past L), which let a step leave out the previous labels that cannot win
    /// (the `viterbi_live_rows` kernel).
    var rowMax: [Float] = []
    var rowMin: [Float] = []
    var start: [Float]  // (stride)
    var end: [Float]  // (stride)
  }

  /// The arrays of `DecodingScores` that each Viterbi step hands the kernels.
  struct ColumnPointers {
    let transition: UnsafePointer<Float>
    let denseLabels: UnsafePointer<Int32>
    let sparseLabels: UnsafePointer<Int32>
    let sparseStarts: UnsafePointer<Int32>
    let sparsePrevious: UnsafePointer<Int32>
    let sparseScores: UnsafePointer<Float>
    let rowMax: UnsafePointer<Float>
    let rowMin: UnsafePointer<Float>
  }

  /// `sparseLimit` 0 makes every column dense (the tests compare both layouts).
  func decodingScores(
    parameters θ: UnsafeBufferPointer<Float>, constraints: TransitionConstraints? = nil,
    sparseLimit: Int = DecodingScores.sparseLimit
  ) -> DecodingScores {
    let L = labelCount
    let stride = (L + 15) / 16 * 16
    var scores = DecodingScores(
      labelCount: L, stride: stride,
      start: [Float](repeating: -.infinity, count: stride),
      end: [Float](repeating: -.infinity, count: stride))
    let masked = maskedScores(parameters: θ, constraints: constraints)
    for j in 0..<L {
      // Counted without an array: the perceptron's and SSVM's losses build these scores per
      // batch, where every column is dense.
      let previous = (0..<L).lazy.filter { masked.transition[$0 * L + j] > -.infinity }
      if previous.count <= sparseLimit {
        scores.sparseLabels.append(Int32(j))
        scores.sparsePrevious += previous.map(Int32.init)
        scores.sparseScores += previous.map { Float(masked.transition[$0 * L + j]) }
        scores.sparseStarts.append(Int32(scores.sparsePrevious.count))
      } else {
        scores.denseLabels.append(Int32(j))
      }
    }
    scores.denseStride = (scores.denseLabels.count + 15) / 16 * 16
    scores.transition = [Float](repeating: -.infinity, count: L * scores.denseStride)
    for i in 0..<L {
      for (c, j) in scores.denseLabels.enumerated() {
        scores.transition[i * scores.denseStride + c] = Float(masked.transition[i * L + Int(j)])
      }
      let row = scores.transition[(i * scores.denseStride)...].prefix(scores.denseLabels.count)
      scores.rowMax.append(row.max() ?? -.infinity)
      scores.rowMin.append(row.min() ?? -.infinity)
    }
    scores.rowMax += repeatElement(-.infinity, count: stride - L)
    scores.rowMin += repeatElement(-.infinity, count: stride - L)
    for j in 0..<L {
      scores.start[j] = Float(masked.start[j])
      scores.end[j] = Float(masked.end[j])
    }
    return scores
  }

  /// The highest-scoring path, with its score recomputed exactly in Double (plus the cost, when
  /// cost-augmented): the vectorised Viterbi below, which the tests check against a plain
  /// Double reference (`referenceViterbi`).
  func viterbi(
    emissions e: MatrixView, parameters θ: UnsafeBufferPointer<Float>,
    constraints: TransitionConstraints? = nil,
    costAugmentation: (gold: [Int], weight: Double)? = nil
  ) -> (path: [Int], score: Double) {
    let path = viterbi(
      emissions: e, scores: decodingScores(parameters: θ, constraints: constraints),
      costAugmentation: costAugmentation)
    var total = score(of: path, emissions: e, parameters: θ)
    if let (gold, weight) = costAugmentation {
      total += weight * Double(hammingDistance(path, gold))
    }
    return (path, total)
  }

  /// Viterbi:
  ///   δ[0][j] = start[j] + ê[0][j]
  ///   δ[t][j] = ê[t][j] + max_i (δ[t−1][i] + trans[i][j]),   ψ[t][j] = argmax_i
  ///   best = max_j δ[T−1][j] + end[j], then follow ψ back.
  /// With `costAugmentation = (gold, weight)`, ê[t][j] = e[t][j] + weight·[j ≠ gold_t]: the
  /// Hamming cost decomposes over tokens, so loss-augmented inference is the same DP on shifted
  /// emissions. In Float, dense columns 16 labels per vector
  /// step (the `viterbi_step` kernel of TrellisKernels, one call per t): for each previous
  /// label i, `candidate = δ[t−1][i] + trans[i][·]` is compared with the running best of 16
  /// next labels at once, and a mask updates both the best score and its argmax. Sparse
  /// columns run the same comparisons in scalar code over their allowed previous labels only;
  /// the others' candidates are −∞, which never beat the running best, so both layouts give
  /// the same bits. i ascends and the comparison is strict, so ties go to the lowest label id,
  /// as in the tests' reference. ATIS's 120 BIO labels make 80 dense columns (5 vectors per
  /// (t, i), one pass at AVX-512) and 40 sparse ones (its I- labels, 2 scalar steps each per t).
  /// The dense columns' passes skip the previous labels i whose best transition cannot lift
  /// δ[t−1][i] to the highest of the rows' worst, max_k δ[t−1][k] + min_c trans[k][c]
  /// (the `viterbi_live_rows` kernel): a trained tagger's δ puts a few labels far ahead, so most
  /// rows drop out, and the results keep their bits.
  func viterbi(
    emissions e: MatrixView, scores: DecodingScores,
    costAugmentation: (gold: [Int], weight: Double)? = nil
  ) -> [Int] {
    var buffers = ViterbiBuffers()
    return viterbi(
      emissions: e, scores: scores, costAugmentation: costAugmentation, buffers: &buffers)
  }

  /// The arrays of `viterbi`, kept from one sentence to the next of a batch: allocating them
  /// per sentence was a tenth of decoding's time outside the kernels. `scores` holds δ[t−1]
  /// (stride), the step's best (stride) and the dense columns' best (denseStride); `indices`
  /// holds ψ (T, stride), the dense columns' argmax (denseStride) and the live rows (stride).
  struct ViterbiBuffers {
    fileprivate var scores: [Float] = []
    fileprivate var indices: [Int32] = []
  }

  /// `viterbi(emissions:scores:costAugmentation:)` with arrays kept in `buffers`.
  func viterbi(
    emissions e: MatrixView, scores: DecodingScores,
    costAugmentation: (gold: [Int], weight: Double)? = nil, buffers: inout ViterbiBuffers
  ) -> [Int] {
    let T = e.rows
    let L = labelCount
    let stride = scores.stride
    let denseStride = scores.denseStride
    guard T > 0 else { return [] }
    // Refilled as new arrays would be (−∞ scores, zero pointers), without allocating.
    buffers.scores.removeAll(keepingCapacity: true)
    buffers.scores.append(contentsOf: repeatElement(-.infinity, count: 2 * stride + denseStride))
    buffers.indices.removeAll(keepingCapacity: true)
    buffers.indices.append(contentsOf: repeatElement(0, count: T * stride + denseStride + stride))
    let allDense = scores.denseLabels.count == L
    // The kernels' arrays as pointers taken once per sentence: passed as arrays, every step
    // retained and released each of them, atomic operations that cost more than the scalar
    // steps they fed.
    return scores.withColumnPointers { columns in
      buffers.scores.withUnsafeMutableBufferPointer { floats in
        buffers.indices.withUnsafeMutableBufferPointer { indices in
          let delta = floats.baseAddress!
          let best = delta + stride
          let denseBest = best + stride
          let backPointer = indices.baseAddress!
          let densePointer = backPointer + T * stride
          let rows = densePointer + denseStride
          // One step: best[j], ψ[t][j] = max, argmax over i of δ[t−1][i] + trans[i][j], over
          // the previous labels that can win a dense column.
          func step(_ pointers: UnsafeMutablePointer<Int32>) {
            let rowCount = kernels.viterbi_live_rows(
              delta, stride, columns.rowMax, columns.rowMin, rows)
            guard !allDense else {
              return kernels.viterbi_step(
                delta, columns.transition, rows, rowCount, stride, best, pointers)
            }
            kernels.viterbi_step(
              delta, columns.transition, rows, rowCount, denseStride, denseBest, densePointer)
            trellis_viterbi_sparse_step(
              delta, scores.denseLabels.count, columns.denseLabels, denseBest, densePointer,
              scores.sparseLabels.count, columns.sparseLabels, columns.sparseStarts,
              columns.sparsePrevious, columns.sparseScores, best, pointers)
          }
          for j in 0..<stride { delta[j] = scores.start[j] }
          addEmissions(e, 0, costAugmentation, to: delta)
          for t in 1..<T {
            step(backPointer + t * stride)
            addEmissions(e, t, costAugmentation, to: best)
            Self.advance(
              best, into: delta, labels: L, stride: stride, shifting: t % Self.shiftInterval == 0)
          }
          return Self.backtrack(
            delta: delta, end: scores.end, backPointer: backPointer, labels: L, steps: T,
            stride: stride)
        }
      }
    }
  }

  /// row += emissions of step t, plus `weight` for every label but the gold one when
  /// cost-augmented.
  private func addEmissions(
    _ e: MatrixView, _ t: Int, _ costAugmentation: (gold: [Int], weight: Double)?,
    to row: UnsafeMutablePointer<Float>
  ) {
    let emissionRow = e.row(t)
    for j in 0..<labelCount { row[j] += emissionRow[j] }
    if let (gold, weight) = costAugmentation {
      for j in 0..<labelCount where j != gold[t] { row[j] += Float(weight) }
    }
  }

  /// Steps between shifts of δ (`advance`): δ grows by at most this many steps'
  /// scores between two, while the shift's scalar passes cost a sixteenth of what they did
  /// at every step (2% of the instructions of a whole `trellis tag` of ATIS test).
  static let shiftInterval = 16

  /// δ[t] = best, or with `shifting` best − max_j best[j] (the padding past L stays −∞):
  /// every comparison of a step is between δ[t−1][i] + trans[i][j] over i, which the shift
  /// leaves alone, while the scores stay near 0 instead of growing with t. Unshifted, a
  /// 5,000-token sentence's δ reached about 1,700, where Float tells apart only paths more
  /// than 1.2e-4 apart, and the printed path was not the best one; a model of large weights
  /// overflowed δ to +∞ in 60 tokens, where every label tied and the lowest id won.
  private static func advance(
    _ best: UnsafePointer<Float>, into delta: UnsafeMutablePointer<Float>, labels L: Int,
    stride: Int, shifting: Bool
  ) {
    guard shifting else { return delta.update(from: best, count: stride) }
    var top = -Float.infinity
    for j in 0..<L where best[j] > top { top = best[j] }
    // No label reachable (−∞) or an overflow already (+∞): subtracting would make NaNs.
    guard top.isFinite else { return delta.update(from: best, count: L) }
    for j in 0..<L { delta[j] = best[j] - top }
  }

  /// The best last label (δ[T−1][j] + end[j], ties to the lowest j), then ψ followed back;
  /// `backPointer` is `(T, stride)`.
  private static func backtrack(
    delta: UnsafePointer<Float>, end: [Float], backPointer: UnsafePointer<Int32>, labels L: Int,
    steps T: Int, stride: Int
  ) -> [Int] {
    var bestScore = -Float.infinity
    var path = [Int](repeating: 0, count: T)
    for j in 0..<L where delta[j] + end[j] > bestScore {
      bestScore = delta[j] + end[j]
      path[T - 1] = j
    }
    for t in Swift.stride(from: T - 1, to: 0, by: -1) {
      path[t - 1] = Int(backPointer[t * stride + path[t]])
    }
    return path
  }
}

extension LinearChain.DecodingScores {
  /// Calls `body` with pointers to the arrays every step reads.
  func withColumnPointers<R>(_ body: (LinearChain.ColumnPointers) -> R) -> R {
    transition.withUnsafeBufferPointer { transition in
      denseLabels.withUnsafeBufferPointer { denseLabels in
        sparseLabels.withUnsafeBufferPointer { sparseLabels in
          sparseStarts.withUnsafeBufferPointer { sparseStarts in
            sparsePrevious.withUnsafeBufferPointer { sparsePrevious in
              sparseScores.withUnsafeBufferPointer { sparseScores in
                rowMax.withUnsafeBufferPointer { rowMax in
                  rowMin.withUnsafeBufferPointer { rowMin in
                    body(
                      LinearChain.ColumnPointers(
                        transition: UnsafePointer(nonNullBase(transition)),
                        denseLabels: UnsafePointer(nonNullBase(denseLabels)),
                        sparseLabels: UnsafePointer(nonNullBase(sparseLabels)),
                        sparseStarts: UnsafePointer(nonNullBase(sparseStarts)),
                        sparsePrevious: UnsafePointer(nonNullBase(sparsePrevious)),
                        sparseScores: UnsafePointer(nonNullBase(sparseScores)),
                        rowMax: UnsafePointer(nonNullBase(rowMax)),
                        rowMin: UnsafePointer(nonNullBase(rowMin))))
                  }
                }
              }
            }
          }
        }
      }
    }
  }
}

/// A buffer's base address, or where an empty one has none (every column sparse, or every
/// column dense) an aligned stand-in that is never read: the kernels read `count` elements.
private func nonNullBase<T>(_ buffer: UnsafeBufferPointer<T>) -> UnsafeMutablePointer<T> {
  UnsafeMutablePointer(mutating: buffer.baseAddress)
    ?? UnsafeMutablePointer(bitPattern: MemoryLayout<T>.alignment)!
}
