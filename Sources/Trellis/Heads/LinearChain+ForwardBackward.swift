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
    let logZ = logSumExp(terms)
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

  /// The exponentiated chain parameters of the scaled recursions, computed once per batch:
  /// `transition[i·L + j] = exp(trans[i][j] − shift)` and likewise `start`, `end`, each shifted by
  /// its own maximum so the largest factor is 1; forbidden entries are exactly 0.
  struct Potentials {
    let labelCount: Int
    var transition: [Double]  // (L, L)
    var start: [Double]  // (L)
    var end: [Double]  // (L)
    var transitionShift = 0.0, startShift = 0.0, endShift = 0.0
    /// `transition` packed for the recursions' products (`packedProduct`): α̂[t−1] · E
    /// forward, g[t+1] · Eᵀ backward.
    var forwardPanels: [Double] = [], backwardPanels: [Double] = []

    init(
      _ chain: LinearChain, parameters θ: UnsafeBufferPointer<Float>,
      constraints: TransitionConstraints?
    ) {
      let L = chain.labelCount
      labelCount = L
      let masked = chain.maskedScores(parameters: θ, constraints: constraints)
      /// exp(x − max x) over the allowed entries; exp(−∞) makes forbidden ones exactly 0.
      func exponentiate(_ scores: [Double]) -> ([Double], Double) {
        var shift = scores.max() ?? 0
        if shift == -.infinity { shift = 0 }
        var factors = scores.map { $0 - shift }
        factors.withUnsafeMutableBufferPointer {
          exponentials($0.baseAddress!, into: $0.baseAddress!, count: $0.count)
        }
        return (factors, shift)
      }
      (transition, transitionShift) = exponentiate(masked.transition)
      (start, startShift) = exponentiate(masked.start)
      (end, endShift) = exponentiate(masked.end)
      forwardPanels = doublePanels(transition, columns: L, depth: L, transposed: true)
      backwardPanels = doublePanels(transition, columns: L, depth: L)
    }
  }

  func potentials(
    parameters θ: UnsafeBufferPointer<Float>, constraints: TransitionConstraints? = nil
  ) -> Potentials {
    Potentials(self, parameters: θ, constraints: constraints)
  }

  /// Marginals of a batch of sentences from `scaledForwardBackward`.
  struct BatchMarginals {
    let labelCount: Int
    let sentenceCount: Int
    /// log Z per sentence.
    var logZ: [Double]
    /// `(T, B, L)`: `unary[(t·B + b)·L + l] = P(y_t = l)` for sentence b; 0 past its end.
    var unary: [Double]
    /// `(L, L)`: Σ over sentences and t of P(y_{t−1} = i, y_t = j).
    var pairwise: [Double]

    /// P(y_t = l) in sentence b.
    func unary(sentence b: Int, token t: Int, label l: Int) -> Double {
      unary[(t * sentenceCount + b) * labelCount + l]
    }
  }

  /// The same log Z and marginals as `forwardBackward`, for a whole batch at once, by scaled
  /// recursions in probability space (Rabiner 1989): each step is one product over all
  /// sentences (`packedProduct` in Double over E packed once) instead of L² exps per sentence.
  /// For sentence b (index dropped), E = T̂ the exponentiated transitions:
  ///   ψ[t][j] = exp(e[t][j] − m_t),  m_t = max_j e[t][j]
  ///   α̂[0] = start ⊙ ψ[0] / c_0,      α̂[t] = (α̂[t−1] · E) ⊙ ψ[t] / c_t   (c_t normalises α̂[t])
  ///   z = Σ_j α̂[T−1][j] · end[j],      log Z = Σ_t log c_t + log z + Σ_t m_t + shifts
  ///   β̂[T−1] = end / z,                β̂[t] = g[t+1] · Eᵀ,  g[t+1] = ψ[t+1] ⊙ β̂[t+1] / c_{t+1}
  ///   P(y_t = i) = α̂[t][i] · β̂[t][i],  Σ_t P(y_{t−1} = i, y_t = j) = E[i][j] · (Σ_t α̂[t−1]ᵀ g[t])[i][j]
  /// Rows of sentences that have ended are zero, so they drop out of every product. In Double,
  /// whose range covers any realistic spread of scores; `forwardBackward` is the log-space
  /// reference that tests compare this against.
  func scaledForwardBackward(emissions: [MatrixView], potentials: Potentials) -> BatchMarginals {
    let L = labelCount
    let B = emissions.count
    let lengths = emissions.map(\.rows)
    let T = lengths.max() ?? 0
    var marginals = BatchMarginals(
      labelCount: L, sentenceCount: B, logZ: [Double](repeating: 0, count: B), unary: [],
      pairwise: [Double](repeating: 0, count: L * L))
    guard T > 0 else { return marginals }
    var pass = ScaledPass(labelCount: L, lengths: lengths)
    for (b, e) in emissions.enumerated() where e.rows > 0 {
      var logZ =
        potentials.startShift + Double(e.rows - 1) * potentials.transitionShift
        + potentials.endShift
      for t in 0..<e.rows {
        let row = e.row(t)
        let base = (t * B + b) * L
        var maximum = -Double.infinity
        for j in 0..<L { maximum = max(maximum, Double(row[j])) }
        pass.psi.withUnsafeMutableBufferPointer { psi in
          let psi = psi.baseAddress! + base
          for j in 0..<L { psi[j] = Double(row[j]) - maximum }
          exponentials(psi, into: psi, count: L)
        }
        logZ += maximum
      }
      marginals.logZ[b] = logZ
    }
    pass.forward(potentials: potentials, logZ: &marginals.logZ)
    pass.backward(potentials: potentials, pairwise: &marginals.pairwise)
    for k in 0..<T * B * L { pass.alpha[k] *= pass.beta[k] }
    marginals.unary = pass.alpha
    return marginals
  }

  /// The buffers of `scaledForwardBackward`, all `(T, B, L)` but `scale` `(T, B)` and `z` `(B)`.
  private struct ScaledPass {
    let L: Int, B: Int, T: Int
    let lengths: [Int]
    /// ψ, overwritten by g[t] = ψ[t] ⊙ β̂[t] / c_t for t ≥ 1 in the backward pass.
    var psi: [Double], alpha: [Double], beta: [Double]
    var scale: [Double]
    var z: [Double]

    init(labelCount: Int, lengths: [Int]) {
      (L, B, T, self.lengths) = (labelCount, lengths.count, lengths.max() ?? 0, lengths)
      let size = T * B * L
      (psi, alpha, beta) = (
        [Double](repeating: 0, count: size), [Double](repeating: 0, count: size),
        [Double](repeating: 0, count: size)
      )
      scale = [Double](repeating: 1, count: T * B)
      z = [Double](repeating: 1, count: B)
    }

    /// α̂ and the scales c, one product per step for all sentences; adds log c and log z to logZ.
    mutating func forward(potentials: Potentials, logZ: inout [Double]) {
      let (L, B, T, lengths) = (self.L, self.B, self.T, self.lengths)
      alpha.withUnsafeMutableBufferPointer { alpha in
        let alpha = alpha.baseAddress!
        for b in 0..<B where lengths[b] > 0 {
          for j in 0..<L { alpha[b * L + j] = potentials.start[j] }  // ⊙ ψ[0] in the loop
        }
        for t in 0..<T {
          if t > 0 {
            packedProduct(
              alpha + (t - 1) * B * L, rows: B, depth: L, panels: potentials.forwardPanels,
              columns: L, into: alpha + t * B * L)
          }
          for b in 0..<B {
            let row = alpha + (t * B + b) * L
            guard t < lengths[b] else {
              row.update(repeating: 0, count: L)
              continue
            }
            var sum = 0.0
            for j in 0..<L {
              row[j] *= psi[(t * B + b) * L + j]
              sum += row[j]
            }
            for j in 0..<L { row[j] /= sum }
            scale[t * B + b] = sum
            logZ[b] += log(sum)
          }
        }
        for b in 0..<B where lengths[b] > 0 {
          let row = alpha + ((lengths[b] - 1) * B + b) * L
          var sum = 0.0
          for j in 0..<L { sum += row[j] * potentials.end[j] }
          z[b] = sum
          logZ[b] += log(sum)
        }
      }
    }

    /// β̂, one product per step for all sentences, then the pairwise sums.
    mutating func backward(potentials: Potentials, pairwise: inout [Double]) {
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
              packedProduct(
                g + (t + 1) * B * L, rows: B, depth: L, panels: potentials.backwardPanels,
                columns: L, into: beta + t * B * L)
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
              packedProduct(
                alpha.baseAddress!, .transposed, rows: L, depth: steps,
                panels: doublePanels(g + B * L, columns: L, depth: steps, transposed: true),
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
  func scaledForwardBackward(
    emissions e: MatrixView, potentials: Potentials
  ) -> (logZ: Double, unary: [Double], pairwise: [Double]) {
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
