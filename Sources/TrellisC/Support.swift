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

  /// Values are read as they are written (`RawJSON`), as the HTTP service reads its body's:
  /// a count is an integer literal, so `1.0` and `1e0` are refused as there (JSONDecoder took
  /// them for 1).
  static func parse(_ text: String) throws -> TaggingOptions {
    var options = TaggingOptions()
    // JSON's whitespace only: a no-break space is no JSON text, and no empty options either.
    guard !text.utf8.allSatisfy({ [0x20, 0x09, 0x0A, 0x0D].contains($0) }) else { return options }
    guard let members = try? RawJSON(text).objectMembers else {
      // The options as given, cut to their first 100 characters: a 200 KB string came back
      // whole in the message.
      let shown = text.count > 100 ? text.prefix(100) + "…" : Substring(text)
      throw CallError(
        "options must be a JSON object of booleans and integers, such as "
          + "{\"confidence\": true, \"nbest\": 3}: \(shown)")
    }
    var seen: Set<String> = []
    for (key, value) in members.sorted(by: { $0.name < $1.name }) {
      guard seen.insert(key).inserted else {
        throw CallError("options: \(RawJSON.string(key)) is given twice")
      }
      switch key {
      case "confidence", "constrained":
        guard value.text == "true" || value.text == "false" else {
          throw CallError("options: \(RawJSON.string(key)) must be true or false")
        }
        if key == "confidence" {
          options.confidence = value.text == "true"
        } else {
          options.constrained = value.text == "true"
        }
      case "nbest", "batch_size", "threads":
        guard let count = Int(value.text) else {
          // An integer, only too large to be one the option could take.
          let digits = value.text.drop { $0 == "-" }
          throw CallError(
            !digits.isEmpty && digits.allSatisfy { ("0"..."9").contains($0) }
              ? "options: \(RawJSON.string(key)) must be in its range (got \(value.text), "
                + "beyond any 64-bit integer)"
              : "options: \(RawJSON.string(key)) must be an integer")
        }
        switch key {
        case "nbest": options.nbest = count
        case "batch_size": options.batchSize = count
        default: options.threads = count
        }
      default:
        throw CallError(
          "options: unknown key \(RawJSON.string(key)) (known: batch_size, confidence, "
            + "constrained, nbest, threads)")
      }
    }
    try options.validate()
    return options
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
