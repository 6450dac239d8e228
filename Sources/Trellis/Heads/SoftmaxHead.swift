import Foundation

/// Independent per-token classification, the usual head of an RNN tagger:
///
///   p(y_t = l) = softmax(e[t])_l,   loss = −Σ_t log p(y_t = y*_t)
///   ∂loss/∂e[t][l] = p(y_t = l) − [y*_t = l]
/// Decoding takes each token's argmax; with no transitions there is nothing to constrain.
public struct SoftmaxHead: StructuredHead {
  public let labelCount: Int
  public var parameterCount: Int { 0 }

  public init(labelCount: Int) { self.labelCount = labelCount }

  public func lossAndGradient(
    emissions: [MatrixView], gold: [[Int]], parameters: UnsafeBufferPointer<Float>,
    emissionGradients: [MutableMatrixView], parameterGradient: UnsafeMutableBufferPointer<Float>
  ) -> Double {
    var loss = 0.0
    var row = [Double](repeating: 0, count: labelCount)
    for (b, e) in emissions.enumerated() {
      let dE = emissionGradients[b]
      for t in 0..<e.rows {
        for l in 0..<labelCount { row[l] = Double(e[t, l]) }
        let logNormalizer = logSumExp(row)
        loss += logNormalizer - row[gold[b][t]]
        for l in 0..<labelCount { dE[t, l] += Float(exp(row[l] - logNormalizer)) }
        dE[t, gold[b][t]] -= 1
      }
    }
    return loss
  }

  public func decode(
    emissions: [MatrixView], parameters: UnsafeBufferPointer<Float>,
    constraints: TransitionConstraints?
  ) -> [[Int]] {
    emissions.map { e in
      (0..<e.rows).map { t in
        var best = 0
        for l in 1..<labelCount where e[t, l] > e[t, best] { best = l }
        return best
      }
    }
  }
}
