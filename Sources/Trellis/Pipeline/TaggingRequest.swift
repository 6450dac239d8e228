import ConllEval

/// One sentence to tag, as a pipeline hands it over: tokens, or a text the `Tokenizer` splits,
/// with an optional id and other fields that the answer carries back untouched.
///
/// Its JSON form (one line of `trellis tag --input jsonl`, the HTTP service, the C ABI) is an
/// object with `"tokens"` (an array of strings) or `"text"` (a string), and optionally `"id"`
/// (any JSON value). Every other field is copied into the answer as written, except the names
/// the answer itself writes (`TaggingRequest.answerFields`) and `"confidence"`, an option of
/// the call (`TaggingRequest.optionField`), which are refused.
public struct TaggingRequest: Equatable, Sendable {
  /// The caller's id, copied verbatim into the answer (but for a CR or LF between its tokens,
  /// read as a space, so that no answer line holds a line end).
  public var id: RawJSON?
  /// The tokens to tag: as given, or cut from `text` by `Tokenizer.tokenize`.
  public private(set) var tokens: [String]
  /// The text the tokens were cut from, when the request gave text.
  public private(set) var text: String?
  /// Each token's code-point range in `text`, or in the tokens joined by single spaces.
  public private(set) var tokenRanges: [Range<Int>]
  /// The request's other fields, in their order, as written (CR and LF between tokens read as
  /// spaces, as for `id`). `JSONMember(name:value:)` refuses the names `init(jsonLine:)`
  /// refuses; a caller adding members keeps their names distinct, as the reader does.
  public var passthrough: [JSONMember] = []

  /// Names an answer writes, so a request may not carry them as passthrough fields: an
  /// `Analysis`'s but `tokens` (a request's own), and an error answer's `error`.
  public static let answerFields: Set<String> = Set(
    Analysis.CodingKeys.allCases.map(\.stringValue)
  ).subtracting(["tokens"]).union(["error"])

  /// The tagging option a request might be expected to carry but cannot: options are the
  /// call's (`--confidence`, the HTTP body's `"confidence"`), and a request's was copied back
  /// as a passthrough field with nothing done. (`nbest` is refused as an answer field.)
  public static let optionField = "confidence"

  /// A request for `tokens` as given.
  public init(tokens: [String], id: RawJSON? = nil) {
    self.id = id
    self.tokens = tokens
    var start = 0
    tokenRanges = tokens.map { token in
      // A code point is a UTF-8 byte that does not continue one (10xxxxxx): one pass over the
      // bytes in place, where the scalar view decodes each (and the UTF-8 view checks each
      // index).
      let length = withUTF8Bytes(of: token) { bytes in
        bytes.reduce(0) { $0 + ($1 & 0xC0 == 0x80 ? 0 : 1) }
      }
      defer { start += length + 1 }
      return start..<start + length
    }
  }

  /// A request for `text`, split by `Tokenizer.tokenize`.
  public init(text: String, id: RawJSON? = nil) {
    self.init(text: text, cut: Tokenizer.tokenize(text), id: id)
  }

  /// A request for `text` and the tokens `Tokenizer` cut from it.
  private init(text: String, cut: [TextToken], id: RawJSON?) {
    self.id = id
    self.text = text
    tokens = cut.map(\.text)
    tokenRanges = cut.map(\.range)
  }

  /// Reads one JSON-lines request. Throws `JSONLineError`, with the id when it was read.
  public init(jsonLine: String) throws {
    var fields = RequestFields()
    do {
      try JSONScanner.scan(jsonLine) { try fields.read(&$0) }
    } catch var error as JSONLineError {
      error.id = fields.id
      throw error
    }
    switch (fields.tokens, fields.text) {
    case (let tokens?, nil): self.init(tokens: tokens, id: fields.id)
    case (nil, let text?):
      // Cut no further than a sentence may hold: each token of a text of 16 MiB of
      // punctuation kept, the line took 1.1 GB to refuse.
      let cut = Tokenizer.tokenize(text, keepingAtMost: Sentence.tokenLimit)
      if let refusal = Sentence.tokenLimitError(count: cut.count) {
        throw JSONLineError(refusal, id: fields.id)
      }
      self.init(text: text, cut: cut.tokens, id: fields.id)
    case (nil, nil):
      throw JSONLineError(
        "give \"tokens\" (an array of strings) or \"text\" (a string)", id: fields.id)
    case (.some, .some): throw JSONLineError("give \"tokens\" or \"text\", not both", id: fields.id)
    }
    if let refusal = Sentence.tokenLimitError(count: tokens.count) {
      throw JSONLineError(refusal, id: fields.id)
    }
    passthrough = fields.passthrough
  }

  /// The string the ranges index: `text`, or the tokens joined by single spaces.
  var source: String { text ?? tokens.joinedBySpaces() }

  /// Whether `name` is one of a request's own fields, which are read, not passed through.
  /// (Compared as strings: hashing every name into a set was a tenth of parsing a request.)
  static func isOwnField(_ name: String) -> Bool {
    name == "id" || name == "text" || name == "tokens"
  }

