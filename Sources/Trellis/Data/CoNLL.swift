import ConllEval
import Foundation

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
  /// The 1-based number of the first line.
  var firstLine: Int { get }
  /// The number of token lines appended.
  var count: Int { get }
}

/// One sentence of a CoNLL file: the fields of each token line, split on runs of whitespace.
/// Sentences are equal when their fields hold the same bytes (no Unicode normalisation) and
/// they agree on `firstLine` and `isDocumentMarker`.
public struct Sentence: Equatable, Sendable, CoNLLSentence {
  /// The fields of each token line; `fields[i][0]` is token `i`.
  public var fields: [[String]]
  /// The 1-based line number of the sentence's first token, for error messages.
  public var firstLine: Int
  /// True for a `-DOCSTART-` line handed out on its own (see `CoNLLReader.keepsDocumentMarkers`).
  public var isDocumentMarker = false
  /// The file's first column, where the tokens are another (`--token-column`); nil when they
  /// are that column.
  var firstColumn: [String]?

  /// Each line's first field as the file has it, whichever column the tokens are: conlleval
  /// reads a line whose first field is `-X-` as a boundary (`ConllCounts.add`'s `tokens`).
  public var firstFields: [String] { firstColumn ?? tokens }

  /// A sentence of token lines `fields` whose first line is `firstLine`. Each line holds at
  /// least one field, the token, as every line a reader hands out does.
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
  ///
  /// - Precondition: `tokens` and `labels` have the same count (a label for every token).
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

  /// The most tokens one sentence may hold, in every input a command, the HTTP service or the
  /// C ABI reads. A sentence is one pass however long (`TaggerModel.batchTokenStepLimit`
  /// bounds only batches), so this bounds a pass to about 1 GB to tag (with a model of many
  /// labels, `TaggerModel.sentenceTokenLimit` does); a CoNLL file without its
  /// blank lines, read as one sentence, fails at the line past the limit instead of exhausting
  /// memory. The Swift calls (`TaggerModel.tag` and the like) take what they are given.
  public static let tokenLimit = 100_000

  /// The most bytes the lines of one CoNLL sentence may hold (32 MiB: 100,000 lines of 335
  /// bytes), checked as they are read. A line may hold 16 MiB, and `tag` keeps a sentence's
  /// text and its fields, about four times its size, while it is read, tagged and answered:
  /// one sentence of 60,000 lines of 16 KB (960 MB) took `tag` to 3 GB.
  public static let byteLimit = 32 << 20

