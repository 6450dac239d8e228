import Foundation

/// A line of conlleval input that conlleval.pl would reject.
public struct ConllEvalError: Error, CustomStringConvertible, Equatable, Sendable {
  /// The file name given to `scoreConll` or `ConllScorer`.
  public var fileName: String
  /// The 1-based number of the offending line.
  public var line: Int
  /// What is wrong with the line, e.g. "expected 3 columns as on line 1, found 2".
  public var message: String

  /// Creates an error for line `line` of `fileName`.
  public init(fileName: String, line: Int, message: String) {
    self.fileName = fileName
    self.line = line
    self.message = message
  }

  /// "FILE:LINE: MESSAGE", e.g. "dev.conll:7: expected 3 columns as on line 1, found 2".
  public var description: String { "\(fileName):\(line): \(message)" }
}

// `error.localizedDescription` gave Foundation's "The operation could not be completed." on
// Linux, not the message.
extension ConllEvalError: LocalizedError {
  /// The message, as `description` gives it.
  public var errorDescription: String? { description }
}

/// How conlleval's options read the input: `-d`, `-r` and `-o`. (`-l` only changes the output:
/// `ConllCounts.latexReport()`.)
public struct ConllOptions: Sendable {
  /// `-d DELIM`: split every line as Perl's `split(/DELIM/, $line)`. nil: split at runs of spaces
  /// and tabs (Trellis's default; conlleval's own default is `-d ' '`).
  public var delimiter: FieldDelimiter?
  /// `-r`: the labels are raw chunk types without B-/I- prefixes; every label other than "O" and
  /// `outsideLabel` is a one-token chunk of that type.
  public var rawLabels: Bool
  /// `-o OUTSIDE`: with `rawLabels`, the label that means "outside" besides "O". conlleval reads
  /// it only with `-r`, and so does this.
  public var outsideLabel: String

  /// The defaults read input as `trellis score` does without options.
  public init(
    delimiter: FieldDelimiter? = nil, rawLabels: Bool = false, outsideLabel: String = "O"
  ) {
    self.delimiter = delimiter
    self.rawLabels = rawLabels
    self.outsideLabel = outsideLabel
  }
}

/// Reads conlleval input (lines whose last two columns are gold and predicted; blank lines and
/// lines whose first column is "-X-" are boundaries) and counts it as conlleval.pl (version
/// 2004-01-26) does.
///
/// - Lines end at LF, CRLF or a lone CR, so "\r\r\n" is a line end followed by an empty line; a
///   UTF-8 byte order mark at the start is ignored. (conlleval ends lines at LF only and keeps a
///   CR, or the mark, in the labels.)
/// - Columns are separated by runs of spaces and tabs, unless `options.delimiter` says otherwise.
///   conlleval itself splits at every single space; the two agree on files whose columns are
///   separated by one space.
/// - A line without columns, or whose first column is "-X-", is a sentence boundary: it ends any
///   open chunk and is not a token. A `-DOCSTART-` line is, as in conlleval, an ordinary line: its
///   "O" labels end any open chunk (the previous tag becomes "O"), and it is counted as a token.
/// - Every other line must have as many columns as the first non-blank line, and at least two.
/// - A chunk still open at the end of the text is closed there, with or without a final blank line.
/// - Labels are compared by their bytes, as conlleval compares them.
///
/// - Throws: `ConllEvalError` naming `fileName` and the 1-based line number of the first line
///   that breaks a column rule.
public func scoreConll(
  text: String, fileName: String, options: ConllOptions = ConllOptions()
) throws -> ConllCounts {
  var scorer = ConllScorer(fileName: fileName, options: options)
  for line in lines(of: text) { try scorer.add(line: line) }
  return scorer.counts
}

/// `scoreConll`'s rules one line at a time, so input of any size is scored in constant memory
/// (`trellis score` feeds it from a streaming reader). Lines come without their terminator.
public struct ConllScorer: Sendable {
  /// The name errors give for the input.
  public let fileName: String
  /// How lines are read.
  public let options: ConllOptions
  /// The counts of every line added so far.
  public private(set) var counts = ConllCounts()
  /// The 1-based number of the last line added.
  public private(set) var lineNumber = 0
  /// The column count of the first non-blank line, and that line's number.
  private var expected: (columns: Int, line: Int)?

  /// A scorer with nothing counted; `fileName` names the input in errors.
  public init(fileName: String, options: ConllOptions = ConllOptions()) {
    self.fileName = fileName
    self.options = options
  }

  /// Counts one line; throws `ConllEvalError` naming its number when it breaks a column rule.
  public mutating func add(line: String) throws { try add(line: line[...]) }

