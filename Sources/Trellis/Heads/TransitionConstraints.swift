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

  /// The transitions `scheme` allows between `labels` (e.g. BIO: I-X only after B-X or I-X).
  public init(labels: [String], scheme: TagScheme) {
    let L = labels.count
    labelCount = L
    allowedTransition = (0..<L * L).map {
      isAllowedTransition(from: labels[$0 / L], to: labels[$0 % L], scheme: scheme)
    }
    allowedStart = labels.map { isAllowedTransition(from: nil, to: $0, scheme: scheme) }
    allowedEnd = labels.map { isAllowedEnd($0, scheme: scheme) }
  }

  /// The constraints of `scheme` when every label is a chunk label (O, B-X, I-X, …); nil
  /// otherwise: a label set such as part-of-speech tags has no scheme, and every path would
  /// count as forbidden.
  public init?(chunkLabels labels: [String], scheme: TagScheme) {
    guard labels.allSatisfy(Self.isChunkLabel) else { return nil }
    self.init(labels: labels, scheme: scheme)
  }

  /// True for `O` and for labels of the form `B-X`, `I-X`, `E-X`, `S-X` (X non-empty).
  static func isChunkLabel(_ label: String) -> Bool {
    if label == "O" { return true }
    let scalars = Array(label.unicodeScalars.prefix(3))
    return scalars.count > 2 && "BIES".unicodeScalars.contains(scalars[0]) && scalars[1] == "-"
  }
}
