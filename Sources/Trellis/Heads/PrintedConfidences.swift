import ConllEval
import Foundation

/// The probability of each label as printed, for a model whose labels are converted to another
/// scheme when printed (`convert(_:from:to:)`) in a way that depends on neighbours: to IOB1 a
/// chunk's first token prints B-X only after a chunk of type X, and to BIOES a token prints
/// E-X or S-X only where its chunk ends.
///
/// The label printed at t is a function of (y_{t−1}, y_t, y_{t+1}) that depends on y_{t−1}
/// only through a left class a(y_{t−1}, y_t) (what y_t prints as the last of the pair) and on
/// y_{t+1} only through a right class b(y_t, y_{t+1}) (what y_t prints as the first):
/// `convert` reads a chunk's start from the pair before and its end from the pair after. By
/// the Markov property the three-label marginal factorises, so
///   P(y_t = j, a, b) = exp(A_a(j) + m_t(j) + B_b(j)),
///   A_a(j) = logΣexp_{i : a(i, j) = a} (α[t−1][i] + trans[i][j])   (start[j] at t = 0)
///   B_b(j) = logΣexp_{k : b(j, k) = b} (trans[j][k] + e[t+1][k] + β[t+1][k])   (end[j] at T−1)
///   m_t(j) = e[t][j] − log Z,
/// and a token's confidence sums P(y_t = j, a, b) over the (j, a, b) printing its label. A
/// softmax head is the same with α = e = log p, β = trans = start = end = 0 and log Z = 0.
struct PrintedLabels: Sendable {
  let labelCount: Int
  /// `(L, L)`: `left[i·L + j]` is a(i, j), an index into j's left classes; class 0 is what j
  /// prints as alone, which is also its class at a sentence's start.
  let left: [Int32]
  /// `(L, L)`: `right[j·L + k]` is b(j, k), an index into j's right classes; class 0 is also
  /// its class at a sentence's end.
  let right: [Int32]
  /// Per label j, `(left classes, right classes)` row-major: the id of the label printed.
  let printed: [[Int32]]
  /// Per label j, its number of right classes (the row length of `printed[j]`).
  let rightClassCount: [Int]

  /// The classes and printed labels of `labels` (in `from`) written in `to`, each read off
  /// `convert` itself on windows of one to three labels.
  init(labels: [String], from: TagScheme, to: TagScheme) {
    let L = labels.count
    labelCount = L
    var ids: [ExactString: Int32] = [:]
    func id(_ label: String) -> Int32 {
      if let known = ids[ExactString(label)] { return known }
      ids[ExactString(label)] = Int32(ids.count)
      return Int32(ids.count - 1)
    }
    func printedAt(_ window: [Int], _ position: Int) -> String {
      convert(window.map { labels[$0] }, from: from, to: to)[position]
    }
    var (left, right) = ([Int32](repeating: 0, count: L * L), [Int32](repeating: 0, count: L * L))
    var printed: [[Int32]] = []
    var rightClassCount: [Int] = []
    for j in 0..<L {
      // Each class by the label j prints as, with one neighbour standing for it (nil: none).
      typealias Classes = [(label: String, neighbour: Int?)]
      var leftClasses: Classes = [(printedAt([j], 0), nil)]
      var rightClasses = leftClasses
      func index(_ label: String, _ neighbour: Int, in classes: inout Classes) -> Int32 {
        if let found = classes.firstIndex(where: { ExactString($0.label) == ExactString(label) }) {
          return Int32(found)
        }
        classes.append((label, neighbour))
        return Int32(classes.count - 1)
      }
      for other in 0..<L {
        left[other * L + j] = index(printedAt([other, j], 1), other, in: &leftClasses)
        right[j * L + other] = index(printedAt([j, other], 0), other, in: &rightClasses)
      }
      printed.append(
        leftClasses.flatMap { a in
          rightClasses.map { b in
            let window = (a.neighbour.map { [$0] } ?? []) + [j] + (b.neighbour.map { [$0] } ?? [])
            return id(printedAt(window, a.neighbour == nil ? 0 : 1))
          }
        })
      rightClassCount.append(rightClasses.count)
    }
    (self.left, self.right) = (left, right)
    (self.printed, self.rightClassCount) = (printed, rightClassCount)
  }

