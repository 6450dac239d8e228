/// The structured SVM with margin rescaling (Taskar et al. 2003; Tsochantaridis et al. 2005):
///
///   ŷ = argmax_y [s(y) + Δ(y, y*)],  Δ = costWeight · Hamming distance (cost-augmented Viterbi)
///   loss = s(ŷ) + Δ(ŷ, y*) − s(y*) + (λ/2)‖θ‖²
///   subgradient = φ(ŷ) − φ(y*) + λθ
/// The hinge term is at least Δ(argmax_y s(y), y*), so the loss bounds the decoder's weighted
/// error from above; it is zero only when the gold path wins by a margin of Δ over every path.
/// The cost-augmented Viterbi sums in Float, so on a near tie its path's exact (Double) hinge
/// can be ≤ 0: gold is then the augmented optimum, and nothing is updated.
struct SSVMHead: ChainHead {
  let chain: LinearChain
  let costWeight: Double
  let l2: Double

  init(labelCount: Int, costWeight: Double, l2: Double) {
    chain = LinearChain(labelCount: labelCount)
    self.costWeight = costWeight
    self.l2 = l2
  }

  func lossAndGradient(
    emissions: [MatrixView], gold: [[Int]], parameters θ: UnsafeBufferPointer<Float>,
    emissionGradients: [MutableMatrixView], parameterGradient dθ: UnsafeMutableBufferPointer<Float>
  ) -> Double {
    var squaredNorm = 0.0
    for k in 0..<θ.count { squaredNorm += Double(θ[k]) * Double(θ[k]) }
    // The penalty once per sentence of the batch, so a batch's loss and gradient are its
    // sentences' sums whatever the batch size; an empty sentence is none and adds nothing.
    let sentences = emissions.filter { $0.rows > 0 }.count
    for k in 0..<θ.count { dθ[k] += Float(sentences) * Float(l2) * θ[k] }
    var loss = Double(sentences) * l2 / 2 * squaredNorm
    let scores = chain.decodingScores(parameters: θ)
    for (b, e) in emissions.enumerated() {
      let predicted = chain.viterbi(
        emissions: e, scores: scores, costAugmentation: (gold[b], costWeight))
      loss += chain.addMarginUpdate(
        predicted: predicted, gold: gold[b],
        cost: costWeight * Double(hammingDistance(predicted, gold[b])), emissions: e,
        parameters: θ, emissionGradient: emissionGradients[b], parameterGradient: dθ)
    }
    return loss
  }
}
