import ConllEval

/// Which transitions a tag scheme allows; forbidden ones score −∞ at decoding time
/// (`LinearChain.maskedScores` is the one place that applies them).
public struct TransitionConstraints: Sendable, Equatable {
  /// The number of labels, `L`.
  public let labelCount: Int
  /// `allowedTransition[i·L + j]`: may label j follow label i? `(L, L)`.
  public let allowedTransition: [Bool]
  /// `allowedStart[j]`: may a sentence start with label j? `(L)`.
  public let allowedStart: [Bool]
  /// `allowedEnd[j]`: may a sentence end with label j? `(L)`.
  public let allowedEnd: [Bool]
  /// Which sentence lengths have at least one allowed path (`admitsPath(length:)`).
  private let lengths: AdmittedLengths

  /// The transitions `scheme` allows between `labels` (e.g. BIO: I-X only after B-X or I-X).
  public init(labels: [String], scheme: TagScheme) {
    let L = labels.count
    labelCount = L
    allowedTransition = allowedTransitions(among: labels, scheme: scheme)
    allowedStart = labels.map { isAllowedTransition(from: nil, to: $0, scheme: scheme) }
    allowedEnd = labels.map { isAllowedEnd($0, scheme: scheme) }
    lengths = AdmittedLengths(
      labelCount: L, start: allowedStart, transition: allowedTransition, end: allowedEnd)
  }

  /// Whether some label sequence of `length` (≥ 1) satisfies the constraints. A label set
  /// can leave lengths with none: BIOES labels without `O` and `S-X` have no 1-token path.
  public func admitsPath(length: Int) -> Bool {
    precondition(length >= 1, "a path has at least one label")
    return lengths.admits(length)
  }

  /// The constraints of `scheme` when every label is a chunk label (O, B-X, I-X, …); nil
  /// otherwise: a label set such as part-of-speech tags has no scheme, and every path would
  /// count as forbidden.
  public init?(chunkLabels labels: [String], scheme: TagScheme) {
    guard labels.allSatisfy(isChunkLabel) else { return nil }
    self.init(labels: labels, scheme: scheme)
  }
}

/// The lengths with an allowed path, for every length at once. `reach(t)`, the labels that can
/// end an allowed prefix of length t, follows `reach(t+1)[j] = ∃i reach(t)[i] ∧ allowed(i→j)`
/// from `reach(1) = allowedStart`, a map on finitely many sets, so the sequence repeats: once
/// `reach(t)` equals an earlier `reach(s)`, length n ≥ s behaves as `s + (n − s) mod (t − s)`.
/// Length t has a path when `reach(t)` meets `allowedEnd`. Label sets from a tag scheme repeat
/// within a few steps.
private struct AdmittedLengths: Sendable, Equatable {
  /// `admitted[t − 1]` for t = 1 … the first repeat.
  let admitted: [Bool]
  /// The first length of the repeating part, `s`, and its period, `t − s`.
  let cycleStart: Int
  let period: Int

  init(labelCount L: Int, start: [Bool], transition: [Bool], end: [Bool]) {
    var reach = start
    var firstSeen: [[Bool]: Int] = [:]
    var admitted: [Bool] = []
    var length = 1
    while firstSeen[reach] == nil {
      firstSeen[reach] = length
      admitted.append(zip(reach, end).contains { $0 && $1 })
      reach = (0..<L).map { j in (0..<L).contains { i in reach[i] && transition[i * L + j] } }
      length += 1
    }
    self.admitted = admitted
    cycleStart = firstSeen[reach]!
    period = length - cycleStart
  }

  func admits(_ length: Int) -> Bool {
    let folded = length < cycleStart ? length : cycleStart + (length - cycleStart) % period
    return admitted[folded - 1]
  }
}
