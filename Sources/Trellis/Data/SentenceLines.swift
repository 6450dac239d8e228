import ConllEval

/// A sentence of CoNLL or text input kept as its lines' bytes in one buffer and where each
/// field starts, for a streaming tagger: an answer copies each line whole and only the columns
/// it tags become Strings. As `Sentence` (an array of Strings per line) there was an allocation
/// per token, and freeing, retaining and re-joining them was most of what `trellis tag`'s
/// calling thread did.
public struct SentenceLines: CoNLLSentence, Sendable {
  /// The 1-based number of the first line (for text input, the sentence's one line).
  public let firstLine: Int
  public var isDocumentMarker = false
  // The accessors below are inlinable, so `trellis tag`'s loops over lines (another module)
  // read the arrays directly: as calls they were a tenth of its calling thread's samples.
  /// Each line's fields, each followed by a tab: the answer's label column goes after a line.
  public private(set) var text: [UInt8] = []
  /// Where each field starts in `text`, line after line (`fieldsPerLine` a line); a field ends
  /// before the tab that precedes the next field's start (or the end of `text`).
  @usableFromInline var fieldStarts: [Int] = []
  /// The number of fields of every line: a CoNLL reader refuses a line whose column count
  /// differs from the first's, and a text line's tokens are lines of one field. Where each
  /// line starts is then a product, not a third array to allocate and free per sentence.
  public private(set) var fieldsPerLine = 0

  init(firstLine: Int) {
    self.firstLine = firstLine
    // Room for most sentences at once: grown from empty, the arrays were reallocated about
    // thirteen times a sentence, most of what reading a line cost (callgrind).
    text.reserveCapacity(512)
    fieldStarts.reserveCapacity(64)
  }

  /// The whitespace-separated tokens of one line of text input (valid UTF-8), a token per
  /// line: split at spaces and tabs, as CoNLL columns are, and at every Unicode space beyond
  /// ASCII (no-break and ideographic spaces, U+2028, …, where Python's `str.split()` splits
  /// too), which a token printed as `token/LABEL` would otherwise show as two words. ASCII
  /// control characters stay inside tokens, as in CoNLL columns.
  public init(tokensOf line: UnsafeBufferPointer<UInt8>, lineNumber: Int) {
    self.init(firstLine: lineNumber)
    fieldsPerLine = 1
    var tokens: [Range<Int>] = []
    if line.contains(where: { $0 >= 0x80 }) {
      tokens = Self.unicodeSpaceSeparatedRanges(of: line)
    } else {
      columnRanges(of: line, into: &tokens)
    }
    appendFields(tokens, of: line)
  }

  /// The tokens `Tokenizer` finds in one line of text input (valid UTF-8), as a `"text"`
  /// request's are (punctuation apart from words: `Denver,` is `Denver` and `,`), a token per
  /// line, keeping at most `limit`; and how many the line has (`Tokenizer.tokenize`'s count).
  package static func tokenizing(
    _ line: UnsafeBufferPointer<UInt8>, lineNumber: Int, keepingAtMost limit: Int
  ) -> (sentence: SentenceLines, tokenCount: Int) {
    let text = String(decoding: line, as: UTF8.self)
    let (tokens, count) = Tokenizer.tokenize(text, keepingAtMost: limit)
    // A token's range is in code points; its bytes, in `line`, are these offsets'.
    var byteOffsets = [0]
    byteOffsets.reserveCapacity(line.count + 1)
    for scalar in text.unicodeScalars { byteOffsets.append(byteOffsets.last! + UTF8.width(scalar)) }
    var sentence = SentenceLines(firstLine: lineNumber)
    sentence.fieldsPerLine = 1
    sentence.appendFields(
      tokens.map { byteOffsets[$0.range.lowerBound]..<byteOffsets[$0.range.upperBound] }, of: line)
    return (sentence, count)
  }

