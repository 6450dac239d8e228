/// `Analysis` written as JSON by hand, byte for byte what `JSONEncoder` writes with
/// `[.sortedKeys, .withoutEscapingSlashes]` (tested against it), several times faster: every
/// JSON-lines answer (`TaggingResponse.jsonLine()`) is one, and with `JSONEncoder` writing
/// them took about a third of a C-ABI call's time.
extension Analysis {
  /// Appends the object; throws `NonFiniteNumber` where `JSONEncoder` would refuse a NaN or
  /// an infinity.
  func appendJSON(to json: inout String) throws {
    json += "{"
    try appendMembers(to: &json)
    json += "}"
  }

  /// Appends the object's members without its braces, so an answer can put its own first.
  func appendMembers(to json: inout String) throws {
    // Keys in sorted order, as `.sortedKeys` writes them; absent optionals are left out.
    if let tokenConfidences {
      json += "\"confidences\":"
      try appendNumbers(tokenConfidences, to: &json)
      json += ",\"labels\":"
    } else {
      json += "\"labels\":"
    }
    appendStrings(labels, to: &json)
    if !alternatives.isEmpty {
      json += ",\"nbest\":["
      for (index, alternative) in alternatives.enumerated() {
        if index > 0 { json += "," }
        json += "{\"labels\":"
        appendStrings(alternative.labels, to: &json)
        if let probability = alternative.probability {
          json += ",\"probability\":" + (try jsonNumber(probability))
        }
        json += ",\"score\":" + (try jsonNumber(alternative.score)) + "}"
      }
      json += "]"
    }
    if let sequenceProbability {
      json += ",\"probability\":" + (try jsonNumber(sequenceProbability))
    }
    json += ",\"spans\":["
    for (index, span) in spans.enumerated() {
      if index > 0 { json += "," }
      span.appendJSON(to: &json)
    }
    json += "],\"tokens\":"
    appendStrings(tokens, to: &json)
  }
}

extension Span {
  func appendJSON(to json: inout String) {
    func appendNumber(_ key: String, _ value: Int?) {
      guard let value else { return }
      json += key
      json += String(value)
    }
    appendNumber("{\"end\":", end)
    appendNumber(",\"end_char\":", endChar)
    json += ",\"label\":"
    appendJSONString(label, to: &json)
    appendNumber(",\"start\":", start)
    appendNumber(",\"start_char\":", startChar)
    json += ",\"text\":"
    appendJSONString(text, to: &json)
    json += "}"
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

private func appendNumbers(_ values: [Double], to json: inout String) throws {
  json += "["
  for (index, value) in values.enumerated() {
    if index > 0 { json += "," }
    json += try jsonNumber(value)
  }
  json += "]"
}

private func appendStrings(_ values: [String], to json: inout String) {
  json += "["
  for (index, value) in values.enumerated() {
    if index > 0 { json += "," }
    appendJSONString(value, to: &json)
  }
  json += "]"
}
