@testable import Trellis

extension LinearChain {
  /// The highest-scoring path and its score (the cost included, when cost-augmented), by the
  /// recurrence of the vectorised `viterbi(emissions:scores:costAugmentation:)`, in Double and
  /// plain loops: the reference that one is tested against. Ties go to the lowest label id.
  func referenceViterbi(
    emissions e: MatrixView, parameters θ: UnsafeBufferPointer<Float>,
    constraints: TransitionConstraints? = nil,
    costAugmentation: (gold: [Int], weight: Double)? = nil
  ) -> (path: [Int], score: Double) {
    let T = e.rows
    let L = labelCount
    guard T > 0 else { return ([], 0) }
    let scores = maskedScores(parameters: θ, constraints: constraints)
    var delta = [Double](repeating: 0, count: L)  // δ[t−1], (L)
    var best = [Double](repeating: 0, count: L)  // max_i δ[t−1][i] + trans[i][j], (L)
    var backPointer = [Int32](repeating: 0, count: T * L)  // ψ, (T, L)
    func addEmissions(_ t: Int, to row: UnsafeMutableBufferPointer<Double>) {
      let emissionRow = e.row(t)
      for j in 0..<L { row[j] += Double(emissionRow[j]) }
      if let (gold, weight) = costAugmentation {
        for j in 0..<L where j != gold[t] { row[j] += weight }
      }
    }
    scores.transition.withUnsafeBufferPointer { transition in
      delta.withUnsafeMutableBufferPointer { delta in
        best.withUnsafeMutableBufferPointer { best in
          backPointer.withUnsafeMutableBufferPointer { backPointer in
            for j in 0..<L { delta[j] = scores.start[j] }
            addEmissions(0, to: delta)
            for t in 1..<T {
              let pointers = backPointer.baseAddress! + t * L
              for j in 0..<L {
                best[j] = -.infinity
                pointers[j] = 0
              }
              // i outer, j inner: rows of trans are contiguous, and the strict > keeps the
              // lowest i among ties.
              for i in 0..<L where delta[i] > -.infinity {
                let d = delta[i]
                let row = transition.baseAddress! + i * L
                for j in 0..<L {
                  let candidate = d + row[j]
                  if candidate > best[j] {
                    best[j] = candidate
                    pointers[j] = Int32(i)
                  }
                }
              }
              addEmissions(t, to: best)
              for j in 0..<L { delta[j] = best[j] }
            }
          }
        }
      }
    }
    var bestScore = -Double.infinity
    var bestLast = 0
    for j in 0..<L where delta[j] + scores.end[j] > bestScore {
      bestScore = delta[j] + scores.end[j]
      bestLast = j
    }
    var path = [Int](repeating: 0, count: T)
    path[T - 1] = bestLast
    for t in stride(from: T - 1, to: 0, by: -1) { path[t - 1] = Int(backPointer[t * L + path[t]]) }
    return (path, bestScore)
  }
}