  /// Why a field named `name` (written `rawName`) may not pass through to the answer, or nil
  /// when it may: the answer writes that name itself, or it is the call's option.
  static func passthroughRefusal(of name: String, written rawName: String) -> String? {
    if answerFields.contains(name) { return "field \(rawName) is one the answer writes; rename it" }
    guard name != optionField else {
      return "field \(rawName) is an option of the whole call (--confidence, or the HTTP body's "
        + "\"confidence\"), not of one request"
    }
    return nil
  }
}

/// A field a request passes through to its answer, kept as written: `name` is the key's JSON
/// string literal.
public struct JSONMember: Equatable, Sendable {
  /// The key as a JSON string, quotes and escapes as written (`"source"`).
  public private(set) var name: RawJSON
  /// The value as written.
  public var value: RawJSON

  /// A member from its key (a JSON string, e.g. `RawJSON.string("source")`) and value. Throws
  /// `JSONLineError` for a key that is not a JSON string, which would make the answer invalid
  /// JSON, and for one `TaggingRequest(jsonLine:)` refuses as a passthrough field: a request's
  /// own (`id`, `tokens`, `text`), `TaggingRequest.answerFields`, which the answer would write
  /// twice, and `TaggingRequest.optionField`.
  public init(name: RawJSON, value: RawJSON) throws {
    let (kind, decoded) = JSONScanner.scan(name.text) { ($0.nextKind, try? $0.readString()) }
    guard let decoded else {
      throw JSONLineError("a field's name must be a JSON string, not \(kind.rawValue): \(name)")
    }
    guard !TaggingRequest.isOwnField(decoded) else {
      throw JSONLineError(
        "field \(name) is a request's own (set it on the request), not one to pass through")
    }
    if let refusal = TaggingRequest.passthroughRefusal(of: decoded, written: name.text) {
      throw JSONLineError(refusal)
    }
    self.init(checked: name, value: value)
  }

  /// A member whose name `TaggingRequest(jsonLine:)` has read and checked.
  init(checked name: RawJSON, value: RawJSON) {
    self.name = name
    self.value = value
  }
}

/// The fields of a request line as the scanner meets them.
private struct RequestFields {
  var id: RawJSON?
  var tokens: [String]?
  var text: String?
  var passthrough: [JSONMember] = []
  var names = MemberNames()

  /// Reads the line's one object; every value is checked, only tokens and text are decoded.
  mutating func read(_ scanner: inout JSONScanner) throws {
    scanner.skipWhitespace()
    guard scanner.consume(UInt8(ascii: "{")) else {
      if scanner.isAtEnd { throw JSONLineError("empty line, expected a JSON object") }
      // A valid value of another kind (a sentence sent as a string) is named: "invalid
      // JSON" said the JSON was wrong where its kind was.
      var value = scanner
      let found = value.nextKind
      guard (try? value.readRawValue()) != nil, value.isAtEndAfterWhitespace() else {
        throw scanner.error("expected a JSON object")
      }
      throw JSONLineError(
        #"expected a JSON object ({"tokens": [...]} or {"text": "..."}), not \#(found.rawValue)"#)
    }
    if !scanner.consume(UInt8(ascii: "}")) {
      repeat { try readMember(&scanner) } while scanner.consume(UInt8(ascii: ","))
      try scanner.expect(UInt8(ascii: "}"), "',' or '}'")
    }
    scanner.skipWhitespace()
    guard scanner.isAtEnd else { throw scanner.error("unexpected text after the object") }
  }

  private mutating func readMember(_ scanner: inout JSONScanner) throws {
    scanner.skipWhitespace()
    let nameStart = scanner.position
    let name = try scanner.readString()
    let rawName = scanner.text(from: nameStart)
    guard names.insert(name) else { throw JSONLineError("duplicate field \(rawName)") }
    if !TaggingRequest.isOwnField(name),
      let refusal = TaggingRequest.passthroughRefusal(of: name, written: rawName)
    {
      throw JSONLineError(refusal)
    }
    try scanner.expect(UInt8(ascii: ":"), "':' after a key")
    switch name {
    case "id": id = try scanner.readCopiedValue()
    case "text":
      try scanner.require(.string) { "\"text\" must be a string, not \($0)" }
      text = try scanner.readString()
    case "tokens":
      tokens = try scanner.readStringArray(problem: "\"tokens\" must be an array of strings")
    default:
      passthrough.append(
        JSONMember(checked: RawJSON(checked: rawName), value: try scanner.readCopiedValue()))
    }
  }

}

/// The member names of one object read so far, to refuse a duplicate: a list searched in order
/// while it is short (a request has two or three; hashing them into a set was a sixth of
/// parsing one), a set once it is long, so an object of many members is still read in
/// linear time. Names are compared by their bytes, as JSON compares them: "caf\u00e9" and
/// "cafe\u0301" are two members (Swift's `==` would call them one).
private struct MemberNames {
  private var few: [ExactString] = []
  private var many: Set<ExactString> = []
  private static let listed = 8

  /// Adds `name`; false when it was there already.
  mutating func insert(_ name: String) -> Bool {
    let name = ExactString(name)
    if few.count < Self.listed {
      guard !few.contains(name) else { return false }
      // Room for the list at once: grown from empty, a request's second name reallocated it.
      if few.isEmpty { few.reserveCapacity(Self.listed) }
      few.append(name)
      return true
    }
    if many.isEmpty { many = Set(few) }
    return many.insert(name).inserted
  }
}
