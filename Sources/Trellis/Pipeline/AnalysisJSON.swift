/// `Analysis` written as JSON by hand, byte for byte what `JSONEncoder` writes with
/// `[.sortedKeys, .withoutEscapingSlashes]` but for U+0085, U+2028 and U+2029, which it
/// escapes (`JSONBytes.append(jsonString:)`; tested against it), several times faster: every
/// JSON-lines answer (`TaggingResponse.jsonLine()`) is one, and with `JSONEncoder` writing
/// them took about a third of a C-ABI call's time. It is written as UTF-8 bytes (`JSONBytes`),
/// which append with less work than a `String`'s pieces.
extension Analysis {
  /// Appends the object's members without its braces, so an answer can put its own first;
  /// throws `NonFiniteNumber` where `JSONEncoder` would refuse a NaN or an infinity.
  func appendMembers(to json: inout JSONBytes) throws {
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
          json.append(raw: try jsonNumber(probability))
        }
        json.append(literal: ",\"score\":")
        json.append(raw: try jsonNumber(alternative.score))
        json.append(UInt8(ascii: "}"))
      }
      json.append(UInt8(ascii: "]"))
    }
    if alternativesTruncated { json.append(literal: ",\"nbest_truncated\":true") }
    if let sequenceProbability {
      json.append(literal: ",\"probability\":")
      json.append(raw: try jsonNumber(sequenceProbability))
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
  func appendJSON(to json: inout JSONBytes) {
    Self.appendJSON(
      start: start, end: end, startChar: startChar, endChar: endChar, to: &json,
      label: { $0.append(jsonString: label) }, text: { $0.append(jsonString: text) })
  }

  /// A span's JSON object, keys sorted as `JSONEncoder`'s `.sortedKeys` writes them and absent
  /// offsets left out; `label` and `text` append their JSON strings. The one writer of the
  /// layout: `Span.appendJSON` and labels-only answers (`labelsOnlyAnswerLine`) both call it.
  static func appendJSON(
    start: Int, end: Int, startChar: Int?, endChar: Int?, to json: inout JSONBytes,
    label: (inout JSONBytes) -> Void, text: (inout JSONBytes) -> Void
  ) {
    // Written out rather than through a local function: one capturing `json` kept each
    // append a call.
    json.append(literal: "{\"end\":")
    json.append(decimal: end)
    if let endChar {
      json.append(literal: ",\"end_char\":")
      json.append(decimal: endChar)
    }
    json.append(literal: ",\"label\":")
    label(&json)
    json.append(literal: ",\"start\":")
    json.append(decimal: start)
    if let startChar {
      json.append(literal: ",\"start_char\":")
      json.append(decimal: startChar)
    }
    json.append(literal: ",\"text\":")
    text(&json)
    json.append(UInt8(ascii: "}"))
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

private func appendNumbers(_ values: [Double], to json: inout JSONBytes) throws {
  json.append(UInt8(ascii: "["))
  for (index, value) in values.enumerated() {
    if index > 0 { json.append(UInt8(ascii: ",")) }
    json.append(raw: try jsonNumber(value))
  }
  json.append(UInt8(ascii: "]"))
}

func appendStrings(_ values: [String], to json: inout JSONBytes) {
  json.append(UInt8(ascii: "["))
  for (index, value) in values.enumerated() {
    if index > 0 { json.append(UInt8(ascii: ",")) }
    json.append(jsonString: value)
  }
  json.append(UInt8(ascii: "]"))
}