  /// The id of the label `path` prints at t.
  private func printedLabel(of path: [Int], at t: Int) -> Int32 {
    let (L, y) = (labelCount, path[t])
    let a = t > 0 ? Int(left[path[t - 1] * L + y]) : 0
    let b = t + 1 < path.count ? Int(right[y * L + path[t + 1]]) : 0
    return printed[y][a * rightClassCount[y] + b]
  }

  /// Each token's probability of printing what `path` prints there, from the log-space
  /// quantities of the legend: `alpha`, `beta`, `e` `(T, L)`, `transition` `(L, L)`, `startScores`
  /// and `endScores` `(L)` (−∞ where forbidden).
  func confidences(
    of path: [Int], alpha: [Double], beta: [Double], e: [Double], transition: [Double],
    startScores: [Double], endScores: [Double], logZ: Double
  ) -> [Double] {
    let (L, T) = (labelCount, path.count)
    return (0..<T).map { t in
      let target = printedLabel(of: path, at: t)
      var total = 0.0
      // Only labels that can print the target contribute (a few: B-X, I-X for IOB1's I-X).
      for j in 0..<L where printed[j].contains(target) {
        let leftSums = logSums(
          count: printed[j].count / rightClassCount[j], boundary: startScores[j],
          t == 0
            ? nil
            : (0..<L).map { i in
              (Int(left[i * L + j]), alpha[(t - 1) * L + i] + transition[i * L + j])
            })
        let rightSums = logSums(
          count: rightClassCount[j], boundary: endScores[j],
          t == T - 1
            ? nil
            : (0..<L).map { k in
              let next = (t + 1) * L + k
              return (Int(right[j * L + k]), transition[j * L + k] + e[next] + beta[next])
            })
        let middle = e[t * L + j] - logZ
        for (index, label) in printed[j].enumerated() where label == target {
          let (la, lb) = (index / rightClassCount[j], index % rightClassCount[j])
          total += exp(leftSums[la] + middle + rightSums[lb])
        }
      }
      return total
    }
  }
}

extension PrintedLabels {
  /// The same from sentence b of a batch's scaled recursions (`LinearChain.scaledForwardBackward`
  /// keeping α̂ and g, under transition potentials E): by the Markov property a and b are
  /// independent given y_t, so P(y_t = j, a, b) = P(y_t = j) · P(a | j) · P(b | j), with
  ///   P(a | j) ∝ Σ_{i : a(i, j) = a} α̂[t−1][i] · E[i][j]   (class 0 alone at t = 0)
  ///   P(b | j) ∝ Σ_{k : b(j, k) = b} E[j][k] · g[t+1][k]    (class 0 alone at t = T−1)
  /// the terms of α̂[t][j] = (α̂[t−1] · E)[j] · ψ[t][j] / c_t and β̂[t][j] = (g[t+1] · Eᵀ)[j]
  /// split by class. O(L) products per label that can print a token's label, where the
  /// log-space form above needs the O(T·L²) exponentials of the log recursions first.
  func confidences(
    of path: [Int], sentence b: Int, marginals: LinearChain.BatchMarginals<Double>,
    transition E: [Double]
  ) -> [Double] {
    let (L, T) = (labelCount, path.count)
    var (leftShares, rightShares) = ([Double](), [Double]())
    return (0..<T).map { t in
      let target = printedLabel(of: path, at: t)
      var total = 0.0
      for j in 0..<L where printed[j].contains(target) {
        let probability = marginals.unary(sentence: b, token: t, label: j)
        guard probability > 0 else { continue }
        let rightCount = rightClassCount[j]
        classShares(&leftShares, count: printed[j].count / rightCount, atEdge: t == 0) {
          let previous = marginals.unaryRowStart(sentence: b, token: t - 1)
          for i in 0..<L {
            $0[Int(left[i * L + j])] += marginals.forward[previous + i] * E[i * L + j]
          }
        }
        classShares(&rightShares, count: rightCount, atEdge: t == T - 1) {
          let next = marginals.unaryRowStart(sentence: b, token: t + 1)
          for k in 0..<L {
            $0[Int(right[j * L + k])] += E[j * L + k] * marginals.successors[next + k]
          }
        }
        for (index, label) in printed[j].enumerated() where label == target {
          total += probability * leftShares[index / rightCount] * rightShares[index % rightCount]
        }
      }
      return total
    }
  }
}

