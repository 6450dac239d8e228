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

/// Which transitions a tag scheme allows; forbidden ones score −∞ at decoding time.
public struct TransitionConstraints: Sendable, Equatable {
  public let labelCount: Int
  /// `allowedTransition[i·L + j]`: may label j follow label i?
  public var allowedTransition: [Bool]
  public var allowedStart: [Bool]
  public var allowedEnd: [Bool]

  /// Everything allowed.
  public init(labelCount: Int) {
    self.labelCount = labelCount
    allowedTransition = Array(repeating: true, count: labelCount * labelCount)
    allowedStart = Array(repeating: true, count: labelCount)
    allowedEnd = Array(repeating: true, count: labelCount)
  }

  public init(labelCount: Int, allowedTransition: [Bool], allowedStart: [Bool], allowedEnd: [Bool]) {
    self.labelCount = labelCount
    self.allowedTransition = allowedTransition
    self.allowedStart = allowedStart
    self.allowedEnd = allowedEnd
  }
}

/// Linear-chain scoring shared by the CRF, perceptron and SSVM heads: layout, path score,
/// path features, Viterbi (plain and cost-augmented) and forward–backward.
public struct LinearChain: Sendable {
  public let labelCount: Int
  public var parameterCount: Int { labelCount * labelCount + 2 * labelCount }
  var startOffset: Int { labelCount * labelCount }
  var endOffset: Int { labelCount * labelCount + labelCount }

  public init(labelCount: Int) { self.labelCount = labelCount }

