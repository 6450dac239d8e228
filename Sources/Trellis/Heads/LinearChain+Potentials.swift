import Foundation

// Legend: see LinearChain.swift.

extension LinearChain {
  /// The exponentiated chain parameters of the scaled recursions in `Scalar`, computed once
  /// per batch: `transition[i·L + j] = exp(trans[i][j] − shift)` and likewise `start`, `end`,
  /// each shifted by its own maximum so the largest factor is 1; forbidden entries are exactly
  /// 0 (exponentiated in Double, then rounded to `Scalar`).
  struct Potentials<Scalar: RecursionScalar> {
    var transition: [Scalar]  // (L, L)
    var start: [Scalar]  // (L)
    var end: [Scalar]  // (L)
    var transitionShift = 0.0, startShift = 0.0, endShift = 0.0
    /// `transition` packed for the recursions' products (`RecursionScalar.product`): α̂[t−1] · E
    /// forward, g[t+1] · Eᵀ backward.
    var forwardPanels: [Scalar] = [], backwardPanels: [Scalar] = []

    /// With `concurrently`, the pair's two threads share the work: each exponentiates half of
    /// the transitions' rows, then each packs one of the two panel layouts. A training batch's
    /// two halves (`TaggerModel`) read one set instead of making one each, which took 2.3–2.8%
    /// of each thread's samples in a training profile (Eval/SPEED.md, "Session 29"). Every
    /// entry goes through the same operations either way, so the same bits.
    init(
      _ chain: LinearChain, parameters θ: UnsafeBufferPointer<Float>,
      constraints: TransitionConstraints?, concurrently: Bool = false
    ) {
      let L = chain.labelCount
      let masked = chain.maskedScores(parameters: θ, constraints: constraints)
      (start, startShift) = Self.exponentiated(masked.start)
      (end, endShift) = Self.exponentiated(masked.end)
      let shift = masked.transition.withUnsafeBufferPointer(Self.shift)
      transitionShift = shift
      func inParts(_ body: (Int) -> Void) {
        if concurrently { ThreadPair.shared.run(body) } else { (0..<2).forEach(body) }
      }
      let rowParts = [0..<L / 2 * L, L / 2 * L..<L * L]
      let transition = [Scalar](unsafeUninitializedCapacity: L * L) { buffer, initialized in
        masked.transition.withUnsafeBufferPointer { scores in
          inParts { part in
            Self.exponentials(
              scores, minus: shift, range: rowParts[part], into: buffer.baseAddress!)
          }
        }
        initialized = L * L
      }
      self.transition = transition
      // Forward reads α̂[t−1] · E (transposed panels), backward g[t+1] · Eᵀ.
      var panels: [[Scalar]] = [[], []]
      panels.withUnsafeMutableBufferPointer { panels in
        transition.withUnsafeBufferPointer { t in
          inParts { part in
            panels[part] = Scalar.panels(
              t.baseAddress!, columns: L, depth: L, transposed: part == 0)
          }
        }
      }
      (forwardPanels, backwardPanels) = (panels[0], panels[1])
    }

    /// exp(x − max x) over the allowed entries, and the shift max x (0 when every entry is
    /// forbidden); exp(−∞) makes forbidden ones exactly 0.
    private static func exponentiated(_ scores: [Double]) -> ([Scalar], Double) {
      scores.withUnsafeBufferPointer { scores in
        let shift = Self.shift(scores)
        let exponentiated = [Scalar](unsafeUninitializedCapacity: scores.count) {
          buffer, initialized in
          Self.exponentials(
            scores, minus: shift, range: 0..<scores.count, into: buffer.baseAddress!)
          initialized = scores.count
        }
        return (exponentiated, shift)
      }
    }

