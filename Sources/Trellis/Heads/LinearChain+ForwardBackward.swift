import Foundation

// Legend and score s(y): see LinearChain.swift.

extension LinearChain {
  /// log Z and marginals by the forward–backward algorithm in log space:
  ///   α[0][j] = start[j] + e[0][j],   α[t][j] = e[t][j] + logΣexp_i(α[t−1][i] + trans[i][j])
  ///   β[T−1][i] = end[i],             β[t][i] = logΣexp_j(trans[i][j] + e[t+1][j] + β[t+1][j])
  ///   log Z = logΣexp_j(α[T−1][j] + end[j])
  ///   P(y_t = j) = exp(α[t][j] + β[t][j] − log Z)
  ///   P(y_{t−1} = i, y_t = j) = exp(α[t−1][i] + trans[i][j] + e[t][j] + β[t][j] − log Z)
  /// Returns log Z, unary marginals `(T, L)` and the pairwise marginals summed over t, `(L, L)`.
  func forwardBackward(
    emissions e: MatrixView, parameters θ: UnsafeBufferPointer<Float>,
    constraints: TransitionConstraints? = nil
  ) -> (logZ: Double, unary: [Double], pairwise: [Double]) {
    let T = e.rows
    let L = labelCount
    guard T > 0 else { return (0, [], [Double](repeating: 0, count: L * L)) }
    let (alpha, beta, logZ, masked) = logRecursions(
      emissions: e, parameters: θ, constraints: constraints)
    let transition = masked.transition
    var unary = [Double](repeating: 0, count: T * L)
    for k in 0..<T * L { unary[k] = exp(alpha[k] + beta[k] - logZ) }
    var pairwise = [Double](repeating: 0, count: L * L)
    for t in 1..<T {
      for i in 0..<L where alpha[(t - 1) * L + i] > -.infinity {
        for j in 0..<L {
          let logP =
            alpha[(t - 1) * L + i] + transition[i * L + j] + Double(e[t, j])
            + beta[t * L + j] - logZ
          pairwise[i * L + j] += exp(logP)
        }
      }
    }
    return (logZ, unary, pairwise)
  }

  /// The log-space α `(T, L)`, β `(T, L)` and log Z of the recursions above (T ≥ 1), with the
  /// masked scores they read.
  func logRecursions(
    emissions e: MatrixView, parameters θ: UnsafeBufferPointer<Float>,
    constraints: TransitionConstraints?
  ) -> (alpha: [Double], beta: [Double], logZ: Double, masked: MaskedScores) {
    let T = e.rows
    let L = labelCount
    let masked = maskedScores(parameters: θ, constraints: constraints)
    let (transition, start, end) = (masked.transition, masked.start, masked.end)
    var alpha = [Double](repeating: 0, count: T * L)  // α, (T, L)
    var beta = [Double](repeating: 0, count: T * L)  // β, (T, L)
    var terms = [Double](repeating: 0, count: L)
    for j in 0..<L { alpha[j] = start[j] + Double(e[0, j]) }
    for t in 1..<T {
      for j in 0..<L {
        for i in 0..<L { terms[i] = alpha[(t - 1) * L + i] + transition[i * L + j] }
        alpha[t * L + j] = Double(e[t, j]) + logSumExp(terms)
      }
    }
    for i in 0..<L { beta[(T - 1) * L + i] = end[i] }
    for t in stride(from: T - 2, through: 0, by: -1) {
      for i in 0..<L {
        for j in 0..<L {
          terms[j] = transition[i * L + j] + Double(e[t + 1, j]) + beta[(t + 1) * L + j]
        }
        beta[t * L + i] = logSumExp(terms)
      }
    }
    for j in 0..<L { terms[j] = alpha[(T - 1) * L + j] + end[j] }
    return (alpha, beta, logSumExp(terms), masked)
  }

  /// Marginals of a batch of sentences from `scaledForwardBackward`.
  struct BatchMarginals<Scalar: RecursionScalar> {
    let labelCount: Int
    let sentenceCount: Int
    /// log Z per sentence.
    var logZ: [Double]
    /// `(T, B, L)`: `unary[(t·B + b)·L + l] = P(y_t = l)` for sentence b; 0 past its end.
    var unary: [Scalar]
    /// `(L, L)`: Σ over sentences and t of P(y_{t−1} = i, y_t = j).
    var pairwise: [Scalar]
    /// With `keepingRecursions`, `(T, B, L)` each: α̂ before it is multiplied by β̂ (the
    /// forward recursion's normalised weights), and g (rows t ≥ 1; row 0 holds ψ[0]), for
    /// `PrintedLabels`. Empty otherwise.
    var forward: [Scalar] = [], successors: [Scalar] = []
    /// Whether every scale, log Z and marginal is finite and every scale a normal number: false
    /// when `Scalar`'s range could not hold the recursions (a Float batch is then redone in
    /// Double, `CRFHead`).
    var isFinite = true

