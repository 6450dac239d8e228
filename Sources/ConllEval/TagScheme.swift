/// A way of writing chunks as one label per token. Labels are "O" or "PREFIX-TYPE", split at
/// the first "-".
public enum TagScheme: String, CaseIterable, Sendable {
  /// IOB1 (CoNLL-2003 style): every chunk token is "I-X", except that the first token of a chunk
  /// that directly follows a chunk of the same type is "B-X".
  case iob1
  /// IOB2 / BIO: the first token of every chunk is "B-X", the others "I-X".
  case bio
  /// IOBES / BIOES: a one-token chunk is "S-X"; longer chunks are "B-X", "I-X"..., "E-X".
  case bioes
}

/// A label split into prefix and type, for the tag-scheme functions (conlleval's own reading of
/// labels is `ConllTag`). Both are read and compared as bytes, as conlleval does: a combining
/// mark after the "-" belongs to the type, and types that differ only in Unicode normalisation
/// are two types.
private struct SchemeLabel {
  /// The prefix, one ASCII byte: "B", "I", "E", "S" or "O".
  var prefix: UInt8
  var type: Substring

  static let outside = SchemeLabel(prefix: Prefix.outside, type: "")

  /// The label's reading, or nil when `label` is not a label of `scheme`: "O", or a prefix byte the
  /// scheme uses ("B", "I"; BIOES also "E", "S") and "-" and a non-empty type.
  init?(_ label: String, scheme: TagScheme) {
    let bytes = label.utf8
    if sameBytes(bytes, "O".utf8) {
      self = .outside
      return
    }
    guard bytes.count >= 3, let prefix = bytes.first,
      bytes[bytes.index(after: bytes.startIndex)] == UInt8(ascii: "-")
    else { return nil }
    let prefixes = scheme == .bioes ? Prefix.bioes : Prefix.bio
    guard prefixes.contains(prefix) else { return nil }
    self.init(prefix: prefix, type: Substring(bytes.dropFirst(2)))
  }

  private init(prefix: UInt8, type: Substring) {
    self.prefix = prefix
    self.type = type
  }

  /// True for the labels after which a BIOES chunk is still open.
  var continuesChunk: Bool { prefix == Prefix.begin || prefix == Prefix.inside }

  func hasSameType(as other: SchemeLabel) -> Bool { sameBytes(type.utf8, other.type.utf8) }
}

/// The prefix bytes of the three schemes.
private enum Prefix {
  static let begin = UInt8(ascii: "B"), inside = UInt8(ascii: "I"), end = UInt8(ascii: "E")
  static let single = UInt8(ascii: "S"), outside = UInt8(ascii: "O")
  static let bio: [UInt8] = [begin, inside]
  static let bioes: [UInt8] = [begin, inside, end, single]
}

/// Converts a sentence's labels from one scheme to another (via chunks); round-trips must hold.
///
/// The labels are read as chunks, then written in the target scheme. Reading is the same for
/// every scheme, because B-, I-, E-, S- and O mean the same in all three, and it accepts invalid
/// sequences the way conlleval does: "B-X" and "S-X" start a chunk, "I-X" and "E-X" continue an
/// open chunk of type X or else start one, "E-X" and "S-X" close their chunk, and "O" (or any
/// other label) is outside. Converting to the scheme the labels are already in (`from == to`)
/// returns them unchanged, invalid transitions included.
public func convert(_ labels: [String], from: TagScheme, to: TagScheme) -> [String] {
  if from == to { return labels }
  return labelsForChunks(chunksForConversion(labels), count: labels.count, scheme: to)
}

/// Whether `convert(_:from:to:)` keeps `label`'s meaning: "O" or a prefix of any of the three
/// schemes ("B", "I", "E", "S"), "-" and a type. It reads any other label (a part-of-speech
/// tag, "PER" without a prefix) as outside a chunk, so converting would erase it.
public func isChunkLabel(_ label: String) -> Bool {
  SchemeLabel(label, scheme: .bioes) != nil
}

/// Every label `convert(_:from:to:)` can write in `scheme` from sentences whose labels are
/// among `labels`: "O", then for each chunk type of `labels` (in order of first appearance,
/// types compared by their bytes) the scheme's prefixes with it: "B-X" and "I-X" (IOB1, BIO),
/// also "E-X" and "S-X" (BIOES). A caller that must name every output label in advance (a table
/// of label ids) builds it from this.
public func convertedLabels(_ labels: [String], to scheme: TagScheme) -> [String] {
  let prefixes = scheme == .bioes ? ["B-", "I-", "E-", "S-"] : ["B-", "I-"]
  var types = Set<ExactString>()
  var result = ["O"]
  for label in labels {
    guard let tag = SchemeLabel(label, scheme: .bioes), tag.prefix != Prefix.outside,
      types.insert(ExactString(tag.type)).inserted
    else { continue }
    result += prefixes.map { $0 + tag.type }
  }
  return result
}