  /// The byte ranges of `line`'s runs of code points that are not spaces or tabs, nor Unicode
  /// White_Space.
  private static func unicodeSpaceSeparatedRanges(of line: UnsafeBufferPointer<UInt8>)
    -> [Range<Int>]
  {
    var ranges: [Range<Int>] = []
    var tokenStart: Int?
    var offset = 0
    for scalar in String(decoding: line, as: UTF8.self).unicodeScalars {
      let separates =
        scalar == " " || scalar == "\t" || (scalar.value >= 0x80 && scalar.properties.isWhitespace)
      if separates, let start = tokenStart {
        ranges.append(start..<offset)
        tokenStart = nil
      } else if !separates && tokenStart == nil {
        tokenStart = offset
      }
      offset += UTF8.width(scalar)
    }
    if let start = tokenStart { ranges.append(start..<offset) }
    return ranges
  }

  mutating func appendLine(_ line: UnsafeBufferPointer<UInt8>, fields: [Range<Int>]) {
    if fieldStarts.isEmpty { fieldsPerLine = fields.count }
    precondition(
      fields.count == fieldsPerLine && fieldsPerLine > 0,
      "a line of \(fields.count) fields in a sentence of \(fieldsPerLine) a line")
    appendFields(fields, of: line)
  }

  /// `fields` of `line`, each followed by a tab. Fields one separator byte apart (a tab or a
  /// space: nearly every CoNLL file and text line) are the line from the first field's start
  /// to the last's end, so they are copied in one append, the separators then set to tabs;
  /// appended field by field, the copies and tabs were a quarter of what reading a CoNLL line
  /// cost (callgrind).
  private mutating func appendFields(_ fields: [Range<Int>], of line: UnsafeBufferPointer<UInt8>) {
    guard let first = fields.first, let last = fields.last else { return }
    let span = first.lowerBound..<last.upperBound
    // Each gap one byte: a total alone let a gap of none (`Denver,` tokenized) make up for one
    // of two bytes.
    var oneByteApart = true
    for f in 1..<fields.count where fields[f].lowerBound != fields[f - 1].upperBound + 1 {
      oneByteApart = false
      break
    }
    guard oneByteApart else {
      for field in fields { appendField(UnsafeBufferPointer(rebasing: line[field])) }
      return
    }
    let start = text.count - first.lowerBound
    for field in fields { fieldStarts.append(start + field.lowerBound) }
    text.append(contentsOf: UnsafeBufferPointer(rebasing: line[span]))
    text.append(UInt8(ascii: "\t"))
    text.withUnsafeMutableBufferPointer { text in
      for f in 0..<fields.count - 1 { text[start + fields[f].upperBound] = UInt8(ascii: "\t") }
    }
  }

  private mutating func appendField(_ bytes: UnsafeBufferPointer<UInt8>) {
    fieldStarts.append(text.count)
    text.append(contentsOf: bytes)
    text.append(UInt8(ascii: "\t"))
  }

  /// The number of lines (tokens).
  @inlinable public var count: Int { fieldsPerLine == 0 ? 0 : fieldStarts.count / fieldsPerLine }

  /// Field `field` of line `line` (both 0-based), which must exist.
  @inlinable public func field(_ field: Int, ofLine line: Int) -> String {
    let index = line * fieldsPerLine + field
    let bytes = fieldStart(index)..<fieldStart(index + 1) - 1  // without its tab
    return text.withUnsafeBufferPointer {
      String(decoding: UnsafeBufferPointer(rebasing: $0[bytes]), as: UTF8.self)
    }
  }

  /// Line `line`'s bytes in `text`: its fields, each followed by a tab.
  @inlinable public func lineBytes(_ line: Int) -> Range<Int> {
    fieldStart(line * fieldsPerLine)..<fieldStart((line + 1) * fieldsPerLine)
  }

  /// Where field `index` starts in `text`; the end of `text` past the last.
  @inlinable func fieldStart(_ index: Int) -> Int {
    index < fieldStarts.count ? fieldStarts[index] : text.count
  }
}
