/// A labelled span: tokens `start..<end` of one sentence, with its chunk type (e.g. "toloc.city_name").
///
/// Chunks are equal when their positions and the bytes of their types are (conlleval's `eq`), so
/// types that differ only in Unicode normalisation are two types.
public struct Chunk: Hashable, Sendable {
  /// The chunk type: the part of the starting label after its first `-` ("PER" for "B-PER").
  public var type: String
  /// Index of the first token of the chunk.
  public var start: Int
  /// Index one past the last token of the chunk.
  public var end: Int

  /// Creates a chunk covering tokens `start..<end` with the given type.
  public init(type: String, start: Int, end: Int) {
    self.type = type
    self.start = start
    self.end = end
  }

  public static func == (a: Chunk, b: Chunk) -> Bool {
    a.start == b.start && a.end == b.end && sameBytes(a.type.utf8, b.type.utf8)
  }

  public func hash(into hasher: inout Hasher) {
    hasher.combine(ExactString(type))
    hasher.combine(start)
    hasher.combine(end)
  }
}

/// What conlleval's chunk rules read of a label: its prefix's byte (`rule`) and whether two
/// labels have the same type.
protocol ChunkRuleTag {
  /// The prefix's byte when the prefix is one byte long, else 0.
  var rule: UInt8 { get }
  /// conlleval's `$type eq $otherType`.
  func hasSameType(as other: Self) -> Bool
}

/// A label as conlleval.pl (version 2004-01-26) sees it: a prefix ("B", "I", "E", "S", "O", "[",
/// "]", ...) and a type, both slices of the label and compared by their bytes.
struct ConllTag: ChunkRuleTag, Equatable, Sendable {
  var prefix: Substring
  /// The type as conlleval's rules and counts read it: "" for "0" (below).
  var type: Substring
  /// The type as the label writes it ("0" stays "0"): what a chunk's `type` reports. A span
  /// of "B-0" was labelled "" in answers, where BIOES data kept "0".
  var name: Substring
  /// The prefix's byte when the prefix is one byte long, else 0: what the chunk rules test (they
  /// only ever compare the prefix with one-character strings).
  var rule: UInt8

  /// What conlleval uses for sentence boundaries and for the state before the first line.
  static let outside = ConllTag(prefix: "O", type: "")

  /// Splits at the first `-` byte, as conlleval's `/^([^-]*)-(.*)$/` does on bytes, so
  /// "B-toloc-city" has type "toloc-city" and "B-\u{301}X" (a combining mark after the `-`) has
  /// type "\u{301}X". A label without `-` (such as "O") is all prefix with type "". conlleval
  /// then writes `$type ? $type : ""`, so the type "0" (false in Perl) also becomes "" for its
  /// rules and counts (`type`; `name` keeps "0").
  init(_ label: Substring) {
    let bytes = label.utf8
    guard let dash = bytes.firstIndex(of: UInt8(ascii: "-")) else {
      self.init(prefix: label, type: "")
      return
    }
    let type = bytes[bytes.index(after: dash)...]
    self.init(prefix: Substring(bytes[..<dash]), type: Substring(type))
  }

  /// conlleval's `-r` reading: `outside` and "O" are "O"; any other label is a one-token chunk
  /// whose type is the whole label ("B-" is put in front of it).
  init(raw label: Substring, outside: String) {
    if sameBytes(label.utf8, outside.utf8) || sameBytes(label.utf8, "O".utf8) {
      self = .outside
    } else {
      self.init(prefix: "B", type: label)
    }
  }

  /// `label` as conlleval reads it with `-r` (`raw`; `outside` the `-o` label, which is "O"
  /// unless given) or without.
  init(_ label: Substring, raw: Bool, outside: String = "O") {
    self = raw ? ConllTag(raw: label, outside: outside) : ConllTag(label)
  }

  private init(prefix: Substring, type: Substring) {
    self.prefix = prefix
    self.type = sameBytes(type.utf8, "0".utf8) ? "" : type
    name = type
    rule = prefix.utf8.count == 1 ? prefix.utf8.first! : 0
  }