    /// `Sequence.max`'s maximum of `scores`: the first element, replaced by each later one
    /// that compares greater, so a NaN first is kept, later NaNs are skipped, and of equal
    /// elements (−0 and +0) the first stays; then 0 for −∞ (all forbidden) or no element. In
    /// eight chains of comparisons, element k in chain k mod 8, instead of one that waited on
    /// each comparison: the chains' maximum is the same value, whose bits are that of any
    /// element equal to it unless it is a zero, and then the first zero's.
    private static func shift(_ scores: UnsafeBufferPointer<Double>) -> Double {
      guard let first = scores.first else { return 0 }
      guard !first.isNaN else { return first }
      var m = (first, first, first, first, first, first, first, first)
      let vectorCount = scores.count / 8 * 8
      for k in stride(from: 0, to: vectorCount, by: 8) {
        if m.0 < scores[k] { m.0 = scores[k] }
        if m.1 < scores[k + 1] { m.1 = scores[k + 1] }
        if m.2 < scores[k + 2] { m.2 = scores[k + 2] }
        if m.3 < scores[k + 3] { m.3 = scores[k + 3] }
        if m.4 < scores[k + 4] { m.4 = scores[k + 4] }
        if m.5 < scores[k + 5] { m.5 = scores[k + 5] }
        if m.6 < scores[k + 6] { m.6 = scores[k + 6] }
        if m.7 < scores[k + 7] { m.7 = scores[k + 7] }
      }
      var maximum = first
      for chain in [m.0, m.1, m.2, m.3, m.4, m.5, m.6, m.7] where maximum < chain {
        maximum = chain
      }
      for k in vectorCount..<scores.count where maximum < scores[k] { maximum = scores[k] }
      if maximum == 0 { maximum = scores.first { $0 == 0 }! }
      return maximum == -.infinity ? 0 : maximum
    }

    /// `y[k] = Scalar(exp(scores[k] − shift))` for k in `range`, exponentiated in Double.
    private static func exponentials(
      _ scores: UnsafeBufferPointer<Double>, minus shift: Double, range: Range<Int>,
      into y: UnsafeMutablePointer<Scalar>
    ) {
      guard !range.isEmpty else { return }
      Scalar.exponentials(
        of: scores.baseAddress! + range.lowerBound, minus: shift, into: y + range.lowerBound,
        count: range.count)
    }
  }

  /// The potentials of the scaled recursions in `scalar`'s precision.
  func potentials<Scalar: RecursionScalar>(
    _ scalar: Scalar.Type = Double.self, parameters θ: UnsafeBufferPointer<Float>,
    constraints: TransitionConstraints? = nil, concurrently: Bool = false
  ) -> Potentials<Scalar> {
    Potentials(self, parameters: θ, constraints: constraints, concurrently: concurrently)
  }
}

extension LinearChain {
  /// Whether the scaled recursions in Double are exact up to rounding for these parameters,
  /// judged by the spread of the allowed transition, start and end scores (each table's largest
  /// minus its smallest): one step moves a state's forward weight against another's by at most
  /// e^spread, and its backward weight too, so a term lost to underflow (below Double's least
  /// normal, m) weighs at most m · L · e^(2·spread) against the total, below e^−64 while
  /// 2·spread + log L < −log m − 64 (−log m is 708). A model trained to the edge of divergence
  /// (transitions of ±300) is past it: its scaled log Z came out 117 below the true one, and
  /// finite. Asked by inference's confidences only, not of every training batch's potentials.
  /// One pass over θ, allocating nothing: it runs for every batch whose confidences are asked.
  func scaledRecursionsFit(
    parameters θ: UnsafeBufferPointer<Float>, constraints: TransitionConstraints?
  ) -> Bool {
    let L = labelCount
    func spread(_ offset: Int, _ count: Int, _ allowed: [Bool]?) -> Float {
      var (smallest, largest) = (Float.infinity, -Float.infinity)
      for k in 0..<count where allowed?[k] ?? true {
        (smallest, largest) = (min(smallest, θ[offset + k]), max(largest, θ[offset + k]))
      }
      return largest >= smallest ? largest - smallest : 0
    }
    let widest = max(
      spread(0, L * L, constraints?.allowedTransition),
      spread(startOffset, L, constraints?.allowedStart),
      spread(endOffset, L, constraints?.allowedEnd))
    return 2 * Double(widest) + log(Double(L)) < -log(Double.leastNormalMagnitude) - 64
  }
}
