/// Reads a word-vector file (`VectorFileFormat`) one record at a time, streaming: `nextWord()`
/// finds a record's word and `vector()` converts its numbers only when the caller keeps it, so
/// a word the model does not need costs a scan of its bytes, not the parsing of D numbers.
final class VectorRecordReader {
  let format: VectorFileFormat
  let dimension: Int
  var fileName: String { bytes.fileName }
  /// The size and SHA-256 of the bytes read so far (all of them after the last record).
  var digest: ReadDigest { bytes.digest }
  /// The word count a header announces (word2vec, fastText), nil without a header (GloVe).
  let announcedCount: Int?
  /// Records read so far, skipped ones included.
  private(set) var recordCount = 0
  /// Records whose word no token can equal: it holds whitespace (GloVe 840B has such lines) or
  /// is not UTF-8. They are passed over.
  private(set) var skippedCount = 0
  private let bytes: ByteChunkReader
  /// Text formats: the 1-based line of the current record, its bytes and its fields' ranges.
  private var lineNumber = 0
  private var line: ArraySlice<UInt8> = []
  private var fields: [Range<Int>] = []
  /// Binary format: the current record's word, and whether its values are still unread.
  private var binaryWord = ""
  private var binaryValuesPending = false

  /// No record is longer than a word of this many bytes and its numbers.
  static let wordLimit = 1 << 12
  var lineLimit: Int { Self.wordLimit + 64 * dimension }

  init(path: String, dimension: Int) throws {
    bytes = try ByteChunkReader(path: path)
    self.dimension = dimension
    let (format, header) = try VectorFileFormat.detect(
      try bytes.peek(VectorFileFormat.sampleSize), fileName: path)
    self.format = format
    announcedCount = header?.count
    guard let header else { return }
    guard header.dimension == dimension else {
      throw Self.dimensionMismatch(
        file: path, line: 1, found: header.dimension, expected: dimension)
    }
    _ = try bytes.take(header.length)
    lineNumber = 1
  }

  /// The next record's word, or nil after the last record.
  func nextWord() throws -> String? {
    let word = try format == .word2vecBinary ? nextBinaryWord() : nextTextWord()
    if word == nil, let announcedCount, announcedCount != recordCount {
      throw TrellisError(
        file: fileName,
        "holds \(recordCount) vectors but its header announces \(announcedCount)"
          + (recordCount < announcedCount ? " (truncated?)" : ""))
    }
    return word
  }

  /// The values of the record whose word `nextWord()` returned last: `dimension` finite Floats.
  func vector() throws -> [Float] {
    format == .word2vecBinary ? try binaryVector() : try textVector()
  }

  private func textVector() throws -> [Float] {
    try fields.suffix(dimension).map { range in
      let field = String(decoding: line[range], as: UTF8.self)
      guard let value = decimalFloat(field) else {
        throw TrellisError(file: fileName, line: lineNumber, "'\(field)' is not a decimal number")
      }
      guard value.isFinite else {
        // Float("1e39") is +∞: a number, but beyond what the vectors' single precision holds.
        let spelledOut = field.lowercased().contains("inf") || value.isNaN
        throw TrellisError(
          file: fileName, line: lineNumber,
          "'\(field)' is "
            + (spelledOut ? "not a finite number" : "beyond single precision's range (±3.4e38)"))
      }
      return value
    }
  }

  private func binaryVector() throws -> [Float] {
    binaryValuesPending = false
    guard let raw = try bytes.take(4 * dimension) else { throw truncatedBinary() }
    let vector = raw.withUnsafeBytes { raw in
      (0..<dimension).map { k in
        Float(
          bitPattern: UInt32(
            littleEndian: raw.loadUnaligned(fromByteOffset: 4 * k, as: UInt32.self)))
      }
    }
    guard vector.allSatisfy(\.isFinite) else {
      throw TrellisError(
        file: fileName, "vector \(recordCount) ('\(binaryWord)') holds a value that is not finite")
    }
    return vector
  }

  private func nextTextWord() throws -> String? {
    while true {
      line = []  // releases the buffer, so reading on does not copy it
      guard
        let next = try bytes.nextLine(
          limit: lineLimit,
          tooLong: TrellisError(
            file: fileName, line: lineNumber + 1,
            "is longer than \(lineLimit) bytes, too long for a word and \(dimension) numbers"))
      else { return nil }
      lineNumber += 1
      line =
        lineNumber == 1 && next.starts(with: LineReader.byteOrderMark) ? next.dropFirst(3) : next
      splitFields()
      if fields.isEmpty { continue }
      recordCount += 1
      if try wordHoldsWhitespace() {
        skippedCount += 1
        continue
      }
      guard let word = String(validating: line[fields[0]], as: UTF8.self) else {
        skippedCount += 1
        continue
      }
      return word
    }
  }

