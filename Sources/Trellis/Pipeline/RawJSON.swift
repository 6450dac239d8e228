/// One JSON value kept as the exact text it was written as (checked to be valid JSON), so ids
/// and the fields a pipeline passes through come back byte for byte: `12345678901234567890` and
/// `0.1` never pass through `Double`, and `"caf\u00e9"` keeps its escape.
public struct RawJSON: Hashable, Sendable, CustomStringConvertible {
  /// The value's JSON text, without surrounding whitespace, on one line: a value written with
  /// a CR or LF between its tokens has a space there (`init(_:)`), so a JSON line holding it is
  /// one line.
  public let text: String

  /// Checks that `text` is exactly one JSON value (surrounding whitespace allowed and dropped),
  /// each CR or LF between its tokens read as a space, as a request's id is read. Throws
  /// `JSONLineError` saying where it is not.
  public init(_ text: String) throws {
    try self.init(text, enclosingRequestsBy: 0)
  }

  /// `init(_:)` for a value that holds requests inside `levels` containers of its own (an
  /// HTTP body `{"sentences": [{…}]}` holds each request's members in 3): nesting is limited
  /// as within a request line, which `trellis tag` reads member by member, not counting the
  /// containers around. (Counting them, the service refused a request the command answered.)
  package init(_ text: String, enclosingRequestsBy levels: Int) throws {
    self = try JSONScanner.scan(text) { scanner in
      scanner.depthLimit = JSONScanner.maximumDepth + levels
      scanner.skipWhitespace()
      let value = try scanner.readCopiedValue()
      scanner.skipWhitespace()
      guard scanner.isAtEnd else { throw scanner.error("unexpected text after the value") }
      return value
    }
  }

  /// A value the scanner has already checked.
  init(checked text: String) {
    self.text = text
  }

  /// The JSON string holding `value`.
  public static func string(_ value: String) -> RawJSON {
    RawJSON(checked: jsonString(value))
  }

  public var description: String { text }

  /// The elements of an array value, each as written; nil when the value is not an array.
  /// Lets a transport pass each request of a batch to `TaggingRequest(jsonLine:)` unchanged.
  public var arrayElements: [RawJSON]? {
    JSONScanner.scan(text) { scanner in
      scanner.depthLimit = .max  // checked when made, within its own limit
      guard scanner.consume(UInt8(ascii: "[")) else { return nil }
      var elements: [RawJSON] = []
      if scanner.consume(UInt8(ascii: "]")) { return elements }
      repeat {
        // The text was checked when this value was made, so reading it again cannot fail.
        guard let element = try? scanner.readRawValue() else { return nil }
        elements.append(element)
      } while scanner.consume(UInt8(ascii: ","))
      return elements
    }
  }

  /// The members of an object value in their order, names decoded and values as written; nil
  /// when the value is not an object.
  public var objectMembers: [(name: String, value: RawJSON)]? {
    JSONScanner.scan(text) { scanner in
      scanner.depthLimit = .max  // checked when made, within its own limit
      guard scanner.consume(UInt8(ascii: "{")) else { return nil }
      var members: [(name: String, value: RawJSON)] = []
      if scanner.consume(UInt8(ascii: "}")) { return members }
      repeat {
        guard let name = try? scanner.readString(), scanner.consume(UInt8(ascii: ":")),
          let value = try? scanner.readRawValue()
        else { return nil }
        members.append((name, value))
      } while scanner.consume(UInt8(ascii: ","))
      return members
    }
  }
}

/// A validating reader over one line of UTF-8 JSON (RFC 8259). It checks every value it passes
/// over, decodes only the strings asked for, and keeps the others as their text.
struct JSONScanner {
  /// Nesting deeper than this is refused: no request needs more, and a hostile line's
  /// nesting stays bounded (it cost a call a level until `skipValue` held it in an array).
  static let maximumDepth = 512
  /// The nesting this scanner allows: `maximumDepth`, and more around the requests that a
  /// text holds (`RawJSON(_:enclosingRequestsBy:)`), or any in a value already checked.
  var depthLimit = maximumDepth