  /// conlleval's `$correct eq $guessed and $guessedType eq $correctType` (`name` aside).
  static func == (a: ConllTag, b: ConllTag) -> Bool {
    sameBytes(a.prefix.utf8, b.prefix.utf8) && a.hasSameType(as: b)
  }

  /// conlleval's `$type eq $otherType`.
  func hasSameType(as other: ConllTag) -> Bool { sameBytes(type.utf8, other.type.utf8) }
}

/// The one-byte prefixes conlleval's chunk rules name.
private enum Prefix {
  static let begin = UInt8(ascii: "B"), inside = UInt8(ascii: "I"), end = UInt8(ascii: "E")
  static let outside = UInt8(ascii: "O"), dot = UInt8(ascii: "."), open = UInt8(ascii: "[")
  static let close = UInt8(ascii: "]")
}

/// conlleval's `endOfChunk`: did a chunk end between `previous` and `current`?
///
/// The pairs B→B, B→O, I→B, I→O, E→E, E→I and E→O end a chunk; so does any change of type after a
/// tag other than "O" and "."; "[" and "]" are one-token chunks, so they always end. No rule
/// mentions "S", which is why IOBES input with adjacent chunks of one type is merged by conlleval.
func endOfChunk<Tag: ChunkRuleTag>(_ previous: Tag, _ current: Tag) -> Bool {
  switch (previous.rule, current.rule) {
  case (Prefix.begin, Prefix.begin), (Prefix.begin, Prefix.outside), (Prefix.inside, Prefix.begin),
    (Prefix.inside, Prefix.outside), (Prefix.end, Prefix.end), (Prefix.end, Prefix.inside),
    (Prefix.end, Prefix.outside):
    return true
  case (Prefix.close, _), (Prefix.open, _):
    return true
  default:
    return previous.rule != Prefix.outside && previous.rule != Prefix.dot
      && !previous.hasSameType(as: current)
  }
}

/// conlleval's `startOfChunk`: did a chunk start between `previous` and `current`?
///
/// The pairs B→B, I→B, O→B, O→I (the IOB1 rule: I- after O starts a chunk), E→E, E→I and O→E
/// start a chunk; so does any change of type to a tag other than "O" and "."; "[" and "]" always
/// start one.
func startOfChunk<Tag: ChunkRuleTag>(_ previous: Tag, _ current: Tag) -> Bool {
  switch (previous.rule, current.rule) {
  case (Prefix.begin, Prefix.begin), (Prefix.inside, Prefix.begin), (Prefix.outside, Prefix.begin),
    (Prefix.outside, Prefix.inside), (Prefix.end, Prefix.end), (Prefix.end, Prefix.inside),
    (Prefix.outside, Prefix.end):
    return true
  case (_, Prefix.open), (_, Prefix.close):
    return true
  default:
    return current.rule != Prefix.outside && current.rule != Prefix.dot
      && !previous.hasSameType(as: current)
  }
}

/// conlleval's chunk extraction over one sentence's labels (IOB1, IOB2/BIO, IOBES all handled by its rules).
///
/// conlleval counts a chunk wherever `startOfChunk` holds, with the type of the starting label; the
/// chunk runs until `endOfChunk` holds, the next chunk starts, or the sentence ends. For valid
/// IOB1 and BIO sequences these are exactly the chunks of the scheme. IOBES input is read with
/// the same rules, so conlleval's quirks carry over: "S-X S-X" and "B-X E-X B-X E-X" each come out
/// as one chunk. Convert IOBES to BIO with `convert(_:from:to:)` before scoring to avoid that.
/// With `raw`, each label but "O" is a one-token chunk of the whole label, as `conlleval -r`
/// (and `ConllCounts.add(gold:predicted:tokens:rawLabels:)`) reads labels without chunk prefixes.
public func chunks(in labels: [String], raw: Bool = false) -> [Chunk] {
  let tag = { (index: Int) in
    ConllTag(labels[index][...], raw: raw)
  }
  return chunkBounds(count: labels.count, outside: ConllTag.outside, tag: tag).map {
    Chunk(type: String(tag($0.lowerBound).name), start: $0.lowerBound, end: $0.upperBound)
  }
}

