import Foundation

// Legend: T tokens, L labels. Emissions e are (T, L), possibly a strided view into a batch.
// Chain parameters θ, one slice of the parameter slab, in this order:
//   transitions (L, L)  θ[i·L + j] = score of label i followed by label j
//   start       (L)     score of a sentence starting with label j
//   end         (L)     score of a sentence ending with label j
// Explicit start and end vectors instead of START/STOP pseudo-labels (pytorch-crf), so label ids
// are exactly the model's labels and no index is reserved. The score of a path y is
//   s(y) = start[y_0] + Σ_t e[t][y_t] + Σ_{t≥1} trans[y_{t−1}][y_t] + end[y_{T−1}].
// Dynamic programs read Float parameters and accumulate in Double: T·L² terms are summed, and
// log-space with a max shift keeps long sentences finite.

/// The number of positions where two paths of one sentence differ (Δ's Hamming distance).
func hammingDistance(_ a: [Int], _ b: [Int]) -> Int {
  zip(a, b).filter { $0 != $1 }.count
}

/// Linear-chain scoring shared by the CRF, perceptron and SSVM heads: layout, path score,
/// path features, Viterbi (plain and cost-augmented) and forward–backward.
struct LinearChain: Sendable {
  let labelCount: Int
  var parameterCount: Int { labelCount * labelCount + 2 * labelCount }
  var startOffset: Int { labelCount * labelCount }
  var endOffset: Int { labelCount * labelCount + labelCount }

  init(labelCount: Int) { self.labelCount = labelCount }

  /// `s(y)` as defined above.
  func score(
    of path: [Int], emissions e: MatrixView, parameters θ: UnsafeBufferPointer<Float>
  ) -> Double {
    let L = labelCount
    guard let first = path.first, let last = path.last else { return 0 }
    var total = Double(θ[startOffset + first]) + Double(θ[endOffset + last])
    for t in 0..<path.count {
      total += Double(e[t, path[t]])
      if t > 0 { total += Double(θ[path[t - 1] * L + path[t]]) }
    }
    return total
  }

  /// Adds `weight · φ(y)` to the gradients: φ(y) is the indicator vector of the emissions,
  /// transitions, start and end that path y uses, i.e. ∂s(y)/∂(e, θ).
  func addFeatures(
    of path: [Int], weight: Float, emissionGradient dE: MutableMatrixView,
    parameterGradient dθ: UnsafeMutableBufferPointer<Float>
  ) {
    let L = labelCount
    guard let first = path.first, let last = path.last else { return }
    dθ[startOffset + first] += weight
    dθ[endOffset + last] += weight
    for t in 0..<path.count {
      dE[t, path[t]] += weight
      if t > 0 { dθ[path[t - 1] * L + path[t]] += weight }
    }
  }

  /// The update the perceptron and the structured SVM make for one sentence, given the path
  /// `predicted` that their decoder chose and `cost` = Δ(ŷ, y*) (0 for the perceptron): the
  /// hinge s(ŷ) + Δ − s(y*) when positive, with φ(ŷ) − φ(y*) added to the gradients; 0, and
  /// nothing added, when ŷ is the gold path or does not beat it (a near tie that the Float
  /// decoder called for ŷ).
  func addMarginUpdate(
    predicted: [Int], gold: [Int], cost: Double, emissions e: MatrixView,
    parameters θ: UnsafeBufferPointer<Float>, emissionGradient dE: MutableMatrixView,
    parameterGradient dθ: UnsafeMutableBufferPointer<Float>
  ) -> Double {
    guard predicted != gold else { return 0 }
    let hinge =
      score(of: predicted, emissions: e, parameters: θ) + cost
      - score(of: gold, emissions: e, parameters: θ)
    guard hinge > 0 else { return 0 }
    addFeatures(of: predicted, weight: 1, emissionGradient: dE, parameterGradient: dθ)
    addFeatures(of: gold, weight: -1, emissionGradient: dE, parameterGradient: dθ)
    return hinge
  }

  /// The chain parameters in Double with every transition, start and end that `constraints`
  /// forbid set to −∞: the one place constraints are applied. Viterbi (both versions),
  /// forward–backward, the scaled recursions' potentials and n-best all read these.
  struct MaskedScores: Sendable {
    var transition: [Double]  // (L, L)
    var start: [Double]  // (L)
    var end: [Double]  // (L)
  }

  func maskedScores(
    parameters θ: UnsafeBufferPointer<Float>, constraints: TransitionConstraints?
  ) -> MaskedScores {
    let L = labelCount
    func masked(_ offset: Int, _ count: Int, _ allowed: [Bool]?) -> [Double] {
      // Loops over pointers, not `map` closures: once per batch half in training.
      [Double](unsafeUninitializedCapacity: count) { scores, initialized in
        if count > 0 {
          let source = θ.baseAddress! + offset
          if let allowed {
            for k in 0..<count { scores[k] = allowed[k] ? Double(source[k]) : -.infinity }
          } else {
            for k in 0..<count { scores[k] = Double(source[k]) }
          }
        }
        initialized = count
      }
    }
    return MaskedScores(
      transition: masked(0, L * L, constraints?.allowedTransition),
      start: masked(startOffset, L, constraints?.allowedStart),
      end: masked(endOffset, L, constraints?.allowedEnd))
  }
}