    /// P(y_t = l) in sentence b.
    func unary(sentence b: Int, token t: Int, label l: Int) -> Scalar {
      unary[unaryRowStart(sentence: b, token: t) + l]
    }

    /// Where token t of sentence b starts in `unary`: its L marginals follow.
    func unaryRowStart(sentence b: Int, token t: Int) -> Int {
      (t * sentenceCount + b) * labelCount
    }
  }

  /// The same log Z and marginals as `forwardBackward`, for a whole batch at once, by scaled
  /// recursions in probability space (Rabiner 1989): each step is one product over all
  /// sentences (`RecursionScalar.product` over E packed once) instead of L² exps per sentence.
  /// For sentence b (index dropped), E = T̂ the exponentiated transitions:
  ///   ψ[t][j] = exp(e[t][j] − m_t),  m_t = max_j e[t][j]
  ///   α̂[0] = start ⊙ ψ[0] / c_0,      α̂[t] = (α̂[t−1] · E) ⊙ ψ[t] / c_t   (c_t normalises α̂[t])
  ///   z = Σ_j α̂[T−1][j] · end[j],      log Z = Σ_t log c_t + log z + Σ_t m_t + shifts
  ///   β̂[T−1] = end / z,                β̂[t] = g[t+1] · Eᵀ,  g[t+1] = ψ[t+1] ⊙ β̂[t+1] / c_{t+1}
  ///   P(y_t = i) = α̂[t][i] · β̂[t][i],  Σ_t P(y_{t−1} = i, y_t = j) = E[i][j] · (Σ_t α̂[t−1]ᵀ g[t])[i][j]
  /// Rows of sentences that have ended are zero, so they drop out of every product. α̂ sums to
  /// 1 at every step and α̂[t][i] · β̂[t][i] ≤ 1, so the values stay within a few orders of
  /// magnitude of 1 unless the transitions' spread nears the range of `Scalar`
  /// (`BatchMarginals.isFinite` says when it did not suffice); sums over t and log Z are in
  /// Double. `forwardBackward` is the log-space reference that tests compare this against.
  func scaledForwardBackward<Scalar>(
    emissions: [MatrixView], potentials: Potentials<Scalar>, keepingRecursions: Bool = false
  ) -> BatchMarginals<Scalar> {
    let L = labelCount
    let B = emissions.count
    let lengths = emissions.map(\.rows)
    let T = lengths.max() ?? 0
    var marginals = BatchMarginals<Scalar>(
      labelCount: L, sentenceCount: B, logZ: [Double](repeating: 0, count: B), unary: [],
      pairwise: [Scalar](repeating: 0, count: L * L))
    guard T > 0 else { return marginals }
    var pass = ScaledPass<Scalar>(labelCount: L, lengths: lengths)
    for (b, e) in emissions.enumerated() where e.rows > 0 {
      var logZ =
        potentials.startShift + Double(e.rows - 1) * potentials.transitionShift
        + potentials.endShift
      for t in 0..<e.rows {
        let row = e.row(t)
        let base = (t * B + b) * L
        let maximum = rowMaximum(row, count: L)
        pass.psi.withUnsafeMutableBufferPointer { psi in
          let psi = psi.baseAddress! + base
          for j in 0..<L { psi[j] = Scalar(row[j]) - Scalar(maximum) }
          Scalar.exponentials(psi, into: psi, count: L)
        }
        logZ += Double(maximum)
      }
      marginals.logZ[b] = logZ
    }
    let scalesFit = pass.forward(potentials: potentials, logZ: &marginals.logZ)
    pass.backward(potentials: potentials, pairwise: &marginals.pairwise)
    if keepingRecursions { (marginals.forward, marginals.successors) = (pass.alpha, pass.psi) }
    pass.beta.withUnsafeBufferPointer { beta in
      pass.alpha.withUnsafeMutableBufferPointer { alpha in
        for k in alpha.indices { alpha[k] *= beta[k] }
      }
    }
    // Sums of the marginals, which are at most 1 each, are finite exactly when every one is.
    let unaryTotal = pass.alpha.withUnsafeBufferPointer { laneSum($0) }
    let pairwiseTotal = marginals.pairwise.withUnsafeBufferPointer { laneSum($0) }
    marginals.unary = pass.alpha
    marginals.isFinite = scalesFit && unaryTotal.isFinite && pairwiseTotal.isFinite
    return marginals
  }

