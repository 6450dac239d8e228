import Foundation

/// A structured output layer: scores label sequences from per-token emission scores `(T, L)`.
///
/// Heads own *what is scored and decoded*; optimisers own *how parameters move* (crfsuite's
/// encoder/trainer split). So the perceptron and the structured SVM are losses whose
/// subgradients flow back into the encoder like the CRF's gradient, and parameter averaging is
/// a training option that works with any head.
public protocol StructuredHead: Sendable {
  /// The number of labels, `L`.
  var labelCount: Int { get }
  /// Trainable scalars the head owns (`L² + 2L` for chain heads, 0 for softmax).
  var parameterCount: Int { get }

  /// Returns the loss for one sentence and adds its gradients.
  ///
  /// - Parameters:
  ///   - emissions: Scores `(T, L)`; may be a strided view into a `(T, B, L)` batch.
  ///   - gold: Gold label ids, `T` of them.
  ///   - parameters: The head's slice of the parameter slab.
  ///   - emissionGradient: ∂loss/∂emissions `(T, L)` is added here.
  ///   - parameterGradient: ∂loss/∂parameters is added here.
  func lossAndGradient(
    emissions: MatrixView, gold: [Int], parameters: UnsafeBufferPointer<Float>,
    emissionGradient: MutableMatrixView, parameterGradient: UnsafeMutableBufferPointer<Float>
  ) -> Double

  /// The highest-scoring label sequence, never crossing a forbidden transition when
  /// `constraints` are given (softmax ignores them: it has no transitions to forbid).
  func decode(
    emissions: MatrixView, parameters: UnsafeBufferPointer<Float>,
    constraints: TransitionConstraints?
  ) -> [Int]
}

/// The heads selectable from the CLI (`--head crf`).
public enum HeadKind: String, Codable, CaseIterable, Sendable {
  case crf, perceptron, ssvm, softmax

  /// Builds the head; the only place a head kind is mapped to a type.
  public func makeHead(labelCount: Int, options: HeadOptions) -> any StructuredHead {
    switch self {
    case .crf: CRFHead(labelCount: labelCount)
    case .perceptron: PerceptronHead(labelCount: labelCount)
    case .ssvm:
      SSVMHead(labelCount: labelCount, costWeight: options.costWeight, l2: options.l2)
    case .softmax: SoftmaxHead(labelCount: labelCount)
    }
  }
}

/// Head hyperparameters (used by the heads that need them).
public struct HeadOptions: Codable, Equatable, Sendable {
  /// SSVM: the Hamming cost of one wrong label, `Δ(ŷ, y) = costWeight · #{t : ŷ_t ≠ y_t}`.
  public var costWeight: Double
  /// SSVM: the L2 penalty `(λ/2)‖θ‖²` on the head's own parameters, per sentence.
  public var l2: Double

  public init(costWeight: Double = 1, l2: Double = 1e-4) {
    self.costWeight = costWeight
    self.l2 = l2
  }
}

/// The linear-chain CRF (Lafferty et al. 2001): `p(y | x) = exp s(y) / Z`.
///
///   loss = log Z − s(y*)
///   ∂loss/∂e[t][l]      = P(y_t = l) − [y*_t = l]
///   ∂loss/∂trans[i][j]  = Σ_t P(y_{t−1} = i, y_t = j) − #{t : y*_{t−1} = i, y*_t = j}
///   ∂loss/∂start[l]     = P(y_0 = l) − [y*_0 = l],  ∂loss/∂end[l] = P(y_{T−1} = l) − [y*_{T−1} = l]
/// Marginals come from forward–backward; decoding is Viterbi.
public struct CRFHead: StructuredHead {
  public let chain: LinearChain
  public var labelCount: Int { chain.labelCount }
  public var parameterCount: Int { chain.parameterCount }

  public init(labelCount: Int) { chain = LinearChain(labelCount: labelCount) }

  public func lossAndGradient(
    emissions e: MatrixView, gold: [Int], parameters θ: UnsafeBufferPointer<Float>,
    emissionGradient dE: MutableMatrixView, parameterGradient dθ: UnsafeMutableBufferPointer<Float>
  ) -> Double {
    let T = e.rows, L = labelCount
    let (logZ, unary, pairwise) = chain.forwardBackward(emissions: e, parameters: θ)
    for t in 0..<T {
      for l in 0..<L { dE[t, l] += Float(unary[t * L + l]) }
    }
    for k in 0..<L * L { dθ[k] += Float(pairwise[k]) }
    for l in 0..<L {
      dθ[chain.startOffset + l] += Float(unary[l])
      dθ[chain.endOffset + l] += Float(unary[(T - 1) * L + l])
    }
    chain.addFeatures(of: gold, weight: -1, emissionGradient: dE, parameterGradient: dθ)
    return logZ - chain.score(of: gold, emissions: e, parameters: θ)
  }

  public func decode(
    emissions: MatrixView, parameters: UnsafeBufferPointer<Float>,
    constraints: TransitionConstraints?
  ) -> [Int] {
    chain.viterbi(emissions: emissions, parameters: parameters, constraints: constraints).path
  }
}