  /// The error for vectors of `found` dimensions where the model's are `expected`.
  private static func dimensionMismatch(file: String, line: Int, found: Int, expected: Int)
    -> TrellisError
  {
    TrellisError(
      file: file, line: line,
      "vectors have \(found) dimensions but --embedding-size is \(expected)")
  }

  /// Checks the current line's field count: a word and `dimension` numbers. More fields are a
  /// word with spaces in it when the field before the numbers is not a number itself (GloVe
  /// 840B's ". . ."), in the first record too; anything else is an error, which for the first
  /// record of a file without a header says the file's dimension (after a header, which gave
  /// it, the first is read as any other).
  private func wordHoldsWhitespace() throws -> Bool {
    let numbers = fields.count - 1
    if numbers == dimension { return false }
    let beforeNumbers = numbers > dimension ? fields[fields.count - dimension - 1] : nil
    if let beforeNumbers,
      decimalFloat(String(decoding: line[beforeNumbers], as: UTF8.self)) == nil
    {
      return true
    }
    if recordCount == 1 && announcedCount == nil {
      throw Self.dimensionMismatch(
        file: fileName, line: lineNumber, found: numbers, expected: dimension)
    }
    throw TrellisError(
      file: fileName, line: lineNumber,
      "expected a word and \(dimension) numbers (--embedding-size), found \(numbers) numbers")
  }

  /// `fields`: the ranges of `line` between spaces and tabs.
  private func splitFields() {
    fields.removeAll(keepingCapacity: true)
    var fieldStart: Int?
    for index in line.indices {
      let isSeparator = line[index] == 0x20 || line[index] == 0x09
      if isSeparator, let start = fieldStart {
        fields.append(start..<index)
        fieldStart = nil
      } else if !isSeparator, fieldStart == nil {
        fieldStart = index
      }
    }
    if let start = fieldStart { fields.append(start..<line.endIndex) }
  }

  private func nextBinaryWord() throws -> String? {
    while true {
      if binaryValuesPending {
        binaryValuesPending = false
        guard try bytes.take(4 * dimension) != nil else { throw truncatedBinary() }
      }
      guard recordCount < announcedCount! else {
        // Past the announced records only the last vector's '\n' may follow: anything else is
        // more records than the header says, or records out of step with their lengths (a
        // word holding a space), which would seed rows with the bytes of other records.
        let rest = try bytes.peek(3)
        guard rest.count <= 2, rest.allSatisfy({ $0 == 0x0A || $0 == 0x0D }) else {
          throw TrellisError(
            file: fileName,
            "goes on after the \(recordCount) vectors its header announces (byte "
              + "\(bytes.offset)): more vectors than it says, or a word holding a space")
        }
        return nil
      }
      guard
        let raw = try bytes.next(
          upTo: 0x20, limit: Self.wordLimit,
          tooLong: TrellisError(
            file: fileName,
            "vector \(recordCount + 1): no word ends within \(Self.wordLimit) bytes "
              + "(byte \(bytes.offset))"))
      else { return nil }
      // The '\n' word2vec writes after each vector, if this file has it, leads the next word.
      let word = raw.drop { $0 == 0x0A || $0 == 0x0D }
      if word.isEmpty, try bytes.peek(1).isEmpty { return nil }  // the last vector's '\n'
      recordCount += 1
      binaryValuesPending = true
      // A line end inside a word is the reader out of step with the records (a word holding
      // a space ended early, and its rest was read as a vector): the "word" is a vector's
      // last byte, its '\n' and the next word, whose vector was lost, and the row before it
      // had been seeded with the rest of a word's bytes.
      guard !word.contains(where: { $0 == 0x0A || $0 == 0x0D }) else {
        throw TrellisError(
          file: fileName,
          "vector \(recordCount): its word holds a line end (byte \(bytes.offset)): records "
            + "out of step with their lengths, as after a word holding a space")
      }
      guard let string = String(validating: word, as: UTF8.self), !word.isEmpty,
        !word.contains(0x09)
      else {
        skippedCount += 1
        continue
      }
      binaryWord = string
      return string
    }
  }

  private func truncatedBinary() -> TrellisError {
    TrellisError(
      file: fileName,
      "ends inside vector \(recordCount) of the \(announcedCount ?? 0) its header announces "
        + "(truncated?)")
  }
}

/// `field` read as a decimal number ("0.5", "-1e-3", "nan"), or nil: `Float(_:)` also reads
/// hexadecimal ("0x1p3" as 8), which no vector file writes, while "0,5" and "1_0" are refused.
func decimalFloat(_ field: String) -> Float? {
  field.utf8.contains { $0 == UInt8(ascii: "x") || $0 == UInt8(ascii: "X") } ? nil : Float(field)
}
