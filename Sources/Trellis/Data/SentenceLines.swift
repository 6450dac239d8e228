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
  /// Each line's fields, each followed by a tab: the answer's label column goes after a line.
  public private(set) var text: [UInt8] = []
  /// Where each field starts in `text`, line after line; a field ends before the tab that
  /// precedes the next field's start (or the end of `text`).
  private var fieldStarts: [Int] = []
  /// The index in `fieldStarts` of each line's first field.
  private var lineFirstFields: [Int] = []

  init(firstLine: Int) {
    self.firstLine = firstLine
    // Room for most sentences at once: grown from empty, the three arrays were reallocated
    // about thirteen times a sentence, most of what reading a line cost (callgrind).
    text.reserveCapacity(512)
    fieldStarts.reserveCapacity(64)
    lineFirstFields.reserveCapacity(32)
  }

  /// The whitespace-separated tokens of one line of text input, a token per line.
  public init(tokensOf line: UnsafeBufferPointer<UInt8>, lineNumber: Int) {
    self.init(firstLine: lineNumber)
    var tokens: [Range<Int>] = []
    columnRanges(of: line, into: &tokens)
    for token in tokens {
      lineFirstFields.append(fieldStarts.count)
      appendField(UnsafeBufferPointer(rebasing: line[token]))
    }
  }

  mutating func appendLine(_ line: UnsafeBufferPointer<UInt8>, fields: [Range<Int>]) {
    lineFirstFields.append(fieldStarts.count)
    for field in fields { appendField(UnsafeBufferPointer(rebasing: line[field])) }
  }

  private mutating func appendField(_ bytes: UnsafeBufferPointer<UInt8>) {
    fieldStarts.append(text.count)
    text.append(contentsOf: bytes)
    text.append(UInt8(ascii: "\t"))
  }

  /// The number of lines (tokens).
  public var count: Int { lineFirstFields.count }

  /// The number of fields of line `line` (0-based).
  public func fieldCount(ofLine line: Int) -> Int {
    firstField(ofLine: line + 1) - firstField(ofLine: line)
  }

  /// Field `field` of line `line` (both 0-based), which must exist.
  public func field(_ field: Int, ofLine line: Int) -> String {
    let index = firstField(ofLine: line) + field
    let bytes = fieldStart(index)..<fieldStart(index + 1) - 1  // without its tab
    return text.withUnsafeBufferPointer {
      String(decoding: UnsafeBufferPointer(rebasing: $0[bytes]), as: UTF8.self)
    }
  }

  /// Line `line`'s bytes in `text`: its fields, each followed by a tab.
  public func lineBytes(_ line: Int) -> Range<Int> {
    fieldStart(firstField(ofLine: line))..<fieldStart(firstField(ofLine: line + 1))
  }

  /// The index in `fieldStarts` of line `line`'s first field; the field count past the last.
  private func firstField(ofLine line: Int) -> Int {
    line < count ? lineFirstFields[line] : fieldStarts.count
  }

  /// Where field `index` starts in `text`; the end of `text` past the last.
  private func fieldStart(_ index: Int) -> Int {
    index < fieldStarts.count ? fieldStarts[index] : text.count
  }
}
