/// The layouts of word-vector files Trellis reads, told apart by their content, not their name.
public enum VectorFileFormat: Equatable, Sendable, CustomStringConvertible {
  /// One `word v1 … vD` line per word, numbers in decimal. word2vec's text output and
  /// fastText's `.vec` files start with a `count dimension` line; GloVe's do not.
  case text(hasHeader: Bool)
  /// word2vec's binary output: a `count dimension` line, then per word its bytes up to a space
  /// and D little-endian Float32 values, optionally followed by '\n'.
  case word2vecBinary

  public var description: String {
    switch self {
    case .text(hasHeader: false): "GloVe text"
    case .text(hasHeader: true): "word2vec/fastText text"
    case .word2vecBinary: "word2vec binary"
    }
  }

  /// Bytes of the file's start that `detect` looks at: the header and the first record of
  /// vectors up to `TaggerConfiguration.sizeLimit` dimensions.
  static let sampleSize = 1 << 17

  /// A `count dimension` first line; `length` counts its bytes with the line end.
  struct Header {
    var count: Int
    var dimension: Int
    var length: Int
  }

  /// The format of a file starting with `sample`, and its header if it has one. Files of other
  /// kinds (archives, NumPy arrays, fastText models, ...) get a message saying what they look
  /// like and what Trellis reads instead.
  static func detect(_ sample: ArraySlice<UInt8>, fileName: String) throws -> (
    format: VectorFileFormat, header: Header?
  ) {
    if let kind = foreignKind(sample) { throw unreadable(fileName, "it looks like \(kind)") }
    let firstLine = sample.prefix { $0 != 0x0A && $0 != 0x0D }  // LF, CRLF or CR end lines
    // The line without UTF-8's byte-order mark, for a header may follow one.
    let unmarked =
      firstLine.starts(with: LineReader.byteOrderMark) ? firstLine.dropFirst(3) : firstLine
    // Named as a CoNLL file in UTF-16 is: it read as "neither text nor a header".
    if let refusal = unmarked.withUnsafeBufferPointer({
      wideEncodingRefusal(file: fileName, firstLine: $0)
    }) {
      throw refusal
    }
    let lineEnd = sample.dropFirst(firstLine.count).starts(with: [0x0D, 0x0A]) ? 2 : 1
    guard let header = parseHeader(unmarked, length: firstLine.count + lineEnd) else {
      // A first line longer than the sample may end inside a character: the reader judges it.
      // So does it a record whose word is not UTF-8, passed over as on any later line.
      let isWhole = firstLine.count < sample.count || sample.count < sampleSize
      guard
        !isWhole || String(validating: firstLine, as: UTF8.self) != nil
          || isTextRecord(firstLine)
      else {
        throw unreadable(fileName, "its first line is neither text nor a 'count dimension' header")
      }
      return (.text(hasHeader: false), nil)
    }
    let record = sample.dropFirst(header.length).prefix { $0 != 0x0A && $0 != 0x0D }
    let isText = isTextRecord(record) || endsInNumbers(record, count: header.dimension)
    return (isText ? .text(hasHeader: true) : .word2vecBinary, header)
  }

  /// Whether `record` is at least `count` + 1 fields whose last `count` are decimal numbers:
  /// a text record whose word holds a space ("new york 0.1 …"), which `isTextRecord` does
  /// not take for one, so a text file that began with it was read as binary, its numbers'
  /// bytes seeding rows. (The record's bytes up to its first line end: a binary record's
  /// Float32s practically never read as `count` ASCII numbers.)
  private static func endsInNumbers(_ record: ArraySlice<UInt8>, count: Int) -> Bool {
    let fields = record.split(whereSeparator: { $0 == 0x20 || $0 == 0x09 })
    guard count > 0, fields.count > count else { return false }
    return fields.suffix(count).allSatisfy(isDecimalNumber)
  }

  /// `count dimension`, two decimal numbers on the first line without its byte-order mark
  /// (spaces around them allowed); `length` counts the whole line's bytes with its end.
  private static func parseHeader(_ line: ArraySlice<UInt8>, length: Int) -> Header? {
    let fields = line.split(whereSeparator: { $0 == 0x20 || $0 == 0x09 })
    guard fields.count == 2, fields.allSatisfy({ $0.count <= 18 && $0.allSatisfy(isDigit) }),
      let count = Int(String(decoding: fields[0], as: UTF8.self)),
      let dimension = Int(String(decoding: fields[1], as: UTF8.self))
    else { return nil }
    return Header(count: count, dimension: dimension, length: length)
  }

  /// Whether a record after the header is a text line: a word, then decimal numbers (their
  /// bytes are ASCII; binary Float32s practically never are).
  private static func isTextRecord(_ record: ArraySlice<UInt8>) -> Bool {
    let fields = record.split(whereSeparator: { $0 == 0x20 || $0 == 0x09 })
    guard fields.count >= 2 else { return record.isEmpty }
    return fields.dropFirst().allSatisfy(isDecimalNumber)
  }

  /// Whether a field is a decimal number (its bytes ASCII).
  private static func isDecimalNumber(_ field: ArraySlice<UInt8>) -> Bool {
    field.allSatisfy { $0 < 0x80 } && decimalFloat(String(decoding: field, as: UTF8.self)) != nil
  }

  private static func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }

  /// What a file that is not a vector file looks like, from its magic number.
  private static func foreignKind(_ sample: ArraySlice<UInt8>) -> String? {
    let signatures: [([UInt8], String)] = [
      ([0x1F, 0x8B], "gzip-compressed data: decompress it first (gunzip)"),
      (Array("PK\u{03}\u{04}".utf8), "a zip archive: unzip it and pass the vector file inside"),
      (Array("BZh".utf8), "bzip2-compressed data: decompress it first (bunzip2)"),
      ([0xFD] + Array("7zXZ".utf8), "xz-compressed data: decompress it first (unxz)"),
      ([0x93] + Array("NUMPY".utf8), "a NumPy array, which holds no words"),
      (Array("PAR1".utf8), "a Parquet table"),
      ([0x89] + Array("HDF".utf8), "an HDF5 file"),
      ([0xBA, 0x16, 0x4F, 0x2F], "a fastText model (.bin): use the .vec file published beside it"),
    ]
    return signatures.first { sample.starts(with: $0.0) }?.1
  }

  private static func unreadable(_ fileName: String, _ reason: String) -> TrellisError {
    TrellisError(
      file: fileName,
      "is not a vector file Trellis reads (\(reason)); it reads word2vec/GloVe/fastText text "
        + "(.txt, .vec) and word2vec binary (.bin)")
  }
}
