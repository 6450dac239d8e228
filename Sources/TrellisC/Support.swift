import Foundation
import Trellis

/// A failure of a C call that is not the library's own error type.
struct CallError: Error, CustomStringConvertible {
  var description: String

  init(_ description: String) {
    self.description = description
  }

  /// The text a C caller gets for `error`: `FILE: what` for model files (`TrellisError`),
  /// the option and its rule for options (with the JSON key's spelling).
  static func message(of error: any Error) -> String {
    if let option = error as? OptionError {
      let key = option.option.replacingOccurrences(of: "-", with: "_")
      return "options: \(RawJSON.string(key)) \(option.message)"
    }
    return "\(error)"
  }
}

/// The `options` argument of `trellis_tag_jsonl`: a JSON object (or nothing) read into
/// `TaggingOptions`, refusing unknown keys and values of the wrong type by name.
enum CallOptions {
  /// The options argument as text; invalid bytes refused, not replaced.
  static func text(_ options: UnsafePointer<CChar>) throws -> String {
    guard let text = String(validatingCString: options) else {
      throw CallError("options are not valid UTF-8")
    }
    return text
  }

  static func parse(_ text: String) throws -> TaggingOptions {
    var options = TaggingOptions()
    // JSON's whitespace only: a no-break space is no JSON text, and no empty options either.
    guard !text.utf8.allSatisfy({ [0x20, 0x09, 0x0A, 0x0D].contains($0) }) else { return options }
    let fields: [String: OptionValue]
    do {
      guard !nestsValues(text) else { throw CallError("nested") }
      guard isJSONValue(text) else { throw CallError("not JSON") }
      fields = try JSONDecoder().decode([String: OptionValue].self, from: Data(text.utf8))
    } catch {
      // The options as given, cut to their first 100 characters: a 200 KB string came back
      // whole in the message.
      let shown = text.count > 100 ? text.prefix(100) + "…" : Substring(text)
      throw CallError(
        "options must be a JSON object of booleans and integers, such as "
          + "{\"confidence\": true, \"nbest\": 3}: \(shown)")
    }
    // As requests and HTTP bodies: JSONDecoder would keep one of the two values silently.
    if let repeated = firstRepeatedJSONKey(in: text) {
      throw CallError("options: \"\(repeated)\" is given twice")
    }
    for (key, value) in fields.sorted(by: { $0.key < $1.key }) {
      switch (key, value) {
      case ("confidence", .boolean(let flag)): options.confidence = flag
      case ("constrained", .boolean(let flag)): options.constrained = flag
      case ("nbest", .integer(let count)): options.nbest = count
      case ("batch_size", .integer(let size)): options.batchSize = size
      case ("threads", .integer(let count)): options.threads = count
      case ("confidence", _), ("constrained", _):
        throw CallError("options: \(RawJSON.string(key)) must be true or false")
      case ("nbest", .wholeNumberBeyondInt(let number)),
        ("batch_size", .wholeNumberBeyondInt(let number)),
        ("threads", .wholeNumberBeyondInt(let number)):
        // It is an integer, only too large to be one the option could take.
        throw CallError(
          "options: \(RawJSON.string(key)) must be in its range (got \(number), beyond any 64-bit integer)"
        )
      case ("nbest", _), ("batch_size", _), ("threads", _):
        throw CallError("options: \(RawJSON.string(key)) must be an integer")
      default:
        throw CallError(
          "options: unknown key \(RawJSON.string(key)) (known: batch_size, confidence, constrained, nbest, "
            + "threads)")
      }
    }
    try options.validate()
    return options
  }

  /// A value an option may have.
  enum OptionValue: Decodable {
    case boolean(Bool)
    case integer(Int)
    /// A whole number an `Int` cannot hold (`1e20`, 2⁶³).
    case wholeNumberBeyondInt(Double)
    case other

    init(from decoder: any Decoder) throws {
      let container = try decoder.singleValueContainer()
      if let flag = try? container.decode(Bool.self) {
        self = .boolean(flag)
      } else if let count = try? container.decode(Int.self) {
        self = .integer(count)
      } else if let number = try? container.decode(Double.self), number.isFinite,
        number == number.rounded()
      {
        self = .wholeNumberBeyondInt(number)
      } else {
        self = .other
      }
    }
  }
}

