import ConllEval
import Foundation

/// A problem with an input or model file, located as precisely as possible.
public struct TrellisError: Error, CustomStringConvertible, Equatable {
  /// The file as the user named it (`<stdin>` for standard input).
  public var file: String
  /// The 1-based line, when the problem is on one line.
  public var line: Int?
  /// What is wrong, as a sentence fragment without the location.
  public var message: String

  /// An error about `file` (at `line`, if given).
  public init(file: String, line: Int? = nil, _ message: String) {
    self.file = file
    self.line = line
    self.message = message
  }

  /// `FILE:LINE: message`, the form compilers use, so editors can jump to it.
  public var description: String {
    if let line { return "\(file):\(line): \(message)" }
    return "\(file): \(message)"
  }
}

/// A sentence as `CoNLLReader` builds it, a token line at a time: `Sentence` keeps each line's
/// fields as Strings, `SentenceLines` the lines' bytes.
protocol CoNLLSentence {
  /// No lines yet; the first will be line `firstLine` (1-based) of the input.
  init(firstLine: Int)
  /// Appends a token line: its bytes (valid UTF-8) and the offsets in them of its whitespace-
  /// separated fields (at least one; as many as on every other token line of the input).
  mutating func appendLine(_ line: UnsafeBufferPointer<UInt8>, fields: [Range<Int>])
  /// True for a `-DOCSTART-` line handed out on its own (see `CoNLLReader.keepsDocumentMarkers`).
  var isDocumentMarker: Bool { get set }
}

/// One sentence of a CoNLL file: the fields of each token line, split on runs of whitespace.
/// Sentences are equal when their fields hold the same bytes (no Unicode normalisation).
public struct Sentence: Equatable, Sendable, CoNLLSentence {
  /// The fields of each token line; `fields[i][0]` is token `i`.
  public var fields: [[String]]
  /// The 1-based line number of the sentence's first token, for error messages.
  public var firstLine: Int
  /// True for a `-DOCSTART-` line handed out on its own (see `CoNLLReader.keepsDocumentMarkers`).
  public var isDocumentMarker = false

  /// A sentence of token lines `fields` whose first line is `firstLine`.
  public init(fields: [[String]], firstLine: Int = 1) {
    self.fields = fields
    self.firstLine = firstLine
  }

  init(firstLine: Int) {
    self.init(fields: [], firstLine: firstLine)
    // Room for most sentences at once: grown line by line, the array was made about three times.
    fields.reserveCapacity(32)
  }

  mutating func appendLine(_ line: UnsafeBufferPointer<UInt8>, fields: [Range<Int>]) {
    self.fields.append(
      fields.map { String(decoding: UnsafeBufferPointer(rebasing: line[$0]), as: UTF8.self) })
  }

  /// Builds a labelled sentence from tokens and labels (two columns).
  public init(tokens: [String], labels: [String]) {
    precondition(tokens.count == labels.count, "\(tokens.count) tokens, \(labels.count) labels")
    self.init(fields: zip(tokens, labels).map { [$0, $1] })
  }

  public static func == (a: Sentence, b: Sentence) -> Bool {
    func exact(_ sentence: Sentence) -> [[ExactString]] {
      sentence.fields.map { $0.map { ExactString($0) } }
    }
    return a.firstLine == b.firstLine && a.isDocumentMarker == b.isDocumentMarker
      && exact(a) == exact(b)
  }

  /// The first column of every line: the tokens.
  public var tokens: [String] { fields.map { $0[0] } }
  /// The last column of every line: the gold label in a labelled file.
  public var labels: [String] { fields.map { $0[$0.count - 1] } }
  /// The number of tokens.
  public var count: Int { fields.count }
}