  /// Counts one line; throws `ConllEvalError` naming its number when it breaks a column rule.
  public mutating func add(line: Substring) throws {
    lineNumber += 1
    let columns: LineColumns
    if let delimiter = options.delimiter {
      columns = LineColumns(delimiter.fields(of: line))
    } else {
      columns = LineColumns(whitespaceSeparated: line)
    }
    if columns.count == 0 {
      counts.addBoundary()
      return
    }
    if let expected {
      guard columns.count == expected.columns else {
        throw ConllEvalError(
          fileName: fileName, line: lineNumber,
          message:
            "expected \(expected.columns) columns as on line \(expected.line), found \(columns.count)"
        )
      }
    } else {
      expected = (columns.count, lineNumber)
    }
    if sameBytes(columns.first.utf8, "-X-".utf8) {
      counts.addBoundary()
      return
    }
    guard columns.count >= 2 else {
      throw ConllEvalError(
        fileName: fileName, line: lineNumber,
        message: "expected at least 2 columns (gold and predicted label), found 1")
    }
    counts.addToken(gold: tag(columns.secondToLast), predicted: tag(columns.last))
  }

  private func tag(_ label: Substring) -> ConllTag {
    ConllTag(label, raw: options.rawLabels, outside: options.outsideLabel)
  }
}

/// What the scorer reads of a line's columns: how many there are, the first and the last two.
private struct LineColumns {
  var count = 0
  var first: Substring = ""
  var secondToLast: Substring = ""
  var last: Substring = ""

  init(_ fields: [Substring]) {
    count = fields.count
    if let first = fields.first, let last = fields.last {
      self.first = first
      self.last = last
      secondToLast = fields.count >= 2 ? fields[fields.count - 2] : ""
    }
  }

  /// The columns between runs of spaces and tabs, found without allocating.
  init(whitespaceSeparated line: Substring) {
    forEachColumn(of: line) { column in
      count += 1
      if count == 1 { first = column }
      secondToLast = last
      last = column
    }
  }
}

/// Calls `body` with each column of `line`: the runs of bytes other than space and tab. Both are
/// ASCII, and UTF-8 never uses an ASCII byte inside a multi-byte character, so this splits at
/// exactly the space and tab scalars; splitting Swift Characters instead would glue a space to a
/// following combining mark (" \u{301}" is one Character) and hide a separator that conlleval sees.
private func forEachColumn(of line: Substring, _ body: (Substring) -> Void) {
  let bytes = line.utf8
  forEachColumnRange(of: bytes) { body(Substring(bytes[$0])) }
}

/// Whether `byte` separates a CoNLL line's columns (space and tab).
@inline(__always) package func isColumnSeparator(_ byte: UInt8) -> Bool {
  byte == 0x20 || byte == 0x09
}

/// The index ranges of the columns of `bytes` (see `forEachColumn`): the one splitting rule,
/// for a line's UTF-8 view and for its contiguous bytes.
@inline(__always) private func forEachColumnRange<Bytes: Collection<UInt8>>(
  of bytes: Bytes, _ body: (Range<Bytes.Index>) -> Void
) {
  // A loop over the separators, then one over the column: a byte is tested once for being a
  // separator, where a single loop also tested whether it was inside a column.
  var index = bytes.startIndex
  while true {
    while index < bytes.endIndex && isColumnSeparator(bytes[index]) {
      index = bytes.index(after: index)
    }
    guard index < bytes.endIndex else { return }
    let start = index
    while index < bytes.endIndex && !isColumnSeparator(bytes[index]) {
      index = bytes.index(after: index)
    }
    body(start..<index)
  }
}

/// The offsets in `utf8` of its columns, the runs of bytes other than space and tab, in place
/// of `ranges`' contents: for a reader that keeps a line's bytes rather than a String per
/// column.
package func columnRanges(of utf8: UnsafeBufferPointer<UInt8>, into ranges: inout [Range<Int>]) {
  // Emptied one by one, which keeps the capacity: `removeAll(keepingCapacity:)` goes through
  // a generic `replaceSubrange`, nearly a quarter of what splitting a CoNLL line cost
  // (callgrind).
  while !ranges.isEmpty { ranges.removeLast() }
  forEachColumnRange(of: utf8) { ranges.append($0) }
}

/// The lines of `text` without their terminators (LF, CRLF or a lone CR) and without a leading
/// byte order mark. A final line end does not start another line.
private func lines(of text: String) -> [Substring] {
  let bytes = text.utf8
  var lines: [Substring] = []
  var lineStart = bytes.startIndex
  if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { lineStart = bytes.index(lineStart, offsetBy: 3) }
  var index = lineStart
  while index < bytes.endIndex {
    let byte = bytes[index]
    index = bytes.index(after: index)
    guard byte == 0x0A || byte == 0x0D else { continue }
    lines.append(Substring(bytes[lineStart..<bytes.index(before: index)]))
    if byte == 0x0D && index < bytes.endIndex && bytes[index] == 0x0A {
      index = bytes.index(after: index)
    }
    lineStart = index
  }
  if lineStart < bytes.endIndex { lines.append(Substring(bytes[lineStart...])) }
  return lines
}
