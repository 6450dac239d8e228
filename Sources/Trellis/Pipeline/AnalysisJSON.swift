/// `Analysis` written as JSON by hand, byte for byte what `JSONEncoder` writes with
/// `[.sortedKeys, .withoutEscapingSlashes]` (tested against it), several times faster: every
/// JSON-lines answer (`TaggingResponse.jsonLine()`) is one, and with `JSONEncoder` writing
/// them took about a third of a C-ABI call's time. It is written as UTF-8 bytes, which append
/// with less work than a `String`'s pieces.
extension Analysis {
  /// Appends the object; throws `NonFiniteNumber` where `JSONEncoder` would refuse a NaN or
  /// an infinity.
  func appendJSON(to json: inout [UInt8]) throws {
    json.append(UInt8(ascii: "{"))
    try appendMembers(to: &json)
    json.append(UInt8(ascii: "}"))
  }

  /// Appends the object's members without its braces, so an answer can put its own first.
  func appendMembers(to json: inout [UInt8]) throws {
    // Keys in sorted order, as `.sortedKeys` writes them; absent optionals are left out.
    if let tokenConfidences {
      json.append(literal: "\"confidences\":")
      try appendNumbers(tokenConfidences, to: &json)
      json.append(literal: ",\"labels\":")
    } else {
      json.append(literal: "\"labels\":")
    }
    appendStrings(labels, to: &json)
    if !alternatives.isEmpty {
      json.append(literal: ",\"nbest\":[")
      for (index, alternative) in alternatives.enumerated() {
        if index > 0 { json.append(UInt8(ascii: ",")) }
        json.append(literal: "{\"labels\":")
        appendStrings(alternative.labels, to: &json)
        if let probability = alternative.probability {
          json.append(literal: ",\"probability\":")
          json += try jsonNumber(probability).utf8
        }
        json.append(literal: ",\"score\":")
        json += try jsonNumber(alternative.score).utf8
        json.append(UInt8(ascii: "}"))
      }
      json.append(UInt8(ascii: "]"))
    }
    if alternativesTruncated { json.append(literal: ",\"nbest_truncated\":true") }
    if let sequenceProbability {
      json.append(literal: ",\"probability\":")
      json += try jsonNumber(sequenceProbability).utf8
    }
    json.append(literal: ",\"spans\":[")
    for (index, span) in spans.enumerated() {
      if index > 0 { json.append(UInt8(ascii: ",")) }
      span.appendJSON(to: &json)
    }
    json.append(literal: "],\"tokens\":")
    appendStrings(tokens, to: &json)
  }
}

extension Span {
  func appendJSON(to json: inout [UInt8]) {
    Self.appendJSON(
      start: start, end: end, startChar: startChar, endChar: endChar, to: &json,
      label: { appendJSONString(label, to: &$0) }, text: { appendJSONString(text, to: &$0) })
  }

  /// A span's JSON object, keys sorted as `JSONEncoder`'s `.sortedKeys` writes them and absent
  /// offsets left out; `label` and `text` append their JSON strings. The one writer of the
  /// layout: `Span.appendJSON` and labels-only answers (`labelsOnlyAnswerLine`) both call it.
  static func appendJSON(
    start: Int, end: Int, startChar: Int?, endChar: Int?, to json: inout [UInt8],
    label: (inout [UInt8]) -> Void, text: (inout [UInt8]) -> Void
  ) {
    func appendNumber(_ key: StaticString, _ value: Int?) {
      guard let value else { return }
      json.append(literal: key)
      appendDecimal(value, to: &json)
    }
    appendNumber("{\"end\":", end)
    appendNumber(",\"end_char\":", endChar)
    json.append(literal: ",\"label\":")
    label(&json)
    appendNumber(",\"start\":", start)
    appendNumber(",\"start_char\":", startChar)
    json.append(literal: ",\"text\":")
    text(&json)
    json.append(UInt8(ascii: "}"))
  }
}

extension [UInt8] {
  /// Appends a literal's UTF-8 bytes. Appending a String literal's UTF-8 view retained and
  /// released its storage and cost about twice the instructions (callgrind: 168 a call, a
  /// tenth of writing a JSON-lines answer).
  mutating func append(literal: StaticString) {
    append(
      contentsOf: UnsafeBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount))
  }
}

/// Appends `value` in decimal, as `String(value)` writes it, digit by digit: making the String
/// first was a fifth of writing a span.
func appendDecimal(_ value: Int, to json: inout [UInt8]) {
  if value < 0 { json.append(UInt8(ascii: "-")) }
  // The magnitude as UInt, so Int.min has one too; its digits fill the buffer from the end.
  var magnitude = value.magnitude
  withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { digits in
    var start = digits.count
    repeat {
      start -= 1
      digits[start] = UInt8(ascii: "0") + UInt8(magnitude % 10)
      magnitude /= 10
    } while magnitude > 0
    json.append(contentsOf: UnsafeBufferPointer(rebasing: digits[start...]))
  }
}

/// A NaN or infinity, which JSON cannot hold.
struct NonFiniteNumber: Error, CustomStringConvertible {
  var value: Double
  var description: String { "\(value) cannot be written as a JSON number" }
}

/// `value` as `JSONEncoder` writes a Double: its shortest round-trip form (`description`),
/// without a trailing ".0" (`1`, `0.5`, `1e-05`, `1.2345678901234568e+20`).
func jsonNumber(_ value: Double) throws -> String {
  guard value.isFinite else { throw NonFiniteNumber(value: value) }
  let text = value.description
  return text.hasSuffix(".0") ? String(text.dropLast(2)) : text
}

private func appendNumbers(_ values: [Double], to json: inout [UInt8]) throws {
  json.append(UInt8(ascii: "["))
  for (index, value) in values.enumerated() {
    if index > 0 { json.append(UInt8(ascii: ",")) }
    json += try jsonNumber(value).utf8
  }
  json.append(UInt8(ascii: "]"))
}

func appendStrings(_ values: [String], to json: inout [UInt8]) {
  json.append(UInt8(ascii: "["))
  for (index, value) in values.enumerated() {
    if index > 0 { json.append(UInt8(ascii: ",")) }
    appendJSONString(value, to: &json)
  }
  json.append(UInt8(ascii: "]"))
}