  /// Why a sentence of `count` tokens is refused, nil within `tokenLimit`: the one phrasing of
  /// every input's error.
  public static func tokenLimitError(count: Int) -> String? {
    count <= tokenLimit ? nil : "\(count) tokens, more than the \(tokenLimit) a sentence may hold"
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

  /// The size and SHA-256 of everything read, when set before reading (`LineReader.digest`).
  public var digest: ReadDigest? {
    get { lines.digest }
    set { lines.digest = newValue }
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
      var sentenceBytes = 0
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
        // Refused at the line past the limit, before the rest of the sentence is read.
        guard sentence!.count < Sentence.tokenLimit else {
          throw TrellisError(
            file: fileName, line: lines.lineNumber,
            "the sentence from line \(sentence!.firstLine) has more than "
              + "\(Sentence.tokenLimit) tokens (the most a sentence may hold); is a blank line "
              + "missing?")
        }
        sentenceBytes += line.count
        guard sentenceBytes <= Sentence.byteLimit else {
          throw TrellisError(
            file: fileName, line: lines.lineNumber,
            "the sentence from line \(sentence!.firstLine) holds more than "
              + "\(Sentence.byteLimit >> 20) MiB (the most a sentence may hold); is a blank line "
              + "missing?")
        }
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
/// label defaults to the last column). With the defaults (token 1, the last column's label, no
/// feature columns) the lines are kept whole, which a model without feature columns reads
/// alike (the first field and the last), without a copy of every line.
public func readLabelledCoNLL(
  path: String, tokenColumn: Int = TrainingData.defaultTokenColumn, labelColumn: Int? = nil,
  featureColumns: [Int] = []
) throws -> [Sentence] {
  let reader = try CoNLLReader(path: path, minimumColumns: 2)
  return try pickColumns(
    try reader.readAll(), of: reader.fileName, tokenColumn: tokenColumn,
    labelColumn: labelColumn, featureColumns: featureColumns)
}

/// The sentences of `readLabelledCoNLL`, a group at a time, so that a caller holds one group
/// instead of the file (`trellis eval`). Each sentence is checked as it is read (its columns
/// at the first, `refusal` on each), so the first error in the file is the one reported,
/// wherever the groups end.
public final class LabelledCoNLLReader {
  private let reader: CoNLLReader
  private let tokenColumn: Int, labelColumn: Int?, featureColumns: [Int]
  private let refusal: (Sentence) -> String?
  private var readAny = false

  /// The name errors give the input (`<stdin>` for standard input).
  public var fileName: String { reader.fileName }

  /// Opens `path` ("-" for standard input), its columns as `readLabelledCoNLL` takes them;
  /// `refusal` says why a sentence cannot be used (nil: it can), as a `TrellisError` at its
  /// first line.
  public init(
    path: String, tokenColumn: Int = TrainingData.defaultTokenColumn, labelColumn: Int? = nil,
    featureColumns: [Int],
    refusal: @escaping (Sentence) -> String? = { _ in nil }
  ) throws {
    reader = try CoNLLReader(path: path, minimumColumns: 2)
    (self.tokenColumn, self.labelColumn, self.featureColumns) = (
      tokenColumn, labelColumn, featureColumns
    )
    self.refusal = refusal
  }

  /// The next sentences, nil at the end (an input with none is an error): at most
  /// `sentenceCount`, and no more once they hold `tokenCount` tokens.
  ///
  /// - Precondition: `sentenceCount` and `tokenCount` are at least 1.
  public func next(sentenceCount: Int, tokenCount: Int) throws -> [Sentence]? {
    try nextWithFirstFields(sentenceCount: sentenceCount, tokenCount: tokenCount)?.sentences
  }

  /// As `next(sentenceCount:tokenCount:)`, with each line's first field as the file has it,
  /// whichever column is the token: conlleval reads a line whose first field is `-X-` as a
  /// boundary (`ConllCounts.add(gold:predicted:tokens:rawLabels:)`'s `tokens`).
  ///
  /// - Precondition: `sentenceCount` and `tokenCount` are at least 1.
  public func nextWithFirstFields(sentenceCount: Int, tokenCount: Int) throws
    -> (sentences: [Sentence], firstFields: [[String]])?
  {
    precondition(sentenceCount > 0 && tokenCount > 0, "a group holds at least one sentence")
    var (group, tokens) = ([Sentence](), 0)
    while group.count < sentenceCount, tokens < tokenCount, let sentence = try reader.next() {
      if !readAny {
        // The columns are the same on every line (`CoNLLReader`): checked at the first.
        _ = try pickColumns(
          [sentence], of: fileName, tokenColumn: tokenColumn, labelColumn: labelColumn,
          featureColumns: featureColumns)
        readAny = true
      }
      if let refused = refusal(sentence) {
        throw TrellisError(file: fileName, line: sentence.firstLine, refused)
      }
      group.append(sentence)
      tokens += sentence.count
    }
    guard !group.isEmpty else {
      if !readAny { throw TrellisError(file: fileName, "contains no sentences") }
      return nil
    }
    let sentences = try pickColumns(
      group, of: fileName, tokenColumn: tokenColumn, labelColumn: labelColumn,
      featureColumns: featureColumns)
    return (sentences, sentences.map(\.firstFields))
  }
}

/// `readLabelledCoNLL(path:tokenColumn:labelColumn:featureColumns:)` with the size and SHA-256
/// of the file's bytes, taken as they are read (training's provenance, `InputFile`).
public func readLabelledCoNLLWithDigest(
  path: String, tokenColumn: Int = TrainingData.defaultTokenColumn, labelColumn: Int? = nil,
  featureColumns: [Int] = []
) throws -> (sentences: [Sentence], digest: ReadDigest) {
  let reader = try CoNLLReader(path: path, minimumColumns: 2)
  reader.digest = ReadDigest()
  let sentences = try pickColumns(
    try reader.readAll(), of: reader.fileName, tokenColumn: tokenColumn,
    labelColumn: labelColumn, featureColumns: featureColumns)
  return (sentences, reader.digest!)
}
