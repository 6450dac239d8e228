/// The structured perceptron (Collins 2002) as a loss for gradient training:
///
///   ŷ = argmax_y s(y),   loss = s(ŷ) − s(y*) ≥ 0,   subgradient = φ(ŷ) − φ(y*)
/// where φ(y) are the emission, transition, start and end indicators of path y. The loss is zero
/// exactly when the gold path wins, so a perfect fit stops all updates. Viterbi's sums run in
/// Float, so on a near tie it can return a path whose exact (Double) score is not above the
/// gold path's: gold is then an optimum, the loss 0, and nothing is updated (a tie included).
struct PerceptronHead: ChainHead {
  let chain: LinearChain

  init(labelCount: Int) { chain = LinearChain(labelCount: labelCount) }

  func lossAndGradient(
    emissions: [MatrixView], gold: [[Int]], parameters θ: UnsafeBufferPointer<Float>,
    emissionGradients: [MutableMatrixView], parameterGradient dθ: UnsafeMutableBufferPointer<Float>
  ) -> Double {
    let scores = chain.decodingScores(parameters: θ)
    var loss = 0.0
    for (b, e) in emissions.enumerated() {
      loss += chain.addMarginUpdate(
        predicted: chain.viterbi(emissions: e, scores: scores), gold: gold[b], cost: 0,
        emissions: e, parameters: θ, emissionGradient: emissionGradients[b],
        parameterGradient: dθ)
    }
    return loss
  }
}