  /// The text's UTF-8, valid only inside `scan`'s body.
  private let bytes: UnsafeBufferPointer<UInt8>
  private(set) var position = 0

  private init(_ bytes: UnsafeBufferPointer<UInt8>) {
    self.bytes = bytes
  }

  /// Runs `body` with a scanner over `text`'s UTF-8 in place (a copy of each line was a
  /// malloc and a copy per request); the scanner must not outlive `body`.
  static func scan<Result>(_ text: String, _ body: (inout JSONScanner) throws -> Result) rethrows
    -> Result
  {
    var text = text  // `withUTF8` makes a non-contiguous string contiguous, so it needs `var`
    return try text.withUTF8 { bytes in
      var scanner = JSONScanner(bytes)
      return try body(&scanner)
    }
  }

  /// `scan` over bytes already in memory (a model file's header), in place.
  static func scan<Result>(
    bytes: UnsafeRawBufferPointer, _ body: (inout JSONScanner) throws -> Result
  ) rethrows -> Result {
    let start = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self)
    var scanner = JSONScanner(UnsafeBufferPointer(start: start, count: bytes.count))
    return try body(&scanner)
  }

  var isAtEnd: Bool { position == bytes.count }

  private var current: UInt8? { position < bytes.count ? bytes[position] : nil }

  /// A syntax error at the current position: its column, counting code points from 1, and its
  /// line when the text has more than one (an HTTP body may be pretty-printed, where a column
  /// counted from the body's start pointed nowhere).
  func error(_ what: String) -> JSONLineError {
    let before = String(decoding: UnsafeBufferPointer(rebasing: bytes[..<position]), as: UTF8.self)
    let lines = before.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false)
    let column = (lines.last?.count ?? 0) + 1
    let place = lines.count > 1 ? "line \(lines.count), column \(column)" : "column \(column)"
    return JSONLineError("invalid JSON at \(place): \(what)")
  }

  mutating func skipWhitespace() {
    while let byte = current, byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D {
      position += 1
    }
  }

  /// Whether nothing but whitespace is left, which is passed over.
  mutating func isAtEndAfterWhitespace() -> Bool {
    skipWhitespace()
    return isAtEnd
  }

  /// Consumes `byte` (after whitespace) or throws "expected `description`".
  mutating func expect(_ byte: UInt8, _ description: String) throws {
    skipWhitespace()
    guard current == byte else { throw error("expected \(description)") }
    position += 1
  }

  /// Consumes `byte` after whitespace when it is next.
  mutating func consume(_ byte: UInt8) -> Bool {
    skipWhitespace()
    guard current == byte else { return false }
    position += 1
    return true
  }

  /// Unless a value of `kind` comes next, throws `message(found)`, where `found` names what came
  /// ("a number"); a value that is not valid JSON at all gets the syntax error instead.
  mutating func require(_ kind: JSONKind, else message: (_ found: String) -> String) throws {
    skipWhitespace()
    // Kinds compared as cases, not as their names: a request's every token is checked here.
    let found = nextKind
    guard found != kind else { return }
    _ = try readRawValue()
    throw JSONLineError(message(found.rawValue))
  }

  /// The kind of value the next byte starts (whitespace skipped before); a byte that starts
  /// none is taken for a number, whose reading then fails.
  var nextKind: JSONKind {
    switch current {
    case UInt8(ascii: "{"): .object
    case UInt8(ascii: "["): .array
    case UInt8(ascii: "\""): .string
    case UInt8(ascii: "t"), UInt8(ascii: "f"): .boolean
    case UInt8(ascii: "n"): .null
    default: .number
    }
  }

  /// Consumes `null` (after whitespace) when it comes next.
  mutating func consumeNull() -> Bool {
    skipWhitespace()
    return consumeLiteral("null")
  }

  /// An array of strings (after whitespace), each decoded; anything else throws `problem`,
  /// naming what came instead ("…; item 2 is a number").
  mutating func readStringArray(problem: String) throws -> [String] {
    try require(.array) { "\(problem), not \($0)" }
    try expect(UInt8(ascii: "["), "'['")
    var strings: [String] = []
    // Room for most sentences: grown from empty, the array was reallocated about four times.
    strings.reserveCapacity(32)
    if consume(UInt8(ascii: "]")) { return strings }
    repeat {
      try require(.string) { "\(problem); item \(strings.count) is \($0)" }
      strings.append(try readString())
    } while consume(UInt8(ascii: ","))
    try expect(UInt8(ascii: "]"), "',' or ']'")
    return strings
  }

  /// The next value's text, checked.
  mutating func readRawValue() throws -> RawJSON {
    skipWhitespace()
    let start = position
    try skipValue()
    return RawJSON(checked: text(from: start))
  }

  /// `readRawValue()` for a value an answer line copies (a request's id and passthrough
  /// fields, any `RawJSON(_:)`): a CR or LF between its tokens becomes a space (a string cannot
  /// hold one raw), so the line holds no line end; Python's text files end lines at a lone CR
  /// as well as at LF.
  mutating func readCopiedValue() throws -> RawJSON {
    let value = try readRawValue()
    let isLineEnd = { (byte: UInt8) in byte == 0x0A || byte == 0x0D }
    guard value.text.utf8.contains(where: isLineEnd) else { return value }
    return RawJSON(
      checked: String(decoding: value.text.utf8.map { isLineEnd($0) ? 0x20 : $0 }, as: UTF8.self))
  }

  /// The text from byte `start` to the current position.
  func text(from start: Int) -> String {
    String(decoding: bytes[start..<position], as: UTF8.self)
  }

  /// Checks and passes over one value, holding the containers it is inside in `open` (true
  /// for an object) rather than in calls: a call a level, with an error's message made at
  /// the deepest, overflowed a thread of 64 KiB of stack (a C or Python host's) at 513 levels.
  private mutating func skipValue() throws {
    var open: [Bool] = []
    while true {
      skipWhitespace()
      guard let byte = current else { throw error("expected a value, found the end of the line") }
      switch byte {
      case UInt8(ascii: "{"), UInt8(ascii: "["):
        guard open.count < depthLimit else {
          throw error("nested deeper than \(Self.maximumDepth) levels")
        }
        let isObject = byte == UInt8(ascii: "{")
        position += 1
        // An empty container is a whole value; any other goes on with its first member.
        if !consume(isObject ? UInt8(ascii: "}") : UInt8(ascii: "]")) {
          open.append(isObject)
          if isObject { try skipKey() }
          continue
        }
      case UInt8(ascii: "\""): _ = try readString()
      case UInt8(ascii: "t"): try skipLiteral("true")
      case UInt8(ascii: "f"): try skipLiteral("false")
      case UInt8(ascii: "n"): try skipLiteral("null")
      default: try skipNumber()
      }
      // A value has ended: each container it ends goes on with a ',' or closes.
      while let isObject = open.last {
        if consume(UInt8(ascii: ",")) {
          if isObject { try skipKey() }
          break
        }
        try expect(
          isObject ? UInt8(ascii: "}") : UInt8(ascii: "]"), isObject ? "',' or '}'" : "',' or ']'")
        open.removeLast()
      }
      if open.isEmpty { return }
    }
  }

  /// An object member's key and its ':'.
  private mutating func skipKey() throws {
    _ = try readString()
    try expect(UInt8(ascii: ":"), "':' after a key")
  }

  private mutating func skipLiteral(_ literal: String) throws {
    let end = position + literal.utf8.count
    guard end <= bytes.count, bytes[position..<end].elementsEqual(literal.utf8) else {
      throw error("expected a value")
    }
    position = end
  }

  /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`, JSON's number grammar.
  private mutating func skipNumber() throws {
    func skipDigits() -> Int {
      let start = position
      while let byte = current, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) {
        position += 1
      }
      return position - start
    }
    if current == UInt8(ascii: "-") { position += 1 }
    let leadingZero = current == UInt8(ascii: "0")
    let integerDigits = skipDigits()
    guard integerDigits > 0 else { throw error("expected a value") }
    guard !leadingZero || integerDigits == 1 else { throw error("a number cannot start with 0") }
    if current == UInt8(ascii: ".") {
      position += 1
      guard skipDigits() > 0 else { throw error("expected a digit after '.'") }
    }
    if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
      position += 1
      if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { position += 1 }
      guard skipDigits() > 0 else { throw error("expected a digit in the exponent") }
    }
  }

  /// Reads a string (after whitespace) and decodes its escapes.
  mutating func readString() throws -> String {
    skipWhitespace()
    guard current == UInt8(ascii: "\"") else { throw error("expected a string") }
    position += 1
    var decoded: [UInt8] = []
    var runStart = position
    while true {
      guard let byte = current else { throw error("unterminated string") }
      switch byte {
      case UInt8(ascii: "\""):
        defer { position += 1 }
        // Without escapes (every escape adds bytes to `decoded`) the string is its one run.
        guard !decoded.isEmpty else {
          return String(decoding: bytes[runStart..<position], as: UTF8.self)
        }
        decoded += bytes[runStart..<position]
        return String(decoding: decoded, as: UTF8.self)
      case UInt8(ascii: "\\"):
        decoded += bytes[runStart..<position]
        position += 1
        try decodeEscape(into: &decoded)
        runStart = position
      case ..<0x20: throw error("control character in a string (escape it)")
      default: position += 1
      }
    }
  }

  /// The byte each one-letter escape stands for: `\n` is 0x0A.
  private static let simpleEscapes: [UInt8: UInt8] = [
    UInt8(ascii: "\""): 0x22, UInt8(ascii: "\\"): 0x5C, UInt8(ascii: "/"): 0x2F,
    UInt8(ascii: "b"): 0x08,
    UInt8(ascii: "f"): 0x0C, UInt8(ascii: "n"): 0x0A, UInt8(ascii: "r"): 0x0D,
    UInt8(ascii: "t"): 0x09,
  ]

  /// Decodes the escape after a backslash, appending its UTF-8 bytes.
  private mutating func decodeEscape(into decoded: inout [UInt8]) throws {
    guard let byte = current else { throw error("unterminated string") }
    position += 1
    if let character = Self.simpleEscapes[byte] {
      decoded.append(character)
      return
    }
    guard byte == UInt8(ascii: "u") else {
      throw error("unknown escape '\\\(UnicodeScalar(byte))'")
    }
    var value = try readHexQuad()
    if (0xD800..<0xDC00).contains(value) {
      // A high surrogate must be followed by an escaped low one: together one scalar.
      guard consumeLiteral("\\u") else { throw error("unpaired surrogate \\u\(hex(value))") }
      let low = try readHexQuad()
      guard (0xDC00..<0xE000).contains(low) else {
        throw error("unpaired surrogate \\u\(hex(value))")
      }
      value = 0x10000 + ((value - 0xD800) << 10) + (low - 0xDC00)
    }
    guard let scalar = UnicodeScalar(value) else {
      throw error("unpaired surrogate \\u\(hex(value))")
    }
    decoded += Array(String(Character(scalar)).utf8)
  }

  private mutating func consumeLiteral(_ literal: String) -> Bool {
    let end = position + literal.utf8.count
    guard end <= bytes.count, bytes[position..<end].elementsEqual(literal.utf8) else {
      return false
    }
    position = end
    return true
  }

  private mutating func readHexQuad() throws -> UInt32 {
    let end = position + 4
    guard end <= bytes.count,
      let value = UInt32(String(decoding: bytes[position..<end], as: UTF8.self), radix: 16),
      bytes[position..<end].allSatisfy({ $0 != UInt8(ascii: "+") && $0 != UInt8(ascii: "-") })
    else { throw error("expected four hex digits after \\u") }
    position = end
    return value
  }

  private func hex(_ value: UInt32) -> String {
    String(value, radix: 16)
  }
}
