import Foundation

/// The linear-chain CRF (Lafferty et al. 2001): `p(y | x) = exp s(y) / Z`.
///
///   loss = log Z − s(y*)
///   ∂loss/∂e[t][l]      = P(y_t = l) − [y*_t = l]
///   ∂loss/∂trans[i][j]  = Σ_t P(y_{t−1} = i, y_t = j) − #{t : y*_{t−1} = i, y*_t = j}
///   ∂loss/∂start[l]     = P(y_0 = l) − [y*_0 = l],  ∂loss/∂end[l] = P(y_{T−1} = l) − [y*_{T−1} = l]
/// Marginals come from the scaled forward–backward recursions; decoding is Viterbi.
struct CRFHead: ChainHead, LossTablesHead {
  let chain: LinearChain

  init(labelCount: Int) { chain = LinearChain(labelCount: labelCount) }

  /// The marginals come from Float recursions, whose products run at twice Double's width;
  /// a batch whose scores spread beyond Float's range (`BatchMarginals.isFinite`) is redone in
  /// Double.
  func lossAndGradient(
    emissions: [MatrixView], gold: [[Int]], parameters θ: UnsafeBufferPointer<Float>,
    emissionGradients: [MutableMatrixView], parameterGradient dθ: UnsafeMutableBufferPointer<Float>
  ) -> Double {
    lossAndGradient(
      emissions: emissions, gold: gold, parameters: θ,
      tables: lossTables(parameters: θ, concurrently: false),
      emissionGradients: emissionGradients, parameterGradient: dθ)
  }

  /// The Float potentials of the scaled recursions.
  func lossTables(parameters θ: UnsafeBufferPointer<Float>, concurrently: Bool)
    -> LinearChain.Potentials<Float>
  {
    chain.potentials(Float.self, parameters: θ, concurrently: concurrently)
  }

  func lossAndGradient(
    emissions: [MatrixView], gold: [[Int]], parameters θ: UnsafeBufferPointer<Float>,
    tables potentials: LinearChain.Potentials<Float>, emissionGradients: [MutableMatrixView],
    parameterGradient dθ: UnsafeMutableBufferPointer<Float>
  ) -> Double {
    let inFloat = chain.scaledForwardBackward(emissions: emissions, potentials: potentials)
    guard inFloat.isFinite else {
      return lossAndGradient(
        chain.scaledForwardBackward(
          emissions: emissions, potentials: chain.potentials(Double.self, parameters: θ)),
        emissions: emissions, gold: gold, parameters: θ, emissionGradients: emissionGradients,
        parameterGradient: dθ)
    }
    return lossAndGradient(
      inFloat, emissions: emissions, gold: gold, parameters: θ,
      emissionGradients: emissionGradients, parameterGradient: dθ)
  }

  /// The loss and its gradient (added to the gradients) from a batch's marginals.
  private func lossAndGradient<Scalar>(
    _ marginals: LinearChain.BatchMarginals<Scalar>, emissions: [MatrixView], gold: [[Int]],
    parameters θ: UnsafeBufferPointer<Float>, emissionGradients: [MutableMatrixView],
    parameterGradient dθ: UnsafeMutableBufferPointer<Float>
  ) -> Double {
    let L = labelCount
    for k in 0..<L * L { dθ[k] += Float(marginals.pairwise[k]) }
    var loss = 0.0
    // A sentence without tokens has one path, the empty one, so it adds no loss or gradient.
    for (b, e) in emissions.enumerated() where e.rows > 0 {
      let T = e.rows
      let dE = emissionGradients[b]
      // Row by row through pointers, so each row's additions run as vectors.
      marginals.unary.withUnsafeBufferPointer { unary in
        for t in 0..<T {
          let source = unary.baseAddress! + marginals.unaryRowStart(sentence: b, token: t)
          let destination = dE.row(t)
          for l in 0..<L { destination[l] += Float(source[l]) }
        }
      }
      for l in 0..<L {
        dθ[chain.startOffset + l] += Float(marginals.unary(sentence: b, token: 0, label: l))
        dθ[chain.endOffset + l] += Float(marginals.unary(sentence: b, token: T - 1, label: l))
      }
      chain.addFeatures(of: gold[b], weight: -1, emissionGradient: dE, parameterGradient: dθ)
      loss += marginals.logZ[b] - chain.score(of: gold[b], emissions: e, parameters: θ)
    }
    return loss
  }

  var definesProbabilities: Bool { true }

  /// Marginals under the decoding constraints, so forbidden paths carry no probability mass:
  /// P(y_t = l) from the scaled forward–backward, p(y | x) = exp(s(y) − log Z). A batch whose
  /// scores spread beyond Double's range in probability space (`BatchMarginals.isFinite`,
  /// `LinearChain.scaledRecursionsFit`: a model trained near divergence) is redone
  /// in log space, which holds any finite scores. Under constraints the spread alone does not
  /// bound what the scaled pass can lose (a forbidden transition leaves no state to stand in
  /// for one whose weight underflowed, so emissions can drift the weights apart over several
  /// steps), so a batch is redone too when a decoded path scores above its log Z, which no
  /// path can: the loss that matters, mass of the path printed.
  func confidences(
    of paths: [[Int]], emissions: [MatrixView], parameters θ: UnsafeBufferPointer<Float>,
    constraints: TransitionConstraints?, sameOutput: [[Int]]?
  ) -> [PathConfidence]? {
    let potentials = chain.potentials(parameters: θ, constraints: constraints)
    guard
      let (marginals, scores) = trustedMarginals(
        of: paths, emissions: emissions, parameters: θ, constraints: constraints,
        potentials: potentials)
    else {
      return logSpaceConfidences(
        of: paths, emissions: emissions, parameters: θ, constraints: constraints,
        sameOutput: sameOutput)
    }
    return paths.enumerated().map { b, path in
      PathConfidence(
        tokens: path.enumerated().map { t, label in
          // Without groups, no array per token: this runs for every token tagged.
          sameOutput.map {
            $0[label].reduce(0) { $0 + marginals.unary(sentence: b, token: t, label: $1) }
          } ?? marginals.unary(sentence: b, token: t, label: label)
        },
        sequence: exp(scores[b] - marginals.logZ[b]), logPartition: marginals.logZ[b])
    }
  }