/// The chunks' token ranges over `count` labels, `tag(i)` the i-th label's reading, by
/// conlleval's rules; a chunk's type is its first label's.
private func chunkBounds<Tag: ChunkRuleTag>(count: Int, outside: Tag, tag: (Int) -> Tag)
  -> [Range<Int>]
{
  var result: [Range<Int>] = []
  forEachChunkBound(count: count, outside: outside, tag: tag) { result.append($0) }
  return result
}

/// Calls `body` with each chunk's token range, in order (`chunkBounds` without an array).
private func forEachChunkBound<Tag: ChunkRuleTag>(
  count: Int, outside: Tag, tag: (Int) -> Tag, _ body: (Range<Int>) -> Void
) {
  var openStart: Int?
  var previous = outside
  for index in 0..<count {
    let current = tag(index)
    let starts = startOfChunk(previous, current)
    if let start = openStart, starts || endOfChunk(previous, current) {
      body(start..<index)
      openStart = nil
    }
    if starts {
      openStart = index
    }
    previous = current
  }
  if let start = openStart {
    body(start..<count)
  }
}

/// A label set read once, for the chunks of many sequences of its label ids (a tagger's
/// answers): `chunks(in:)` of the ids gives `ConllEval.chunks(in:)` of their labels, without
/// reading a label string per token (types compared as interned numbers, not bytes).
package struct LabelSetChunks: Sendable {
  /// Each label's prefix byte, the number of its type as the rules read it (labels of the same
  /// type bytes share it) and the number of its type as written (`ConllTag.name`) in `names`.
  private struct InternedTag: ChunkRuleTag {
    var rule: UInt8
    var type: Int
    var name: Int
    func hasSameType(as other: InternedTag) -> Bool { type == other.type }
  }

  private let tags: [InternedTag]
  private let names: [String]
  private let outside: InternedTag

  /// With `raw`, each label but "O" is a one-token chunk whose type is the whole label, as
  /// conlleval's `-r` reads labels without chunk prefixes (`ConllTag(raw:outside:)`).
  package init(labels: [String], raw: Bool = false) {
    var typeNumbers: [ExactString: Int] = [:]
    var nameNumbers: [ExactString: Int] = [:]
    var names: [String] = []
    func intern(_ tag: ConllTag) -> InternedTag {
      let type = ExactString(String(tag.type))
      let typeNumber = typeNumbers[type] ?? typeNumbers.count
      typeNumbers[type] = typeNumber
      let name = ExactString(String(tag.name))
      let nameNumber = nameNumbers[name] ?? names.count
      if nameNumber == names.count {
        nameNumbers[name] = nameNumber
        names.append(String(tag.name))
      }
      return InternedTag(rule: tag.rule, type: typeNumber, name: nameNumber)
    }
    outside = intern(ConllTag.outside)
    tags = labels.map { label in
      intern(ConllTag(label[...], raw: raw))
    }
    self.names = names
  }

  /// The chunk types as the labels write them, numbered as `forEachChunk(in:_:)` numbers them.
  package var typeNames: [String] { names }

  /// The chunks of the labels with these ids (each below the label count given to `init`).
  package func chunks(in ids: [Int]) -> [Chunk] {
    var chunks: [Chunk] = []
    forEachChunk(in: ids) {
      chunks.append(Chunk(type: names[$0], start: $1.lowerBound, end: $1.upperBound))
    }
    return chunks
  }

  /// Calls `body` with each chunk of `chunks(in:)`: its type's number in `typeNames` and its
  /// tokens, without building an array (an answer writes them as it meets them).
  package func forEachChunk(in ids: [Int], _ body: (_ type: Int, _ tokens: Range<Int>) -> Void) {
    let tag = { (index: Int) in tags[ids[index]] }
    forEachChunkBound(count: ids.count, outside: outside, tag: tag) {
      body(tag($0.lowerBound).name, $0)
    }
  }
}
