import ConllEval

/// Which transitions a tag scheme allows; forbidden ones score −∞ at decoding time
/// (`LinearChain.maskedScores` is the one place that applies them).
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

  /// The transitions `scheme` allows between `labels` (e.g. BIO: I-X only after B-X or I-X).
  public init(labels: [String], scheme: TagScheme) {
    let L = labels.count
    self.init(
      labelCount: L,
      allowedTransition: (0..<L * L).map {
        isAllowedTransition(from: labels[$0 / L], to: labels[$0 % L], scheme: scheme)
      },
      allowedStart: labels.map { isAllowedTransition(from: nil, to: $0, scheme: scheme) },
      allowedEnd: labels.map { isAllowedEnd($0, scheme: scheme) })
  }

  /// The constraints of `scheme` when every label is a chunk label (O, B-X, I-X, …); nil
  /// otherwise: a label set such as part-of-speech tags has no scheme, and every path would
  /// count as forbidden.
  public init?(chunkLabels labels: [String], scheme: TagScheme) {
    guard labels.allSatisfy(Self.isChunkLabel) else { return nil }
    self.init(labels: labels, scheme: scheme)
  }

  /// True for `O` and for labels of the form `B-X`, `I-X`, `E-X`, `S-X` (X non-empty).
  public static func isChunkLabel(_ label: String) -> Bool {
    if label == "O" { return true }
    let scalars = Array(label.unicodeScalars.prefix(3))
    return scalars.count > 2 && "BIES".unicodeScalars.contains(scalars[0]) && scalars[1] == "-"
  }
}
