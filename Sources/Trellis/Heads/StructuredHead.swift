/// A structured output layer: scores label sequences from per-token emission scores `(T, L)`.
///
/// Heads own *what is scored and decoded*; optimisers own *how parameters move* (crfsuite's
/// encoder/trainer split). So the perceptron and the structured SVM are losses whose
/// subgradients flow back into the encoder like the CRF's gradient, and parameter averaging is
/// a training option that works with any head. The loss and confidences take a whole batch,
/// so a head can prepare what depends only on its parameters (the CRF's exponentiated
/// transitions) once per batch; decoding prepares a `SequenceDecoder` once per parameter
/// version; n-best lists take one sentence.
package protocol StructuredHead: Sendable {
  /// Trainable scalars the head owns (`L² + 2L` for chain heads, 0 for softmax).
  var parameterCount: Int { get }

  /// Returns the summed loss of a batch of sentences and adds its gradients.
  ///
  /// - Parameters:
  ///   - emissions: One `(T_b, L)` score matrix per sentence; may be strided views into a
  ///     `(T, B, L)` batch.
  ///   - gold: Gold label ids per sentence.
  ///   - parameters: The head's slice of the parameter slab.
  ///   - emissionGradients: ∂loss/∂emissions per sentence, added to these views.
  ///   - parameterGradient: ∂loss/∂parameters, added here.
  func lossAndGradient(
    emissions: [MatrixView], gold: [[Int]], parameters: UnsafeBufferPointer<Float>,
    emissionGradients: [MutableMatrixView], parameterGradient: UnsafeMutableBufferPointer<Float>
  ) -> Double

  /// What decoding needs from the parameters, prepared once (Viterbi's padded transition
  /// table) and reused for every batch until the parameters change; forbidden transitions of
  /// `constraints` are never crossed (softmax has no transitions, so nothing to forbid).
  func decoder(parameters: UnsafeBufferPointer<Float>, constraints: TransitionConstraints?)
    -> any SequenceDecoder

  /// The `k` best label sequences of one sentence, best first, with their scores and, for heads
  /// that define p(y | x), their probabilities.
  func nBest(
    _ k: Int, emissions: MatrixView, parameters: UnsafeBufferPointer<Float>,
    constraints: TransitionConstraints?
  ) -> [ScoredPath]

  /// Each sentence's log Z(x) = log Σ_y exp s(y), the sum over the paths `constraints`
  /// allows, for heads whose p(y | x) = exp(s(y) − log Z(x)) (the CRF); nil for the others.
  /// A batch's n-best lists take theirs from one call (`nBest(_:emissions:parameters:
  /// constraints:logPartition:)`) instead of one forward pass per list.
  func logPartitions(
    emissions: [MatrixView], parameters: UnsafeBufferPointer<Float>,
    constraints: TransitionConstraints?
  ) -> [Double]?

  /// `nBest` for a sentence whose log Z(x) (`logPartitions`) is known, or computed here when
  /// `logPartition` is nil.
  func nBest(
    _ k: Int, emissions: MatrixView, parameters: UnsafeBufferPointer<Float>,
    constraints: TransitionConstraints?, logPartition: Double?
  ) -> [ScoredPath]

  /// Whether the head defines p(y | x), so `confidences` and n-best probabilities exist.
  var definesProbabilities: Bool { get }

  /// For heads that define p(y | x): each sentence's per-token marginals P(y_t = path_t) and
  /// the probability of the whole path. With `sameOutput` (for each label, the labels printed
  /// as it is, `TaggerModel.sameOutputGroups`), a token's marginal is summed over the labels
  /// printed as its own: the probability of what is printed. Nil for heads that define no
  /// probabilities (the perceptron and SSVM only rank paths), so callers never print a
  /// made-up number.
  func confidences(
    of paths: [[Int]], emissions: [MatrixView], parameters: UnsafeBufferPointer<Float>,
    constraints: TransitionConstraints?, sameOutput: [[Int]]?
  ) -> [PathConfidence]?
}

/// A head whose loss reads tables made from its parameters alone (the CRF's potentials). A
/// training batch split over the thread pair (`TaggerModel`) makes them once, on both
/// threads, for both halves, instead of each half making its own.
protocol LossTablesHead: StructuredHead {
  associatedtype LossTables
  /// The tables of `parameters`, made on the pair's two threads when `concurrently`.
  func lossTables(parameters: UnsafeBufferPointer<Float>, concurrently: Bool) -> LossTables
  /// `lossAndGradient(emissions:gold:parameters:emissionGradients:parameterGradient:)` with the
  /// tables of `parameters`.
  func lossAndGradient(
    emissions: [MatrixView], gold: [[Int]], parameters: UnsafeBufferPointer<Float>,
    tables: LossTables, emissionGradients: [MutableMatrixView],
    parameterGradient: UnsafeMutableBufferPointer<Float>
  ) -> Double
}

/// Decodes batches with tables prepared from one set of head parameters.
package protocol SequenceDecoder: Sendable {
  /// The highest-scoring label sequence of each sentence.
  func decode(_ emissions: [MatrixView]) -> [[Int]]
}

/// One of the n best label sequences.
package struct ScoredPath: Equatable, Sendable {
  /// The label ids, one per token.
  package var path: [Int]
  /// The head's score s(y).
  package var score: Double
  /// p(y | x), for heads that define it.
  package var probability: Double?
}