  /// The largest of `count` Floats at `row` (−∞ for none), in eight chains of comparisons,
  /// element j in chain j mod 8: the maximum does not depend on the order, and one chain waited
  /// on each comparison. (`SIMD16`'s `pointwiseMax` compiled to one lane at a time.)
  private func rowMaximum(_ row: UnsafePointer<Float>, count: Int) -> Float {
    var m = (
      -Float.infinity, -Float.infinity, -Float.infinity, -Float.infinity,
      -Float.infinity, -Float.infinity, -Float.infinity, -Float.infinity
    )
    let vectorCount = count / 8 * 8
    for j in stride(from: 0, to: vectorCount, by: 8) {
      m.0 = max(m.0, row[j])
      m.1 = max(m.1, row[j + 1])
      m.2 = max(m.2, row[j + 2])
      m.3 = max(m.3, row[j + 3])
      m.4 = max(m.4, row[j + 4])
      m.5 = max(m.5, row[j + 5])
      m.6 = max(m.6, row[j + 6])
      m.7 = max(m.7, row[j + 7])
    }
    var maximum = max(max(max(m.0, m.1), max(m.2, m.3)), max(max(m.4, m.5), max(m.6, m.7)))
    for j in vectorCount..<count { maximum = max(maximum, row[j]) }
    return maximum
  }

  /// The sum of `values` in eight chains, element k in chain k mod 8, then the chains' sum:
  /// for finiteness checks, where one chain of additions waited on every addition.
  private func laneSum<Scalar: RecursionScalar>(_ values: UnsafeBufferPointer<Scalar>) -> Scalar {
    var s: (Scalar, Scalar, Scalar, Scalar, Scalar, Scalar, Scalar, Scalar) = (
      0, 0, 0, 0, 0, 0, 0, 0
    )
    let vectorCount = values.count / 8 * 8
    for k in stride(from: 0, to: vectorCount, by: 8) {
      s.0 += values[k]
      s.1 += values[k + 1]
      s.2 += values[k + 2]
      s.3 += values[k + 3]
      s.4 += values[k + 4]
      s.5 += values[k + 5]
      s.6 += values[k + 6]
      s.7 += values[k + 7]
    }
    var sum = ((s.0 + s.1) + (s.2 + s.3)) + ((s.4 + s.5) + (s.6 + s.7))
    for k in vectorCount..<values.count { sum += values[k] }
    return sum
  }

  /// The buffers of `scaledForwardBackward`, all `(T, B, L)` but `scale` `(T, B)` and `z` `(B)`.
  private struct ScaledPass<Scalar: RecursionScalar> {
    let L: Int, B: Int, T: Int
    let lengths: [Int]
    /// ψ, overwritten by g[t] = ψ[t] ⊙ β̂[t] / c_t for t ≥ 1 in the backward pass.
    var psi: [Scalar], alpha: [Scalar], beta: [Scalar]
    var scale: [Scalar]
    var z: [Scalar]

    init(labelCount: Int, lengths: [Int]) {
      (L, B, T, self.lengths) = (labelCount, lengths.count, lengths.max() ?? 0, lengths)
      let size = T * B * L
      (psi, alpha, beta) = (
        [Scalar](repeating: 0, count: size), [Scalar](repeating: 0, count: size),
        [Scalar](repeating: 0, count: size)
      )
      scale = [Scalar](repeating: 1, count: T * B)
      z = [Scalar](repeating: 1, count: B)
    }