/// Each class's share of the sums `add` makes into `shares` (`count` classes); at a
/// sentence's edge, where there is no neighbour, class 0 holds everything.
private func classShares(
  _ shares: inout [Double], count: Int, atEdge: Bool, _ add: (inout [Double]) -> Void
) {
  shares = [Double](repeating: 0, count: count)
  guard !atEdge else {
    shares[0] = 1
    return
  }
  add(&shares)
  let total = shares.reduce(0, +)
  for c in 0..<count { shares[c] /= total }
}

/// Per class, logΣexp of the values falling in it; with no terms (a sentence's edge), the
/// boundary's value in class 0 and −∞ elsewhere.
private func logSums(count: Int, boundary: Double, _ terms: [(Int, Double)]?) -> [Double] {
  var result = [Double](repeating: -.infinity, count: count)
  guard let terms else {
    result[0] = boundary
    return result
  }
  var maxima = result
  for (c, value) in terms where value > maxima[c] { maxima[c] = value }
  var sums = [Double](repeating: 0, count: count)
  for (c, value) in terms where maxima[c] > -.infinity { sums[c] += exp(value - maxima[c]) }
  for c in 0..<count where maxima[c] > -.infinity { result[c] = maxima[c] + log(sums[c]) }
  return result
}

/// A model's `PrintedLabels`, built on the first call that needs them (a conversion's tables
/// take L² calls of `convert`, which a model that never answers with confidences should not
/// pay for at load).
final class PrintedLabelsCache: @unchecked Sendable {
  private var cached: PrintedLabels?
  private let lock = NSLock()

  func labels(make: () -> PrintedLabels) -> PrintedLabels {
    lock.withLock {
      if let cached { return cached }
      let made = make()
      cached = made
      return made
    }
  }
}

extension CRFHead {
  /// `confidences` with each token's of the label printed (`PrintedLabels`), from the same
  /// scaled pass over the batch, or the log-space recursions where it cannot be trusted.
  func printedConfidences(
    of paths: [[Int]], emissions: [MatrixView], parameters θ: UnsafeBufferPointer<Float>,
    constraints: TransitionConstraints?, printed: PrintedLabels
  ) -> [PathConfidence] {
    let potentials = chain.potentials(parameters: θ, constraints: constraints)
    if let (marginals, scores) = trustedMarginals(
      of: paths, emissions: emissions, parameters: θ, constraints: constraints,
      potentials: potentials, keepingRecursions: true)
    {
      return paths.enumerated().map { b, path in
        PathConfidence(
          tokens: printed.confidences(
            of: path, sentence: b, marginals: marginals, transition: potentials.transition),
          sequence: exp(scores[b] - marginals.logZ[b]), logPartition: marginals.logZ[b])
      }
    }
    return zip(paths, emissions).map { path, e in
      guard !path.isEmpty else { return PathConfidence(tokens: [], sequence: 1, logPartition: 0) }
      let (alpha, beta, logZ, masked) = chain.logRecursions(
        emissions: e, parameters: θ, constraints: constraints)
      let scores = (0..<e.rows).flatMap { t in (0..<labelCount).map { Double(e[t, $0]) } }
      return PathConfidence(
        tokens: printed.confidences(
          of: path, alpha: alpha, beta: beta, e: scores, transition: masked.transition,
          startScores: masked.start, endScores: masked.end, logZ: logZ),
        sequence: exp(chain.score(of: path, emissions: e, parameters: θ) - logZ),
        logPartition: logZ)
    }
  }
}

extension SoftmaxHead {
  /// The same for independent tokens: α = e = log p, and no transition, start or end scores.
  func printedConfidences(of paths: [[Int]], emissions: [MatrixView], printed: PrintedLabels)
    -> [[Double]]
  {
    let zeros = [Double](repeating: 0, count: labelCount * labelCount)
    return zip(paths, emissions).map { path, e in
      let logP = logProbabilities(e).flatMap { $0 }
      return printed.confidences(
        of: path, alpha: logP, beta: [Double](repeating: 0, count: logP.count), e: logP,
        transition: zeros, startScores: Array(zeros.prefix(labelCount)),
        endScores: Array(zeros.prefix(labelCount)), logZ: 0)
    }
  }
}