  /// `s(y)` as defined above.
  public func score(
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
  public func addFeatures(
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

  /// Chain scores in the form the vectorised Viterbi reads them, built once per batch: Float,
  /// rows padded to a multiple of 16 labels, forbidden and padding entries −∞.
  public struct DecodingScores: Sendable {
    let labelCount: Int
    /// `L` rounded up to whole 16-lane vectors.
    let stride: Int
    var transition: [Float]  // (L, stride): transition[i·stride + j]
    var start: [Float]  // (stride)
    var end: [Float]  // (stride)
  }

  public func decodingScores(
    parameters θ: UnsafeBufferPointer<Float>, constraints: TransitionConstraints? = nil
  ) -> DecodingScores {
    let L = labelCount, stride = (L + 15) / 16 * 16
    var scores = DecodingScores(
      labelCount: L, stride: stride,
      transition: [Float](repeating: -.infinity, count: L * stride),
      start: [Float](repeating: -.infinity, count: stride), end: [Float](repeating: -.infinity, count: stride))
    // Runs once per decoded batch (per sentence when tagging one at a time): plain buffers,
    // and the optional constraints unwrapped once, keep it to a copy of L² Floats.
    let everything = TransitionConstraints(labelCount: L)
    let allowed = constraints ?? everything
    allowed.allowedTransition.withUnsafeBufferPointer { allowedTransition in
      scores.transition.withUnsafeMutableBufferPointer { transition in
        for i in 0..<L {
          for j in 0..<L where allowedTransition[i * L + j] { transition[i * stride + j] = θ[i * L + j] }
        }
      }
    }
    for j in 0..<L {
      if allowed.allowedStart[j] { scores.start[j] = θ[startOffset + j] }
      if allowed.allowedEnd[j] { scores.end[j] = θ[endOffset + j] }
    }
    return scores
  }

  /// The highest-scoring path, with its score recomputed exactly in Double (plus the cost, when
  /// cost-augmented): the vectorised Viterbi below with `referenceViterbi`'s results.
  public func viterbi(
    emissions e: MatrixView, parameters θ: UnsafeBufferPointer<Float>,
    constraints: TransitionConstraints? = nil, costAugmentation: (gold: [Int], weight: Double)? = nil
  ) -> (path: [Int], score: Double) {
    let path = viterbi(
      emissions: e, scores: decodingScores(parameters: θ, constraints: constraints),
      costAugmentation: costAugmentation)
    var total = score(of: path, emissions: e, parameters: θ)
    if let (gold, weight) = costAugmentation {
      total += weight * Double(zip(path, gold).filter { $0 != $1 }.count)
    }
    return (path, total)
  }

  /// The Viterbi recursion of `referenceViterbi`, in Float, 16 labels per vector step: for each
  /// previous label i, `candidate = δ[t−1][i] + trans[i][·]` is compared with the running best
  /// of all 16 next labels at once, and a mask updates both the best score and its argmax.
  /// i ascends and the comparison is strict, so ties go to the lowest label id, as in the
  /// reference. L = 120 labels make this 8 vector steps per (t, i) instead of 120 scalar ones.
  public func viterbi(
    emissions e: MatrixView, scores: DecodingScores,
    costAugmentation: (gold: [Int], weight: Double)? = nil
  ) -> [Int] {
    let T = e.rows, L = labelCount, stride = scores.stride, vectors = stride / 16
    guard T > 0 else { return [] }
    var delta = [Float](repeating: -.infinity, count: stride)  // δ[t−1], (stride)
    var best = [Float](repeating: -.infinity, count: stride)  // running max over i, (stride)
    var backPointer = [Int32](repeating: 0, count: T * stride)  // ψ, (T, stride)
    func addEmissions(_ t: Int, to row: UnsafeMutablePointer<Float>) {
      let emissionRow = e.row(t)
      for j in 0..<L { row[j] += emissionRow[j] }
      if let (gold, weight) = costAugmentation {
        for j in 0..<L where j != gold[t] { row[j] += Float(weight) }
      }
    }
    scores.transition.withUnsafeBufferPointer { transition in
      delta.withUnsafeMutableBufferPointer { delta in
        best.withUnsafeMutableBufferPointer { best in
          backPointer.withUnsafeMutableBufferPointer { backPointer in
            let delta = delta.baseAddress!, best = best.baseAddress!
            for j in 0..<stride { delta[j] = scores.start[j] }
            addEmissions(0, to: delta)
            for t in 1..<T {
              let pointers = backPointer.baseAddress! + t * stride
              for v in 0..<vectors {
                var running = Lanes(repeating: -.infinity)
                var argument = SIMD16<Int32>(repeating: 0)
                for i in 0..<L where delta[i] > -.infinity {
                  let candidate = Lanes(repeating: delta[i])
                    + UnsafeRawPointer(transition.baseAddress! + i * stride + v * 16).loadUnaligned(as: Lanes.self)
                  let better = candidate .> running
                  running.replace(with: candidate, where: better)
                  argument.replace(with: SIMD16<Int32>(repeating: Int32(i)), where: better)
                }
                UnsafeMutableRawPointer(best + v * 16).storeBytes(of: running, as: Lanes.self)
                UnsafeMutableRawPointer(pointers + v * 16).storeBytes(of: argument, as: SIMD16<Int32>.self)
              }
              addEmissions(t, to: best)
              delta.update(from: best, count: stride)
            }
          }
        }
      }
    }
    var bestScore = -Float.infinity, bestLast = 0
    for j in 0..<L where delta[j] + scores.end[j] > bestScore {
      bestScore = delta[j] + scores.end[j]
      bestLast = j
    }
    var path = [Int](repeating: 0, count: T)
    path[T - 1] = bestLast
    for t in Swift.stride(from: T - 1, to: 0, by: -1) { path[t - 1] = Int(backPointer[t * stride + path[t]]) }
    return path
  }

  /// The highest-scoring path and its score, by Viterbi:
  ///   δ[0][j] = start[j] + ê[0][j]
  ///   δ[t][j] = ê[t][j] + max_i (δ[t−1][i] + trans[i][j]),   ψ[t][j] = argmax_i
  ///   best = max_j δ[T−1][j] + end[j], then follow ψ back.
  /// With `costAugmentation = (gold, weight)`, ê[t][j] = e[t][j] + weight·[j ≠ gold_t]: the
  /// Hamming cost decomposes over tokens, so loss-augmented inference is the same DP on shifted
  /// emissions, and the returned score includes the cost. Ties go to the lowest label id.
  /// Kept in Double and plain loops as the reference the vectorised version is tested against.
  public func referenceViterbi(
    emissions e: MatrixView, parameters θ: UnsafeBufferPointer<Float>,
    constraints: TransitionConstraints? = nil, costAugmentation: (gold: [Int], weight: Double)? = nil
  ) -> (path: [Int], score: Double) {
    let T = e.rows, L = labelCount
    guard T > 0 else { return ([], 0) }
    func score(_ offset: Int, _ k: Int, _ allowed: [Bool]?) -> Double {
      allowed?[k] ?? true ? Double(θ[offset + k]) : -.infinity
    }
    let scores = (
      transition: (0..<L * L).map { score(0, $0, constraints?.allowedTransition) },
      start: (0..<L).map { score(startOffset, $0, constraints?.allowedStart) },
      end: (0..<L).map { score(endOffset, $0, constraints?.allowedEnd) })
    var delta = [Double](repeating: 0, count: L)  // δ[t−1], (L)
    var best = [Double](repeating: 0, count: L)  // max_i δ[t−1][i] + trans[i][j], (L)
    var backPointer = [Int32](repeating: 0, count: T * L)  // ψ, (T, L)
    func addEmissions(_ t: Int, to row: UnsafeMutableBufferPointer<Double>) {
      let emissionRow = e.row(t)
      for j in 0..<L { row[j] += Double(emissionRow[j]) }
      if let (gold, weight) = costAugmentation {
        for j in 0..<L where j != gold[t] { row[j] += weight }
      }
    }
    scores.transition.withUnsafeBufferPointer { transition in
      delta.withUnsafeMutableBufferPointer { delta in
        best.withUnsafeMutableBufferPointer { best in
          backPointer.withUnsafeMutableBufferPointer { backPointer in
            for j in 0..<L { delta[j] = scores.start[j] }
            addEmissions(0, to: delta)
            for t in 1..<T {
              let pointers = backPointer.baseAddress! + t * L
              for j in 0..<L {
                best[j] = -.infinity
                pointers[j] = 0
              }
              // i outer, j inner: rows of trans are contiguous, and the strict > keeps the
              // lowest i among ties.
              for i in 0..<L where delta[i] > -.infinity {
                let d = delta[i], row = transition.baseAddress! + i * L
                for j in 0..<L {
                  let candidate = d + row[j]
                  if candidate > best[j] {
                    best[j] = candidate
                    pointers[j] = Int32(i)
                  }
                }
              }
              addEmissions(t, to: best)
              for j in 0..<L { delta[j] = best[j] }
            }
          }
        }
      }
    }
    var bestScore = -Double.infinity, bestLast = 0
    for j in 0..<L where delta[j] + scores.end[j] > bestScore {
      bestScore = delta[j] + scores.end[j]
      bestLast = j
    }
    var path = [Int](repeating: 0, count: T)
    path[T - 1] = bestLast
    for t in stride(from: T - 1, to: 0, by: -1) { path[t - 1] = Int(backPointer[t * L + path[t]]) }
    return (path, bestScore)
  }

  /// log Z and marginals by the forward–backward algorithm in log space:
  ///   α[0][j] = start[j] + e[0][j],   α[t][j] = e[t][j] + logΣexp_i(α[t−1][i] + trans[i][j])
  ///   β[T−1][i] = end[i],             β[t][i] = logΣexp_j(trans[i][j] + e[t+1][j] + β[t+1][j])
  ///   log Z = logΣexp_j(α[T−1][j] + end[j])
  ///   P(y_t = j) = exp(α[t][j] + β[t][j] − log Z)
  ///   P(y_{t−1} = i, y_t = j) = exp(α[t−1][i] + trans[i][j] + e[t][j] + β[t][j] − log Z)
  /// Returns log Z, unary marginals `(T, L)` and the pairwise marginals summed over t, `(L, L)`.
  public func forwardBackward(
    emissions e: MatrixView, parameters θ: UnsafeBufferPointer<Float>,
    constraints: TransitionConstraints? = nil
  ) -> (logZ: Double, unary: [Double], pairwise: [Double]) {
    let T = e.rows, L = labelCount
    guard T > 0 else { return (0, [], [Double](repeating: 0, count: L * L)) }
    var transition = [Double](repeating: 0, count: L * L)
    var start = [Double](repeating: 0, count: L), end = [Double](repeating: 0, count: L)
    for k in 0..<L * L {
      transition[k] = constraints.map { $0.allowedTransition[k] } ?? true ? Double(θ[k]) : -.infinity
    }
    for j in 0..<L {
      start[j] = constraints.map { $0.allowedStart[j] } ?? true ? Double(θ[startOffset + j]) : -.infinity
      end[j] = constraints.map { $0.allowedEnd[j] } ?? true ? Double(θ[endOffset + j]) : -.infinity
    }
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
          let logP = alpha[(t - 1) * L + i] + transition[i * L + j] + Double(e[t, j])
            + beta[t * L + j] - logZ
          pairwise[i * L + j] += exp(logP)
        }
      }
    }
    return (logZ, unary, pairwise)
  }
}