    /// α̂ and the scales c, one product per step for all sentences; adds log c and log z to
    /// logZ. Returns whether every c and z is a normal number of `Scalar`.
    mutating func forward(potentials: Potentials<Scalar>, logZ: inout [Double]) -> Bool {
      let (L, B, T, lengths) = (self.L, self.B, self.T, self.lengths)
      var allNormal = true
      alpha.withUnsafeMutableBufferPointer { alpha in
        let alpha = alpha.baseAddress!
        for b in 0..<B where lengths[b] > 0 {
          for j in 0..<L { alpha[b * L + j] = potentials.start[j] }  // ⊙ ψ[0] in the loop
        }
        for t in 0..<T {
          if t > 0 {
            Scalar.product(
              alpha + (t - 1) * B * L, .none, rows: B, depth: L,
              panels: potentials.forwardPanels, columns: L, into: alpha + t * B * L)
          }
          for b in 0..<B {
            let row = alpha + (t * B + b) * L
            guard t < lengths[b] else {
              row.update(repeating: 0, count: L)
              continue
            }
            var sum: Scalar = 0
            for j in 0..<L {
              row[j] *= psi[(t * B + b) * L + j]
              sum += row[j]
            }
            for j in 0..<L { row[j] /= sum }
            scale[t * B + b] = sum
            allNormal = allNormal && sum.isNormal
            logZ[b] += log(Double(sum))
          }
        }
        for b in 0..<B where lengths[b] > 0 {
          let row = alpha + ((lengths[b] - 1) * B + b) * L
          var sum: Scalar = 0
          for j in 0..<L { sum += row[j] * potentials.end[j] }
          z[b] = sum
          allNormal = allNormal && sum.isNormal
          logZ[b] += log(Double(sum))
        }
      }
      return allNormal
    }

    /// β̂, one product per step for all sentences, then the pairwise sums.
    mutating func backward(potentials: Potentials<Scalar>, pairwise: inout [Scalar]) {
      let (L, B, T, lengths) = (self.L, self.B, self.T, self.lengths)
      let (scale, z) = (self.scale, self.z)
      beta.withUnsafeMutableBufferPointer { beta in
        // g[t] replaces ψ[t] in place: ψ[t] is read nowhere after g[t] is formed, and its rows
        // past a sentence's end, zero, are g's too.
        psi.withUnsafeMutableBufferPointer { g in
          let beta = beta.baseAddress!
          let g = g.baseAddress!
          for t in stride(from: T - 1, through: 0, by: -1) {
            if t < T - 1 {
              for b in 0..<B where t + 1 < lengths[b] {
                let k = ((t + 1) * B + b) * L
                for j in 0..<L { g[k + j] = g[k + j] * beta[k + j] / scale[(t + 1) * B + b] }
              }
              Scalar.product(
                g + (t + 1) * B * L, .none, rows: B, depth: L,
                panels: potentials.backwardPanels, columns: L, into: beta + t * B * L)
            }
            for b in 0..<B where t == lengths[b] - 1 {
              for i in 0..<L { beta[(t * B + b) * L + i] = potentials.end[i] / z[b] }
            }
          }
          // Σ_t α̂[t−1]ᵀ g[t] over all sentences as one product: (T−1)·B rows of α̂, read in
          // place as α̂ᵀ, against the rows of g one step later, packed as the (depth, columns)
          // operand. With one step there are no pairs, and the sums stay zero.
          let steps = (T - 1) * B
          guard steps > 0 else { return }
          alpha.withUnsafeBufferPointer { alpha in
            pairwise.withUnsafeMutableBufferPointer { pairwise in
              Scalar.product(
                alpha.baseAddress!, .transposed, rows: L, depth: steps,
                panels: Scalar.panels(g + B * L, columns: L, depth: steps, transposed: true),
                columns: L, into: pairwise.baseAddress!)
              for k in 0..<L * L { pairwise[k] *= potentials.transition[k] }
            }
          }
        }
      }
    }
  }

  /// One sentence's log Z, unary marginals `(T, L)` and pairwise sums `(L, L)` from
  /// `scaledForwardBackward`, in the form `forwardBackward` returns them.
  func scaledForwardBackward<Scalar>(
    emissions e: MatrixView, potentials: Potentials<Scalar>
  ) -> (logZ: Double, unary: [Scalar], pairwise: [Scalar]) {
    let marginals = scaledForwardBackward(emissions: [e], potentials: potentials)
    return (
      marginals.logZ[0], Array(marginals.unary.prefix(e.rows * labelCount)), marginals.pairwise
    )
  }
}

/// `log Σ exp(x)` with the maximum factored out, so no term overflows; −∞ for all −∞ input.
@inline(__always) func logSumExp(_ x: [Double]) -> Double {
  var maximum = -Double.infinity
  for value in x where value > maximum { maximum = value }
  guard maximum > -.infinity else { return -.infinity }
  var sum = 0.0
  for value in x { sum += exp(value - maximum) }
  return maximum + log(sum)
}