/// Splitting the `jsonl` argument into lines.
enum JSONLinesInput {
  /// The lines of a NUL-terminated UTF-8 text, as `trellis tag --input jsonl` reads a file: LF
  /// or CRLF ends a line (a lone CR is JSON whitespace inside one), a final line end does not
  /// start another line, a byte-order mark before the first line is dropped (alone it is no
  /// line), and a line longer than `LineReader.lineLimit` is nil, answered as `trellis tag
  /// --on-error skip` answers it.
  static func lines(of text: UnsafePointer<CChar>) throws -> [String?] {
    let encoded = bytes(ofCString: text)
    var lines: [String?] = []
    func appendLine(_ line: Range<Int>) throws {
      guard line.count <= LineReader.lineLimit else { return lines.append(nil) }
      guard let line = String(validating: encoded[line], as: UTF8.self) else {
        throw CallError("input line \(lines.count + 1) is not valid UTF-8")
      }
      lines.append(line)
    }
    var start = encoded.starts(with: LineReader.byteOrderMark) ? 3 : 0
    while let end = LineEnds.lfOrCRLF.lineEnd(in: encoded, from: start, atEndOfFile: true) {
      try appendLine(start..<end.index)
      start = end.index + end.length
    }
    // A byte-order mark alone is no line, as the command line reads such a file.
    if start < encoded.count { try appendLine(start..<encoded.count) }
    return lines
  }
}

/// Whether `text` holds an object or array inside another, outside its strings. Options are one
/// flat object, and JSONDecoder recurses once per level: options nested 300 deep overflowed a
/// 64 KiB thread stack before they could be refused.
private func nestsValues(_ text: String) -> Bool {
  var (depth, inString, escaped) = (0, false, false)
  for byte in text.utf8 {
    if inString {
      if escaped {
        escaped = false
      } else if byte == UInt8(ascii: "\\") {
        escaped = true
      } else if byte == UInt8(ascii: "\"") {
        inString = false
      }
      continue
    }
    switch byte {
    case UInt8(ascii: "\""): inString = true
    case UInt8(ascii: "{"), UInt8(ascii: "["):
      depth += 1
      if depth > 1 { return true }
    case UInt8(ascii: "}"), UInt8(ascii: "]"): depth -= 1
    default: break
    }
  }
  return false
}

/// Strings handed to C, allocated with malloc so that `trellis_free_string` (free) releases
/// them. Each throws `CallError` when malloc cannot give the bytes: an answer's size follows
/// its input, and a trap would take the caller's process down.
enum CString {
  /// `text` as a NUL-terminated copy.
  static func copy(_ text: String) throws -> UnsafeMutablePointer<CChar> {
    try joined([text], separator: nil)
  }

  /// Each line followed by "\n", as one NUL-terminated string.
  static func joiningLines(_ lines: [String]) throws -> UnsafeMutablePointer<CChar> {
    try joined(lines + (lines.isEmpty ? [] : [""]), separator: UInt8(ascii: "\n"))
  }

  /// One malloc and one copy per part, whatever the size of the batch.
  private static func joined(_ parts: [String], separator: UInt8?) throws
    -> UnsafeMutablePointer<CChar>
  {
    let separatorCount = separator == nil ? 0 : max(parts.count - 1, 0)
    let count = parts.reduce(separatorCount) { $0 + $1.utf8.count }
    guard let start = malloc(count + 1) else {
      throw CallError("cannot allocate \(count + 1) bytes for the answer")
    }
    let buffer = UnsafeMutableRawBufferPointer(start: start, count: count + 1)
    var offset = 0
    for (index, var part) in parts.enumerated() {
      if index > 0, let separator {
        buffer[offset] = separator
        offset += 1
      }
      part.withUTF8 { utf8 in
        guard let source = utf8.baseAddress else { return }
        buffer.baseAddress!.advanced(by: offset).copyMemory(from: source, byteCount: utf8.count)
        offset += utf8.count
      }
    }
    buffer[count] = 0
    return buffer.baseAddress!.assumingMemoryBound(to: CChar.self)
  }
}