  /// The batch's scaled marginals under the `potentials` of `constraints`, and each path's
  /// score, or nil where the scaled pass cannot be trusted and log space must stand in (see
  /// `confidences`).
  func trustedMarginals(
    of paths: [[Int]], emissions: [MatrixView], parameters θ: UnsafeBufferPointer<Float>,
    constraints: TransitionConstraints?, potentials: LinearChain.Potentials<Double>,
    keepingRecursions: Bool = false
  ) -> (marginals: LinearChain.BatchMarginals<Double>, scores: [Double])? {
    let marginals = chain.scaledForwardBackward(
      emissions: emissions, potentials: potentials, keepingRecursions: keepingRecursions)
    let scores = paths.enumerated().map { b, path in
      chain.score(of: path, emissions: emissions[b], parameters: θ)
    }
    guard scaledPassHolds(marginals, parameters: θ, constraints: constraints),
      zip(scores, marginals.logZ).allSatisfy({ Self.isWithin($0, logPartition: $1) })
    else { return nil }
    return (marginals, scores)
  }

  /// Whether the scaled pass's `marginals` can stand for log space's before any path's score
  /// is held against their log Z (`isWithin`): all finite, and `θ` within the range the scaled
  /// recursions take without losing mass (`LinearChain.scaledRecursionsFit`).
  private func scaledPassHolds(
    _ marginals: LinearChain.BatchMarginals<Double>, parameters θ: UnsafeBufferPointer<Float>,
    constraints: TransitionConstraints?
  ) -> Bool {
    marginals.isFinite && chain.scaledRecursionsFit(parameters: θ, constraints: constraints)
  }

  /// Whether a path's score is at most log Z, as every path's is, up to rounding.
  static func isWithin(_ score: Double, logPartition logZ: Double) -> Bool {
    score <= logZ + 1e-9 * max(1, abs(logZ))
  }

  /// The same from `LinearChain.forwardBackward`'s log-space recursions, a sentence at a time.
  private func logSpaceConfidences(
    of paths: [[Int]], emissions: [MatrixView], parameters θ: UnsafeBufferPointer<Float>,
    constraints: TransitionConstraints?, sameOutput: [[Int]]?
  ) -> [PathConfidence] {
    let L = labelCount
    return zip(paths, emissions).map { path, e in
      let (logZ, unary, _) = chain.forwardBackward(
        emissions: e, parameters: θ, constraints: constraints)
      return PathConfidence(
        tokens: path.enumerated().map { t, label in
          (sameOutput?[label] ?? [label]).reduce(0) { $0 + unary[t * L + $1] }
        },
        sequence: exp(chain.score(of: path, emissions: e, parameters: θ) - logZ),
        logPartition: logZ)
    }
  }

  /// log Z of each sentence under the decoding constraints, from one scaled forward pass over
  /// the batch (the confidences' recursion, so p(y | x) agrees between the two), in log space
  /// where that pass's range does not suffice.
  func logPartitions(
    emissions: [MatrixView], parameters θ: UnsafeBufferPointer<Float>,
    constraints: TransitionConstraints?
  ) -> [Double]? {
    let potentials = chain.potentials(parameters: θ, constraints: constraints)
    let marginals = chain.scaledForwardBackward(emissions: emissions, potentials: potentials)
    guard scaledPassHolds(marginals, parameters: θ, constraints: constraints) else {
      return emissions.map {
        chain.forwardBackward(emissions: $0, parameters: θ, constraints: constraints).logZ
      }
    }
    return marginals.logZ
  }

  /// The n best paths with p(y | x) = exp(s(y) − log Z) under the same constraints.
  func nBest(
    _ k: Int, emissions: MatrixView, parameters θ: UnsafeBufferPointer<Float>,
    constraints: TransitionConstraints?
  ) -> [ScoredPath] {
    nBest(k, emissions: emissions, parameters: θ, constraints: constraints, logPartition: nil)
  }

  /// The same with the sentence's log Z given (from `logPartitions` over its batch), or
  /// computed here when `logPartition` is nil.
  func nBest(
    _ k: Int, emissions: MatrixView, parameters θ: UnsafeBufferPointer<Float>,
    constraints: TransitionConstraints?, logPartition: Double?
  ) -> [ScoredPath] {
    var logZ =
      logPartition
      ?? logPartitions(emissions: [emissions], parameters: θ, constraints: constraints)![0]
    let paths = chain.nBest(k, emissions: emissions, parameters: θ, constraints: constraints)
    // The best path above log Z: mass the scaled pass lost (see `confidences`).
    if let best = paths.first, !Self.isWithin(best.score, logPartition: logZ) {
      logZ =
        chain.forwardBackward(emissions: emissions, parameters: θ, constraints: constraints)
        .logZ
    }
    return paths.map {
      ScoredPath(path: $0.path, score: $0.score, probability: exp($0.score - logZ))
    }
  }
}