extension LinearChain {
  /// The exponentiated chain parameters of the scaled recursions, computed once per batch:
  /// `transition[i·L + j] = exp(trans[i][j] − shift)` and likewise `start`, `end`, each shifted by
  /// its own maximum so the largest factor is 1; forbidden entries are exactly 0.
  public struct Potentials {
    public let labelCount: Int
    var transition: [Double]  // (L, L)
    var start: [Double]  // (L)
    var end: [Double]  // (L)
    var transitionShift = 0.0, startShift = 0.0, endShift = 0.0

    init(_ chain: LinearChain, parameters θ: UnsafeBufferPointer<Float>, constraints: TransitionConstraints?) {
      let L = chain.labelCount
      labelCount = L
      func exponentiate(_ offset: Int, _ count: Int, _ allowed: [Bool]?) -> ([Double], Double) {
        var shift = -Double.infinity
        for k in 0..<count where allowed?[k] ?? true { shift = max(shift, Double(θ[offset + k])) }
        if shift == -.infinity { shift = 0 }
        let values = (0..<count).map { k in allowed?[k] ?? true ? exp(Double(θ[offset + k]) - shift) : 0 }
        return (values, shift)
      }
      (transition, transitionShift) = exponentiate(0, L * L, constraints?.allowedTransition)
      (start, startShift) = exponentiate(chain.startOffset, L, constraints?.allowedStart)
      (end, endShift) = exponentiate(chain.endOffset, L, constraints?.allowedEnd)
    }
  }