/// How sure a probabilistic head is of a label sequence.
package struct PathConfidence: Equatable, Sendable {
  /// P(y_t = path_t | x) for each token (forward–backward marginals for the CRF).
  package var tokens: [Double]
  /// p(path | x).
  package var sequence: Double
  /// log Z(x), for heads whose p(y | x) = exp(s(y) − log Z(x)) (the CRF); nil for the others.
  /// An n-best list of the same sentence takes it instead of a forward pass of its own.
  package var logPartition: Double? = nil
}

extension StructuredHead {
  /// False: a head defines probabilities only by saying so.
  package var definesProbabilities: Bool { false }

  /// Nil: a head without probabilities has no confidences to give.
  package func confidences(
    of paths: [[Int]], emissions: [MatrixView], parameters: UnsafeBufferPointer<Float>,
    constraints: TransitionConstraints?, sameOutput: [[Int]]?
  ) -> [PathConfidence]? { nil }

  /// The marginals of the path's own labels (`sameOutput` nil).
  package func confidences(
    of paths: [[Int]], emissions: [MatrixView], parameters: UnsafeBufferPointer<Float>,
    constraints: TransitionConstraints?
  ) -> [PathConfidence]? {
    confidences(
      of: paths, emissions: emissions, parameters: parameters, constraints: constraints,
      sameOutput: nil)
  }

  /// Nil: only a head that normalises over whole paths has a partition function.
  package func logPartitions(
    emissions: [MatrixView], parameters: UnsafeBufferPointer<Float>,
    constraints: TransitionConstraints?
  ) -> [Double]? { nil }

  /// `nBest(_:emissions:parameters:constraints:)`: a head without a partition function has no
  /// use for one.
  package func nBest(
    _ k: Int, emissions: MatrixView, parameters: UnsafeBufferPointer<Float>,
    constraints: TransitionConstraints?, logPartition: Double?
  ) -> [ScoredPath] {
    nBest(k, emissions: emissions, parameters: parameters, constraints: constraints)
  }
}

/// The heads selectable from the CLI (`--head crf`).
public enum HeadKind: String, Codable, CaseIterable, Sendable {
  /// Linear-chain CRF: log-likelihood of the gold sequence, Viterbi decoding, probabilities.
  case crf
  /// Structured perceptron: the score margin of the best path over the gold one; no
  /// probabilities (use `TrainingOptions.average`, as Collins does).
  case perceptron
  /// Structured SVM: Hamming-cost-augmented hinge loss (`HeadOptions`); no probabilities.
  case ssvm
  /// Independent per-token softmax: each token's most probable label, so constraints do not
  /// apply and a sequence they forbid can be printed (Eval/RESULTS.md counts them).
  case softmax

  /// Builds the head; the only place a head kind is mapped to a type.
  func makeHead(labelCount: Int, options: HeadOptions) -> any StructuredHead {
    switch self {
    case .crf: CRFHead(labelCount: labelCount)
    case .perceptron: PerceptronHead(labelCount: labelCount)
    case .ssvm: SSVMHead(labelCount: labelCount, costWeight: options.costWeight, l2: options.l2)
    case .softmax: SoftmaxHead(labelCount: labelCount)
    }
  }
}

/// Head hyperparameters (each head reads the ones it needs).
public struct HeadOptions: Codable, Equatable, Sendable {
  /// SSVM: the Hamming cost of one wrong label, `Δ(ŷ, y) = costWeight · #{t : ŷ_t ≠ y_t}`.
  public var costWeight: Double
  /// SSVM: the L2 penalty `(λ/2)‖θ‖²` on the head's own parameters, per sentence.
  public var l2: Double

  /// The defaults are those of `trellis train`.
  public init(costWeight: Double = 1, l2: Double = 1e-4) {
    self.costWeight = costWeight
    self.l2 = l2
  }

  /// A field missing from a configuration file takes its default (a model file has both).
  public init(from decoder: any Swift.Decoder) throws {
    self.init()
    let container = try decoder.container(keyedBy: CodingKeys.self)
    try container.decode(&costWeight, .costWeight, writtenByEveryModel: decoder)
    try container.decode(&l2, .l2, writtenByEveryModel: decoder)
  }

  /// Throws an `OptionError` naming the first setting outside its range.
  public func validate() throws {
    try require(costWeight, in: 0...1e6, "cost-weight")
    try require(l2, in: 0...1e6, "l2")
  }
}

/// The chain heads decode alike: Viterbi under the scheme's constraints.
protocol ChainHead: StructuredHead {
  var chain: LinearChain { get }
}

extension ChainHead {
  /// The number of labels, `L`.
  var labelCount: Int { chain.labelCount }
  var parameterCount: Int { chain.parameterCount }

  func decoder(
    parameters: UnsafeBufferPointer<Float>, constraints: TransitionConstraints?
  ) -> any SequenceDecoder {
    ViterbiDecoder(
      chain: chain, scores: chain.decodingScores(parameters: parameters, constraints: constraints))
  }

  func nBest(
    _ k: Int, emissions: MatrixView, parameters: UnsafeBufferPointer<Float>,
    constraints: TransitionConstraints?
  ) -> [ScoredPath] {
    chain.nBest(k, emissions: emissions, parameters: parameters, constraints: constraints).map {
      ScoredPath(path: $0.path, score: $0.score, probability: nil)
    }
  }
}

/// Viterbi with the chain's decoding table built once.
struct ViterbiDecoder: SequenceDecoder {
  let chain: LinearChain
  let scores: LinearChain.DecodingScores

  func decode(_ emissions: [MatrixView]) -> [[Int]] {
    var buffers = LinearChain.ViterbiBuffers()
    return emissions.map { chain.viterbi(emissions: $0, scores: scores, buffers: &buffers) }
  }
}