/// The structured perceptron (Collins 2002) as a loss for gradient training:
///
///   ŷ = argmax_y s(y),   loss = s(ŷ) − s(y*) ≥ 0,   subgradient = φ(ŷ) − φ(y*)
/// where φ(y) are the emission, transition, start and end indicators of path y. The loss is zero
/// exactly when the gold path wins, so a perfect fit stops all updates.
public struct PerceptronHead: StructuredHead {
  public let chain: LinearChain
  public var labelCount: Int { chain.labelCount }
  public var parameterCount: Int { chain.parameterCount }

  public init(labelCount: Int) { chain = LinearChain(labelCount: labelCount) }

  public func lossAndGradient(
    emissions e: MatrixView, gold: [Int], parameters θ: UnsafeBufferPointer<Float>,
    emissionGradient dE: MutableMatrixView, parameterGradient dθ: UnsafeMutableBufferPointer<Float>
  ) -> Double {
    let (predicted, predictedScore) = chain.viterbi(emissions: e, parameters: θ)
    guard predicted != gold else { return 0 }
    chain.addFeatures(of: predicted, weight: 1, emissionGradient: dE, parameterGradient: dθ)
    chain.addFeatures(of: gold, weight: -1, emissionGradient: dE, parameterGradient: dθ)
    return predictedScore - chain.score(of: gold, emissions: e, parameters: θ)
  }

  public func decode(
    emissions: MatrixView, parameters: UnsafeBufferPointer<Float>,
    constraints: TransitionConstraints?
  ) -> [Int] {
    chain.viterbi(emissions: emissions, parameters: parameters, constraints: constraints).path
  }
}

/// The structured SVM with margin rescaling (Taskar et al. 2003; Tsochantaridis et al. 2005):
///
///   ŷ = argmax_y [s(y) + Δ(y, y*)],  Δ = costWeight · Hamming distance (cost-augmented Viterbi)
///   loss = s(ŷ) + Δ(ŷ, y*) − s(y*) + (λ/2)‖θ‖²   (≥ Δ(argmax_y s(y), y*): an upper bound on the
///          weighted error of the decoder)
///   subgradient = φ(ŷ) − φ(y*) + λθ
public struct SSVMHead: StructuredHead {
  public let chain: LinearChain
  public let costWeight: Double
  public let l2: Double
  public var labelCount: Int { chain.labelCount }
  public var parameterCount: Int { chain.parameterCount }

  public init(labelCount: Int, costWeight: Double, l2: Double) {
    chain = LinearChain(labelCount: labelCount)
    self.costWeight = costWeight
    self.l2 = l2
  }

  public func lossAndGradient(
    emissions e: MatrixView, gold: [Int], parameters θ: UnsafeBufferPointer<Float>,
    emissionGradient dE: MutableMatrixView, parameterGradient dθ: UnsafeMutableBufferPointer<Float>
  ) -> Double {
    var penalty = 0.0
    for k in 0..<θ.count {
      penalty += Double(θ[k]) * Double(θ[k])
      dθ[k] += Float(l2) * θ[k]
    }
    let (predicted, augmentedScore) = chain.viterbi(
      emissions: e, parameters: θ, costAugmentation: (gold, costWeight))
    let margin = augmentedScore - chain.score(of: gold, emissions: e, parameters: θ)
    if predicted != gold {
      chain.addFeatures(of: predicted, weight: 1, emissionGradient: dE, parameterGradient: dθ)
      chain.addFeatures(of: gold, weight: -1, emissionGradient: dE, parameterGradient: dθ)
    }
    return max(margin, 0) + l2 / 2 * penalty
  }

  public func decode(
    emissions: MatrixView, parameters: UnsafeBufferPointer<Float>,
    constraints: TransitionConstraints?
  ) -> [Int] {
    chain.viterbi(emissions: emissions, parameters: parameters, constraints: constraints).path
  }
}

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
    emissions e: MatrixView, gold: [Int], parameters: UnsafeBufferPointer<Float>,
    emissionGradient dE: MutableMatrixView, parameterGradient: UnsafeMutableBufferPointer<Float>
  ) -> Double {
    var loss = 0.0
    var row = [Double](repeating: 0, count: labelCount)
    for t in 0..<e.rows {
      for l in 0..<labelCount { row[l] = Double(e[t, l]) }
      let logNormalizer = logSumExp(row)
      loss += logNormalizer - row[gold[t]]
      for l in 0..<labelCount { dE[t, l] += Float(exp(row[l] - logNormalizer)) }
      dE[t, gold[t]] -= 1
    }
    return loss
  }

  public func decode(
    emissions e: MatrixView, parameters: UnsafeBufferPointer<Float>,
    constraints: TransitionConstraints?
  ) -> [Int] {
    (0..<e.rows).map { t in
      var best = 0
      for l in 1..<labelCount where e[t, l] > e[t, best] { best = l }
      return best
    }
  }
}