/// Streams the lines of a file or standard input as UTF-8 strings, 64 KiB at a time, so memory
/// stays bounded by the longest line, not the file. LF, CRLF and a lone CR each end a line, so no
/// line holds a CR and "\r\r\n" is a line end followed by an empty line; a UTF-8 byte-order mark
/// at the start is skipped; invalid UTF-8 is an error naming its line.
public final class LineReader {
  /// The name errors give: the path, or `<stdin>` for standard input.
  public let fileName: String
  /// The 1-based number of the line `next()` returned last.
  public private(set) var lineNumber = 0
  private let handle: FileHandle
  private let closesHandle: Bool
  private var buffer: [UInt8] = []
  /// Where the next line starts in `buffer`.
  private var bufferStart = 0
  /// How far from `bufferStart` the buffer is known to hold no line end: a long line is scanned
  /// once, not once per chunk read.
  private var scanned = 0
  private var atEndOfFile = false
  /// Called before a read that would wait for input, so a streaming caller can first finish the
  /// work it holds (`tag` answers the sentences it has read while the writer is thinking).
  public var beforeWaiting: (() throws -> Void)?

  /// Opens `path` ("-" for standard input).
  public init(path: String) throws {
    if path == "-" {
      fileName = "<stdin>"
      handle = .standardInput
      closesHandle = false
      return
    }
    fileName = path
    handle = try openForReading(path)
    closesHandle = true
  }

  deinit { if closesHandle { try? handle.close() } }

  /// The next line without its terminator (LF, CRLF or CR), or nil at the end of the input.
  public func next() throws -> String? {
    try nextLine { String(decoding: $0, as: UTF8.self) }
  }

  /// `make` of the next line's bytes, checked to be UTF-8, without its terminator; nil at the
  /// end of the input. The bytes are valid only during the call.
  public func nextLine<Line>(_ make: (UnsafeBufferPointer<UInt8>) throws -> Line) throws -> Line? {
    var line: Line?
    try forEachLine { bytes in
      line = try make(bytes)
      return false
    }
    return line
  }

  /// Calls `body` with the bytes of each next line, checked to be UTF-8, without its
  /// terminator, until it returns false or the input ends; `lineNumber` is the line's during
  /// the call, and the bytes are valid only during it. Lines are found in one access to the
  /// buffer for as many as it holds: an access per line (and the reader's state saved after
  /// each) was most of what reading a CoNLL line cost (callgrind).
  public func forEachLine(_ body: (UnsafeBufferPointer<UInt8>) throws -> Bool) throws {
    while true {
      let wantsMore = try buffer.withUnsafeBufferPointer { bytes -> Bool in
        var (start, scanned) = (bufferStart, self.scanned)
        defer { (bufferStart, self.scanned) = (start, scanned) }
        while true {
          let line: UnsafeBufferPointer<UInt8>
          if let end = lineEnd(in: bytes, from: scanned, atEndOfFile: atEndOfFile) {
            line = UnsafeBufferPointer(rebasing: bytes[start..<end.index])
            start = end.index + end.length
          } else {
            scanned = max(bytes.count - 1, scanned)
            guard atEndOfFile, start < bytes.count else { return true }
            line = UnsafeBufferPointer(rebasing: bytes[start...])
            start = bytes.count
          }
          scanned = start
          guard try body(try checked(line)) else { return false }
        }
      }
      if !wantsMore || atEndOfFile { return }
      buffer.removeSubrange(0..<bufferStart)
      scanned -= bufferStart
      bufferStart = 0
      if let beforeWaiting, !inputIsWaiting() { try beforeWaiting() }
      let chunk = try readChunk()
      if chunk.isEmpty { atEndOfFile = true } else { buffer.append(contentsOf: chunk) }
    }
  }

  /// Up to 64 KiB: what one read(2) returns, so a line is handed out as soon as it arrives on
  /// a pipe (FileHandle's `read(upToCount:)` waits for the whole count); empty at the end.
  private func readChunk() throws -> ArraySlice<UInt8> {
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while true {
      let count = chunk.withUnsafeMutableBytes {
        read(handle.fileDescriptor, $0.baseAddress, $0.count)
      }
      if count >= 0 { return chunk[..<count] }
      guard errno == EINTR else {
        let reason = String(cString: strerror(errno))
        throw TrellisError(file: fileName, line: lineNumber + 1, "read failed: \(reason)")
      }
    }
  }

