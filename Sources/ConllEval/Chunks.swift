/// A labelled span: tokens `start..<end` of one sentence, with its chunk type (e.g. "toloc.city_name").
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
}

/// A label as conlleval.pl (version 2004-01-26) sees it: a prefix ("B", "I", "E", "S", "O", "[", "]", ...)
/// and a type.
struct ConllTag: Equatable, Sendable {
  var prefix: String
  var type: String

  /// What conlleval uses for sentence boundaries and for the state before the first line.
  static let outside = ConllTag(prefix: "O", type: "")

  /// Splits at the first `-`, as conlleval's `/^([^-]*)-(.*)$/` does, so "B-toloc-city" has type
  /// "toloc-city". A label without `-` (such as "O") is all prefix with type "". conlleval then
  /// writes `$type ? $type : ""`, so the type "0" (false in Perl) also becomes "".
  init(_ label: String) {
    if let dash = label.firstIndex(of: "-") {
      let type = String(label[label.index(after: dash)...])
      self.init(prefix: String(label[..<dash]), type: type == "0" ? "" : type)
    } else {
      self.init(prefix: label, type: "")
    }
  }

  init(prefix: String, type: String) {
    self.prefix = prefix
    self.type = type
  }
}

/// conlleval's `endOfChunk`: did a chunk end between `previous` and `current`?
///
/// The pairs B→B, B→O, I→B, I→O, E→E, E→I and E→O end a chunk; so does any change of type after a
/// tag other than "O" and "."; "[" and "]" are one-token chunks, so they always end. No rule
/// mentions "S", which is why IOBES input with adjacent chunks of one type is merged by conlleval.
func endOfChunk(_ previous: ConllTag, _ current: ConllTag) -> Bool {
  switch (previous.prefix, current.prefix) {
  case ("B", "B"), ("B", "O"), ("I", "B"), ("I", "O"), ("E", "E"), ("E", "I"), ("E", "O"):
    return true
  case ("]", _), ("[", _):
    return true
  default:
    return previous.prefix != "O" && previous.prefix != "." && previous.type != current.type
  }
}

/// conlleval's `startOfChunk`: did a chunk start between `previous` and `current`?
///
/// The pairs B→B, I→B, O→B, O→I (the IOB1 rule: I- after O starts a chunk), E→E, E→I and O→E
/// start a chunk; so does any change of type to a tag other than "O" and "."; "[" and "]" always
/// start one.
func startOfChunk(_ previous: ConllTag, _ current: ConllTag) -> Bool {
  switch (previous.prefix, current.prefix) {
  case ("B", "B"), ("I", "B"), ("O", "B"), ("O", "I"), ("E", "E"), ("E", "I"), ("O", "E"):
    return true
  case (_, "["), (_, "]"):
    return true
  default:
    return current.prefix != "O" && current.prefix != "." && previous.type != current.type
  }
}

/// conlleval's chunk extraction over one sentence's labels (IOB1, IOB2/BIO, IOBES all handled by its rules).
///
/// conlleval counts a chunk wherever `startOfChunk` holds, with the type of the starting label; the
/// chunk runs until `endOfChunk` holds, the next chunk starts, or the sentence ends. For valid
/// IOB1 and BIO sequences these are exactly the chunks of the scheme. IOBES input is read with
/// the same rules, so conlleval's quirks carry over: "S-X S-X" and "B-X E-X B-X E-X" each come out
/// as one chunk. Convert IOBES to BIO with `convert(_:from:to:)` before scoring to avoid that.
public func chunks(in labels: [String]) -> [Chunk] {
  var result: [Chunk] = []
  var open: (type: String, start: Int)?
  var previous = ConllTag.outside
  for (index, label) in labels.enumerated() {
    let tag = ConllTag(label)
    let starts = startOfChunk(previous, tag)
    if let chunk = open, starts || endOfChunk(previous, tag) {
      result.append(Chunk(type: chunk.type, start: chunk.start, end: index))
      open = nil
    }
    if starts {
      open = (tag.type, index)
    }
    previous = tag
  }
  if let chunk = open {
    result.append(Chunk(type: chunk.type, start: chunk.start, end: labels.count))
  }
  return result
}
