import Foundation

/// Independent per-token classification, the usual head of an RNN tagger:
///
///   p(y_t = l) = softmax(e[t])_l,   loss = −Σ_t log p(y_t = y*_t)
///   ∂loss/∂e[t][l] = p(y_t = l) − [y*_t = l]
/// Decoding takes each token's argmax; with no transitions there is nothing to constrain.
struct SoftmaxHead: StructuredHead {
  let labelCount: Int
  var parameterCount: Int { 0 }

  init(labelCount: Int) { self.labelCount = labelCount }

  func lossAndGradient(
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

  func decoder(
    parameters: UnsafeBufferPointer<Float>, constraints: TransitionConstraints?
  ) -> any SequenceDecoder {
    ArgmaxDecoder(labelCount: labelCount)
  }

  var definesProbabilities: Bool { true }

  /// p(y | x) = Π_t softmax(e[t])_{y_t}: the tokens are independent given the encoder. The
  /// sequence's probability is the model's own path's, as the CRF's is; a token's, with
  /// `sameOutput`, sums the labels printed as its own.
  func confidences(
    of paths: [[Int]], emissions: [MatrixView], parameters: UnsafeBufferPointer<Float>,
    constraints: TransitionConstraints?, sameOutput: [[Int]]?
  ) -> [PathConfidence]? {
    zip(paths, emissions).map { path, e in
      let rows = logProbabilities(e)
      let tokens = rows.enumerated().map { t, row in
        sameOutput.map { $0[path[t]].reduce(0) { $0 + exp(row[$1]) } } ?? exp(row[path[t]])
      }
      let sequence = exp(rows.enumerated().reduce(0) { $0 + $1.element[path[$1.offset]] })
      return PathConfidence(tokens: tokens, sequence: sequence)
    }
  }

  /// The n best sequences of independent tokens: list Viterbi over log-probabilities with
  /// zero transition scores, so a path's score is log p(y | x).
  func nBest(
    _ k: Int, emissions: MatrixView, parameters: UnsafeBufferPointer<Float>,
    constraints: TransitionConstraints?
  ) -> [ScoredPath] {
    let logP = logProbabilities(emissions).flatMap { $0.map(Float.init) }
    let zeros = [Float](repeating: 0, count: labelCount * labelCount + 2 * labelCount)
    return logP.withUnsafeBufferPointer { logP in
      zeros.withUnsafeBufferPointer { zeros in
        LinearChain(labelCount: labelCount).nBest(
          k,
          emissions: MatrixView(base: logP.baseAddress!, rows: emissions.rows, columns: labelCount),
          parameters: zeros)
      }
    }.map { ScoredPath(path: $0.path, score: $0.score, probability: exp($0.score)) }
  }

  /// log softmax of each row of `e`, `(T, L)`.
  func logProbabilities(_ e: MatrixView) -> [[Double]] {
    (0..<e.rows).map { t in
      let row = (0..<labelCount).map { Double(e[t, $0]) }
      let normalizer = logSumExp(row)
      return row.map { $0 - normalizer }
    }
  }
}

/// Each token's highest-scoring label.
struct ArgmaxDecoder: SequenceDecoder {
  let labelCount: Int

  func decode(_ emissions: [MatrixView]) -> [[Int]] {
    emissions.map { e in
      (0..<e.rows).map { t in
        var best = 0
        for l in 1..<labelCount where e[t, l] > e[t, best] { best = l }
        return best
      }
    }
  }
}