  /// Whether a read would return at once (data, the end of the input or an error): always for
  /// a regular file, for a pipe or terminal only when the writer has written ahead.
  private func inputIsWaiting() -> Bool {
    var request = pollfd(fd: handle.fileDescriptor, events: Int16(POLLIN), revents: 0)
    return poll(&request, 1, 0) > 0
  }

  /// Counts the line and returns it checked to be UTF-8, without a byte-order mark on the first.
  private func checked(_ line: UnsafeBufferPointer<UInt8>) throws -> UnsafeBufferPointer<UInt8> {
    lineNumber += 1
    var line = line
    if lineNumber == 1, line.starts(with: [0xEF, 0xBB, 0xBF]) {
      line = UnsafeBufferPointer(rebasing: line.dropFirst(3))
    }
    // ASCII is valid UTF-8 as it is; `String(validating:)` costs a generic metadata lookup
    // per call, which was most of this function on a large file.
    guard line.allSatisfy({ $0 < 0x80 }) || String(validating: line, as: UTF8.self) != nil else {
      throw TrellisError(file: fileName, line: lineNumber, "is not valid UTF-8")
    }
    return line
  }
}

/// Streams sentences from a CoNLL file or standard input: one token per line, whitespace-
/// separated columns, sentences separated by blank lines; `-DOCSTART-` lines are skipped, or
/// handed out on their own when `keepsDocumentMarkers` is set (so `tag` can copy them).
/// Every non-blank line must have as many columns as the first (conlleval's rule).
public final class CoNLLReader {
  private let lines: LineReader
  private var columnCount: Int?
  private var columnCountLine = 0
  private let minimumColumns: Int
  /// A `-DOCSTART-` line read at the end of a sentence, handed out next: its bytes, its number.
  private var pendingMarker: (line: [UInt8], number: Int)?
  /// The current line's field offsets, one buffer for every line.
  private var fieldRanges: [Range<Int>] = []
  /// Whether `next()` returns `-DOCSTART-` lines as marker sentences instead of skipping them.
  public var keepsDocumentMarkers = false

  /// The name errors give, as the underlying `LineReader` has it.
  public var fileName: String { lines.fileName }

  /// Called before a read that would wait for input (see `LineReader.beforeWaiting`).
  public var beforeWaiting: (() throws -> Void)? {
    get { lines.beforeWaiting }
    set { lines.beforeWaiting = newValue }
  }

  /// Opens `path` ("-" for standard input). `minimumColumns` is 2 for labelled input.
  public init(path: String, minimumColumns: Int = 1) throws {
    lines = try LineReader(path: path)
    self.minimumColumns = minimumColumns
  }

  /// The next sentence, or nil at the end of the input.
  public func next() throws -> Sentence? {
    try next(as: Sentence.self)
  }

  /// The next sentence as its lines' bytes, or nil at the end of the input.
  public func nextLines() throws -> SentenceLines? {
    try next(as: SentenceLines.self)
  }