/// The chunks of `labels` read in `scheme`: for IOB1 and BIO conlleval's (`chunks(in:)`),
/// which are the scheme's for valid sequences; for BIOES the scheme's own, where E-X and S-X
/// end a chunk, as `convert(_:from:to:)` reads them (conlleval's rules know no S- and make
/// "S-X S-X" one chunk).
public func chunks(in labels: [String], scheme: TagScheme) -> [Chunk] {
  scheme == .bioes ? chunksForConversion(labels) : chunks(in: labels)
}

/// The chunks of `labels` as `convert(_:from:to:)` reads them.
private func chunksForConversion(_ labels: [String]) -> [Chunk] {
  var result: [Chunk] = []
  var open: SchemeLabel?
  var openStart = 0
  func close(at end: Int) {
    if let chunk = open {
      result.append(Chunk(type: String(chunk.type), start: openStart, end: end))
    }
    open = nil
  }
  for (index, label) in labels.enumerated() {
    guard let tag = SchemeLabel(label, scheme: .bioes), tag.prefix != Prefix.outside else {
      close(at: index)
      continue
    }
    let continues =
      (tag.prefix == Prefix.inside || tag.prefix == Prefix.end)
      && open?.hasSameType(as: tag) == true
    if !continues {
      close(at: index)
      open = tag
      openStart = index
    }
    if tag.prefix == Prefix.end || tag.prefix == Prefix.single {
      close(at: index + 1)
    }
  }
  close(at: labels.count)
  return result
}

/// Writes non-overlapping chunks, sorted by position, as `count` labels in `scheme`.
private func labelsForChunks(_ chunks: [Chunk], count: Int, scheme: TagScheme) -> [String] {
  var labels = Array(repeating: "O", count: count)
  var previous: Chunk?
  for chunk in chunks {
    let length = chunk.end - chunk.start
    for index in chunk.start..<chunk.end {
      labels[index] = "I-" + chunk.type
    }
    switch scheme {
    case .iob1:
      if let previous, previous.end == chunk.start, sameBytes(previous.type.utf8, chunk.type.utf8) {
        labels[chunk.start] = "B-" + chunk.type
      }
    case .bio:
      labels[chunk.start] = "B-" + chunk.type
    case .bioes:
      if length == 1 {
        labels[chunk.start] = "S-" + chunk.type
      } else {
        labels[chunk.start] = "B-" + chunk.type
        labels[chunk.end - 1] = "E-" + chunk.type
      }
    }
    previous = chunk
  }
  return labels
}

/// Guesses the scheme of a corpus from its labels: iob1 when chunks start with I- (an "I-X" not
/// preceded by B-X/I-X) at least as often as B- labels occur, else bio; but bioes when the
/// labels hold E- or S- and break BIOES's rules at no more positions
/// (`invalidTransitionCount`) than that scheme's.
///
/// "Preceded" means by the previous token of the same sentence, with the same type X; an "I-X"
/// that starts a sentence is not preceded. In IOB1 nearly every chunk starts with I- (B- only
/// splits two adjacent chunks of one type); in BIO every chunk starts with B-, and an I- that
/// starts one is an annotation slip, which a corpus of thousands of chunks may hold a few of.
/// Read as IOB1 because of one slip, a BIO corpus was decoded under IOB1's constraints, which
/// forbid B-X after O, its commonest chunk start (trained on ATIS's first 300 sentences with
/// one B- turned I-, FB1 47.59 on the first 200 test sentences against 75.62 without the slip;
/// 74.83 read as BIO). A corpus without chunks counts as BIO. So does a BIO or IOB1 corpus with
/// an S-X or E-X slip: read as BIOES because of one, its every B-X before O broke BIOES's
/// constraints, and the model found no chunk at all (the shipped corpus's training split with
/// its first B- label turned S-: FB1 0 on its test split).
public func detectScheme(_ sentences: [[String]]) -> TagScheme {
  var (startsWithI, beginnings, endsOrSingles) = (0, 0, 0)
  for sentence in sentences {
    var previous = SchemeLabel.outside
    for label in sentence {
      guard let tag = SchemeLabel(label, scheme: .bioes) else {
        previous = .outside
        continue
      }
      if tag.prefix == Prefix.end || tag.prefix == Prefix.single { endsOrSingles += 1 }
      let continuesPrevious = previous.continuesChunk && previous.hasSameType(as: tag)
      if tag.prefix == Prefix.inside && !continuesPrevious { startsWithI += 1 }
      if tag.prefix == Prefix.begin { beginnings += 1 }
      previous = tag
    }
  }
  let withoutEnds: TagScheme = startsWithI > 0 && startsWithI >= beginnings ? .iob1 : .bio
  guard endsOrSingles > 0 else { return withoutEnds }
  func breaches(_ scheme: TagScheme) -> Int {
    sentences.reduce(0) { $0 + invalidTransitionCount($1, scheme: scheme) }
  }
  return breaches(.bioes) <= breaches(withoutEnds) ? .bioes : withoutEnds
}