  public func potentials(
    parameters θ: UnsafeBufferPointer<Float>, constraints: TransitionConstraints? = nil
  ) -> Potentials {
    Potentials(self, parameters: θ, constraints: constraints)
  }

  /// Marginals of a batch of sentences from `scaledForwardBackward`.
  public struct BatchMarginals {
    public let labelCount: Int
    public let sentenceCount: Int
    /// log Z per sentence.
    public var logZ: [Double]
    /// `(T, B, L)`: `unary[(t·B + b)·L + l] = P(y_t = l)` for sentence b; 0 past its end.
    var unary: [Double]
    /// `(L, L)`: Σ over sentences and t of P(y_{t−1} = i, y_t = j).
    public var pairwise: [Double]

    /// P(y_t = l) in sentence b.
    public func unary(sentence b: Int, token t: Int, label l: Int) -> Double {
      unary[(t * sentenceCount + b) * labelCount + l]
    }
  }

  /// The same log Z and marginals as `forwardBackward`, for a whole batch at once, by scaled
  /// recursions in probability space (Rabiner 1989): each step is one BLAS product over all
  /// sentences instead of L² exps per sentence. For sentence b (index dropped), E = T̂ the
  /// exponentiated transitions:
  ///   ψ[t][j] = exp(e[t][j] − m_t),  m_t = max_j e[t][j]
  ///   α̂[0] = start ⊙ ψ[0] / c_0,      α̂[t] = (α̂[t−1] · E) ⊙ ψ[t] / c_t   (c_t normalises α̂[t])
  ///   z = Σ_j α̂[T−1][j] · end[j],      log Z = Σ_t log c_t + log z + Σ_t m_t + shifts
  ///   β̂[T−1] = end / z,                β̂[t] = g[t+1] · Eᵀ,  g[t+1] = ψ[t+1] ⊙ β̂[t+1] / c_{t+1}
  ///   P(y_t = i) = α̂[t][i] · β̂[t][i],  Σ_t P(y_{t−1} = i, y_t = j) = E[i][j] · (Σ_t α̂[t−1]ᵀ g[t])[i][j]
  /// Rows of sentences that have ended are zero, so they drop out of every product. In Double,
  /// whose range covers any realistic spread of scores; `forwardBackward` is the log-space
  /// reference that tests compare this against.
  public func scaledForwardBackward(emissions: [MatrixView], potentials: Potentials) -> BatchMarginals {
    let L = labelCount, B = emissions.count
    let lengths = emissions.map(\.rows), T = lengths.max() ?? 0
    var marginals = BatchMarginals(
      labelCount: L, sentenceCount: B, logZ: [Double](repeating: 0, count: B), unary: [],
      pairwise: [Double](repeating: 0, count: L * L))
    guard T > 0 else { return marginals }
    var psi = [Double](repeating: 0, count: T * B * L)  // ψ, (T, B, L)
    var alpha = [Double](repeating: 0, count: T * B * L)  // α̂, (T, B, L)
    var beta = [Double](repeating: 0, count: T * B * L)  // β̂, (T, B, L)
    var g = [Double](repeating: 0, count: T * B * L)  // g, (T, B, L); step 0 stays zero
    var scale = [Double](repeating: 1, count: T * B)  // c, (T, B)
    var z = [Double](repeating: 1, count: B)
    for (b, e) in emissions.enumerated() where e.rows > 0 {
      var logZ = potentials.startShift + Double(e.rows - 1) * potentials.transitionShift + potentials.endShift
      for t in 0..<e.rows {
        let row = e.row(t), base = (t * B + b) * L
        var maximum = -Double.infinity
        for j in 0..<L { maximum = max(maximum, Double(row[j])) }
        for j in 0..<L { psi[base + j] = exp(Double(row[j]) - maximum) }
        logZ += maximum
      }
      marginals.logZ[b] = logZ
    }
    potentials.transition.withUnsafeBufferPointer { transition in
      let E = transition.baseAddress!
      alpha.withUnsafeMutableBufferPointer { alpha in
        let alpha = alpha.baseAddress!
        for b in 0..<B where lengths[b] > 0 {
          for j in 0..<L { alpha[b * L + j] = potentials.start[j] }  // ⊙ ψ[0] in the loop
        }
        for t in 0..<T {
          if t > 0 { gemm(alpha + (t - 1) * B * L, .none, E, .none, m: B, n: L, k: L, into: alpha + t * B * L) }
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
            marginals.logZ[b] += log(sum)
          }
        }
        for b in 0..<B where lengths[b] > 0 {
          let row = alpha + ((lengths[b] - 1) * B + b) * L
          var sum = 0.0
          for j in 0..<L { sum += row[j] * potentials.end[j] }
          z[b] = sum
          marginals.logZ[b] += log(sum)
        }
      }
      beta.withUnsafeMutableBufferPointer { beta in
        g.withUnsafeMutableBufferPointer { g in
          let beta = beta.baseAddress!, g = g.baseAddress!
          for t in stride(from: T - 1, through: 0, by: -1) {
            if t < T - 1 {
              for b in 0..<B where t + 1 < lengths[b] {
                let k = ((t + 1) * B + b) * L
                for j in 0..<L { g[k + j] = psi[k + j] * beta[k + j] / scale[(t + 1) * B + b] }
              }
              gemm(g + (t + 1) * B * L, .none, E, .transposed, m: B, n: L, k: L, into: beta + t * B * L)
            }
            for b in 0..<B where t == lengths[b] - 1 {
              for i in 0..<L { beta[(t * B + b) * L + i] = potentials.end[i] / z[b] }
            }
          }
          // Σ_t α̂[t−1]ᵀ g[t] over all sentences as one product: (T−1)·B rows of α̂ against
          // the rows of g one step later.
          alpha.withUnsafeBufferPointer { alpha in
            marginals.pairwise.withUnsafeMutableBufferPointer { pairwise in
              gemm(alpha.baseAddress!, .transposed, g + B * L, .none, m: L, n: L, k: (T - 1) * B,
                   into: pairwise.baseAddress!)
              for k in 0..<L * L { pairwise[k] *= E[k] }
            }
          }
        }
      }
    }
    for k in 0..<T * B * L { alpha[k] *= beta[k] }
    marginals.unary = alpha
    return marginals
  }

  /// One sentence's log Z, unary marginals `(T, L)` and pairwise sums `(L, L)` from
  /// `scaledForwardBackward`, in the form `forwardBackward` returns them.
  public func scaledForwardBackward(
    emissions e: MatrixView, potentials: Potentials
  ) -> (logZ: Double, unary: [Double], pairwise: [Double]) {
    let marginals = scaledForwardBackward(emissions: [e], potentials: potentials)
    return (marginals.logZ[0], Array(marginals.unary.prefix(e.rows * labelCount)), marginals.pairwise)
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