  /// The next sentence built as `Lines`, or nil at the end of the input.
  private func next<Lines: CoNLLSentence>(as _: Lines.Type) throws -> Lines? {
    if let (line, number) = pendingMarker {
      pendingMarker = nil
      return documentMarker(line, number: number)
    }
    // The offsets buffer as a local while lines are read: as a property of this class, each
    // access in the loop was checked for exclusivity at run time.
    var fields: [Range<Int>] = []
    swap(&fields, &fieldRanges)
    defer { swap(&fields, &fieldRanges) }
    while true {
      var sentence: Lines?
      var marker: [UInt8]?
      try lines.forEachLine { line in
        columnRanges(of: line, into: &fields)
        guard let first = fields.first else { return sentence == nil }  // a blank line
        if isDocumentStart(UnsafeBufferPointer(rebasing: line[first])) {
          marker = Array(line)
          return false
        }
        try checkColumnCount(fields.count)
        if sentence == nil { sentence = Lines(firstLine: lines.lineNumber) }
        sentence!.appendLine(line, fields: fields)
        return true
      }
      // A -DOCSTART- line ends the sentence before it, kept or not, so `tag` and `eval` read
      // the same sentences.
      guard let marker, keepsDocumentMarkers else {
        if sentence == nil && marker != nil { continue }
        return sentence
      }
      guard let sentence else { return documentMarker(marker, number: lines.lineNumber) }
      pendingMarker = (marker, lines.lineNumber)
      return sentence
    }
  }

  /// Whether a line's first field is `-DOCSTART-`, byte for byte (a generic comparison with a
  /// String's UTF-8 view cost as much as splitting the line).
  private func isDocumentStart(_ field: UnsafeBufferPointer<UInt8>) -> Bool {
    let marker: StaticString = "-DOCSTART-"
    return field.count == marker.utf8CodeUnitCount
      && memcmp(field.baseAddress!, marker.utf8Start, field.count) == 0
  }

  /// Checks the current line's column count against the first token line's.
  private func checkColumnCount(_ count: Int) throws {
    if let expected = columnCount {
      guard expected == count else {
        throw TrellisError(
          file: fileName, line: lines.lineNumber,
          "expected \(expected) columns as on line \(columnCountLine), found \(count)")
      }
      return
    }
    guard count >= minimumColumns else {
      throw TrellisError(
        file: fileName, line: lines.lineNumber,
        "expected a token and a label (at least \(minimumColumns) columns), found \(count)")
    }
    columnCount = count
    columnCountLine = lines.lineNumber
  }

  /// A `-DOCSTART-` line as a sentence of its own.
  private func documentMarker<Lines: CoNLLSentence>(_ line: [UInt8], number: Int) -> Lines {
    var marker = Lines(firstLine: number)
    marker.isDocumentMarker = true
    line.withUnsafeBufferPointer { bytes in
      columnRanges(of: bytes, into: &fieldRanges)
      marker.appendLine(bytes, fields: fieldRanges)
    }
    return marker
  }

  /// Reads every remaining sentence; an input with none is an error.
  public func readAll() throws -> [Sentence] {
    var sentences: [Sentence] = []
    while let sentence = try next() { sentences.append(sentence) }
    if sentences.isEmpty { throw TrellisError(file: fileName, "contains no sentences") }
    return sentences
  }
}

/// The sentences of a labelled CoNLL file, each line's fields laid out as the model reads them:
/// the token, then the `featureColumns` in their order, then the label (columns 1-based; the
/// label defaults to the last column).
public func readLabelledCoNLL(
  path: String, tokenColumn: Int = 1, labelColumn: Int? = nil, featureColumns: [Int] = []
) throws -> [Sentence] {
  let reader = try CoNLLReader(path: path, minimumColumns: 2)
  let sentences = try reader.readAll()
  if tokenColumn == 1 && labelColumn == nil && featureColumns.isEmpty { return sentences }
  guard let first = sentences.first else { return [] }
  let columns = first.fields[0].count
  for column in [tokenColumn, labelColumn ?? columns] + featureColumns where column > columns {
    throw TrellisError(
      file: reader.fileName, line: first.firstLine,
      "column \(column) asked for, but lines have \(columns)")
  }
  let picked = [tokenColumn - 1] + featureColumns.map { $0 - 1 } + [(labelColumn ?? columns) - 1]
  return sentences.map { sentence in
    Sentence(
      fields: sentence.fields.map { fields in picked.map { fields[$0] } },
      firstLine: sentence.firstLine)
  }
}