/// True when `next` may follow `previous` (nil = sentence start) in the scheme, e.g. BIO forbids I-X after O or after B-Y/I-Y with Y != X, or at the start.
///
/// The rules, with X the type of `next`:
/// - `next` must be a label of the scheme: "O", or "B-X"/"I-X" (BIOES also "E-X"/"S-X") with a
///   non-empty X. Anything else is never allowed.
/// - BIO: "I-X" only after "B-X" or "I-X".
/// - IOB1: "B-X" only after "B-X" or "I-X" (B- only separates two chunks of one type).
/// - BIOES: after "B-X" or "I-X" only "I-X" or "E-X"; at the start and after "O", "E-Y" or "S-Y"
///   only "O", "B-Y" or "S-Y" for any Y.
///
/// A `previous` label that is not a label of the scheme counts as "O", so that each error is
/// counted once, at the label itself.
public func isAllowedTransition(from previous: String?, to next: String, scheme: TagScheme) -> Bool
{
  isAllowedTransition(
    from: previous.flatMap { SchemeLabel($0, scheme: scheme) } ?? .outside,
    to: SchemeLabel(next, scheme: scheme), scheme: scheme)
}

/// `isAllowedTransition(from:to:scheme:)` for every pair of `labels`, row-major: element
/// `i · labels.count + j` is the transition labels[i] → labels[j]. Each label is read once, not
/// once per pair (for ATIS's 120 labels, the pairs were a sixth of loading a model), and its
/// type numbered, so that a pair compares two integers: comparing the types' bytes, with a
/// reference count update of each Substring per pair, was most of the 3.6 M instructions the
/// pairs still took.
public func allowedTransitions(among labels: [String], scheme: TagScheme) -> [Bool] {
  var typeNumbers: [ExactString: Int] = [:]
  let readings = labels.map { label -> (prefix: UInt8, continuesChunk: Bool, type: Int)? in
    guard let reading = SchemeLabel(label, scheme: scheme) else { return nil }
    let type = ExactString(reading.type)
    let number = typeNumbers[type] ?? typeNumbers.count
    typeNumbers[type] = number
    return (reading.prefix, reading.continuesChunk, number)
  }
  var allowed: [Bool] = []
  allowed.reserveCapacity(labels.count * labels.count)
  for previous in readings {
    // A label that is not of the scheme counts as "O" before the next (`SchemeLabel.outside`).
    let previous = previous ?? (Prefix.outside, false, -1)
    for next in readings {
      allowed.append(
        next.map {
          isAllowed(
            $0.prefix, after: previous.continuesChunk, ofTheSameType: previous.type == $0.type,
            scheme: scheme)
        } ?? false)
    }
  }
  return allowed
}

/// The transition rule on labels already read (nil `next`: not a label of `scheme`).
private func isAllowedTransition(
  from previous: SchemeLabel, to next: SchemeLabel?, scheme: TagScheme
)
  -> Bool
{
  guard let next else { return false }
  return isAllowed(
    next.prefix, after: previous.continuesChunk,
    ofTheSameType: previous.hasSameType(as: next), scheme: scheme)
}

/// The rule itself: whether a label with prefix `next` may follow one that continues a chunk
/// (`continuesChunk`: B- or I-) or not, of the same type as the next label or not.
private func isAllowed(
  _ next: UInt8, after continuesChunk: Bool, ofTheSameType sameType: Bool, scheme: TagScheme
) -> Bool {
  let continuesSameType = continuesChunk && sameType
  switch scheme {
  case .bio:
    return next != Prefix.inside || continuesSameType
  case .iob1:
    return next != Prefix.begin || continuesSameType
  case .bioes:
    if continuesChunk {
      return (next == Prefix.inside || next == Prefix.end) && continuesSameType
    }
    return next == Prefix.outside || next == Prefix.begin || next == Prefix.single
  }
}

/// True when `last` may end a sentence (BIOES: not B-/I-).
///
/// In IOB1 and BIO every label may end a sentence; whether `last` is a label of the scheme at all
/// is `isAllowedTransition(from:to:scheme:)`'s concern.
public func isAllowedEnd(_ last: String, scheme: TagScheme) -> Bool {
  guard scheme == .bioes, let tag = SchemeLabel(last, scheme: scheme) else { return true }
  return !tag.continuesChunk
}

/// Number of positions in the sequence that break the scheme's rules (0 for a valid sequence).
///
/// A sequence of n labels has n + 1 positions: before each label (checked with
/// `isAllowedTransition(from:to:scheme:)`, the first one from the sentence start) and after the
/// last label (checked with `isAllowedEnd(_:scheme:)`). An empty sequence is valid.
public func invalidTransitionCount(_ labels: [String], scheme: TagScheme) -> Int {
  var count = 0
  var previous: String?
  for label in labels {
    if !isAllowedTransition(from: previous, to: label, scheme: scheme) {
      count += 1
    }
    previous = label
  }
  if let last = labels.last, !isAllowedEnd(last, scheme: scheme) {
    count += 1
  }
  return count
}
