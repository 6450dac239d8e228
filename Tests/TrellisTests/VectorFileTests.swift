import Foundation
import XCTest

@testable import Trellis

/// The word-vector reader: every format it reads gives the same vectors, it streams record by
/// record, and a file of another kind gets a message saying what it looks like.
final class VectorFileTests: XCTestCase {
  /// The vectors every format below encodes. One value's bytes are 0x20 0x20 0x0A 0x20 (a
  /// space, a newline), which binary records must take as data, not as separators.
  let vectors: [(word: String, values: [Float])] = [
    ("the", [0.5, -1.25, 3, 0]),
    ("zürich", [1e-3, 2, Float(bitPattern: 0x200A_2020), 7]),
    ("Flights", [4, -5.5, 6, 1e20]),
  ]
  /// Case and digits kept, so every word is its own key.
  let verbatim = TokenNormalization(lowercase: false, digitsToZero: false)

  func textLines(separator: String = "\n", trailingSpace: Bool = false, between: String = " ")
    -> String
  {
    vectors.map { word, values in
      word + between + values.map { "\($0)" }.joined(separator: between)
        + (trailingSpace ? " " : "") + separator
    }.joined()
  }

  /// word2vec's binary layout, written here byte by byte.
  func binary(newlineAfterVector: Bool, header: String = "3 4\n") -> Data {
    var data = Data(header.utf8)
    for (word, values) in vectors {
      data.append(contentsOf: Array(word.utf8) + [0x20])
      for value in values {
        withUnsafeBytes(of: value.bitPattern.littleEndian) { data.append(contentsOf: $0) }
      }
      if newlineAfterVector { data.append(0x0A) }
    }
    return data
  }

  func write(_ data: Data, _ name: String) throws -> String {
    let path = temporaryPath(name)
    try data.write(to: URL(fileURLWithPath: path))
    return path
  }

  func read(_ path: String, dataWords: [String]? = nil, scope: EmbeddingScope = .data) throws
    -> PretrainedEmbeddings
  {
    try PretrainedEmbeddings(
      path: path, dimension: 4, normalization: verbatim,
      dataWords: dataWords ?? vectors.map(\.word), scope: scope)
  }

  func testEveryFormatReadsTheSameVectors() throws {
    let files: [(Data, VectorFileFormat)] = [
      (Data(textLines().utf8), .text(hasHeader: false)),  // GloVe
      (Data(("\u{FEFF}" + textLines()).utf8), .text(hasHeader: false)),  // with a byte-order mark
      (Data(("3 4\n" + textLines()).utf8), .text(hasHeader: true)),  // word2vec text
      (
        Data(("3 4 \r\n" + textLines(separator: "\r\n", trailingSpace: true)).utf8),
        .text(hasHeader: true)
      ),  // .vec
      (Data(("3 4\r" + textLines(separator: "\r")).utf8), .text(hasHeader: true)),  // lone CRs
      (Data(textLines(between: "\t").utf8), .text(hasHeader: false)),  // tab-separated fields
      (binary(newlineAfterVector: true), .word2vecBinary),
      (binary(newlineAfterVector: false), .word2vecBinary),
    ]
    for (index, (data, format)) in files.enumerated() {
      let embeddings = try read(try write(data, "format-\(index).vec"))
      XCTAssertEqual(embeddings.format, format, "file \(index)")
      XCTAssertEqual(embeddings.fileVectorCount, 3, "file \(index)")
      XCTAssertEqual(
        embeddings.coverage, EmbeddingCoverage(exact: 3, lowercased: 0, missing: 0), "file \(index)"
      )
      for (word, values) in vectors {
        XCTAssertEqual(
          embeddings.vector(for: word).map(Array.init), values, "file \(index), \(word)")
      }
    }
  }

  func testTruncatedAndMiscountedFilesAreRefused() throws {
    let truncated = try write(binary(newlineAfterVector: true).dropLast(3), "truncated.bin")
    XCTAssertThrowsError(try read(truncated)) {
      XCTAssertEqual(
        "\($0)", "\(truncated): ends inside vector 3 of the 3 its header announces (truncated?)")
    }
    let overcounted = try write(
      binary(newlineAfterVector: true, header: "4 4\n"), "overcounted.bin")
    XCTAssertThrowsError(try read(overcounted)) {
      XCTAssertEqual(
        "\($0)", "\(overcounted): holds 3 vectors but its header announces 4 (truncated?)")
    }
    let text = try write(Data(("2 4\n" + textLines()).utf8), "miscounted.vec")
    XCTAssertThrowsError(try read(text)) {
      XCTAssertEqual("\($0)", "\(text): holds 3 vectors but its header announces 2")
    }
    // A binary file with more records than its header says was read up to the count, the rest
    // dropped without a word; so was one whose word holds a space ("new york"), which puts
    // every later record out of step and seeds a row with another record's bytes.
    let undercounted = try write(
      binary(newlineAfterVector: true, header: "2 4\n"), "undercounted.bin")
    XCTAssertThrowsError(try read(undercounted)) {
      XCTAssertTrue(
        "\($0)".hasSuffix(
          "goes on after the 2 vectors its header announces (byte 49): more vectors than it says, or a word holding a space"
        ), "\($0)")
    }
    var spaced = Data("4 4\nnew york ".utf8)
    spaced.append(binary(newlineAfterVector: false, header: ""))
    for _ in 0..<4 {
      withUnsafeBytes(of: Float(1).bitPattern.littleEndian) { spaced.append(contentsOf: $0) }
    }
    let outOfStep = try write(spaced, "spaced.bin")
    XCTAssertThrowsError(try read(outOfStep, dataWords: ["new", "the"]))
    // Out of step where the byte counts still meet the header's: "the york" with its vector
    // and '\n', then "cat" read "york"'s bytes into the vector of "the" and took the
    // vector's last byte, '\n' and "cat" for the next word, counted as skipped; "cat"'s own
    // vector was lost, and the file was read without a word.
    func record(_ word: String, _ values: [Float]) -> Data {
      var data = Data((word + " ").utf8)
      for value in values {
        withUnsafeBytes(of: value.bitPattern.littleEndian) { data.append(contentsOf: $0) }
      }
      return data + Data("\n".utf8)
    }
    let aligned = try write(
      Data("2 4\n".utf8) + record("the york", [1, 1, 1, 1]) + record("cat", [1, 2, 3, 4]),
      "aligned.bin")
    XCTAssertThrowsError(try read(aligned, dataWords: ["the", "cat"])) {
      XCTAssertTrue(
        "\($0)".contains("vector 2: its word holds a line end (byte 34): records out of step"),
        "\($0)")
    }
    for newline in [true, false] {
      let exact = try write(binary(newlineAfterVector: newline), "exact-\(newline).bin")
      XCTAssertEqual(try read(exact).fileVectorCount, 3, "\(newline)")
    }
  }

  /// Scope `data` keeps the vectors of the data's words only, whatever the file's size, and
  /// the reader's buffer stays about one read long while the file is many reads long.
  func testScopeDataKeepsOnlyTheDataWordsOfALargeFile() throws {
    let count = 300_000
    var text = ""
    text.reserveCapacity(count * 26)
    for n in 0..<count { text += "w\(n) \(n % 7) 0.25 -\(n % 3) 1.5\n" }
    let path = try write(Data(text.utf8), "large.txt")
    let readSize = ByteChunkReader.readSize
    XCTAssertGreaterThan(text.utf8.count, 5 * readSize)
    let embeddings = try read(path, dataWords: ["w7", "W7", "w299999", "absent"])
    XCTAssertEqual(embeddings.fileVectorCount, count)
    XCTAssertEqual(embeddings.keptVectorCount, 2)
    XCTAssertEqual(embeddings.coverage, EmbeddingCoverage(exact: 2, lowercased: 1, missing: 1))
    XCTAssertEqual(embeddings.keys, ["w7", "W7", "w299999"])
    XCTAssertEqual(
      embeddings.vector(for: "w299999").map(Array.init),
      [Float(299_999 % 7), 0.25, -Float(299_999 % 3), 1.5])
    let all = try read(path, dataWords: ["absent"], scope: .all)
    XCTAssertEqual(all.keptVectorCount, count)
    XCTAssertEqual(all.keys.count, count)

    let bytes = try ByteChunkReader(path: path)
    var lines = 0
    while try bytes.next(upTo: 0x0A, limit: 100, tooLong: TrellisError(file: path, "long")) != nil {
      lines += 1
    }
    XCTAssertEqual(lines, count)
    XCTAssertLessThan(bytes.largestBuffer, 3 * readSize)
  }

  /// A CRLF split between two reads is one line end, as `LineReader` reads it.
  func testALineEndSplitBetweenReadsEndsOneLine() throws {
    let readSize = ByteChunkReader.readSize
    let text = String(repeating: "x", count: readSize - 1) + "\r\ny\r\n"
    let path = try write(Data(text.utf8), "split-crlf.txt")
    let bytes = try ByteChunkReader(path: path)
    var lengths: [Int] = []
    while let line = try bytes.nextLine(limit: readSize, tooLong: TrellisError(file: path, "long"))
    {
      lengths.append(line.count)
    }
    XCTAssertEqual(lengths, [readSize - 1, 1])
  }

  /// A file whose "line" never ends is refused once it exceeds a record's length, not read whole.
  func testALineLongerThanAnyRecordIsRefused() throws {
    let path = try write(Data(repeating: UInt8(ascii: "a"), count: 3 << 20), "one-line.txt")
    XCTAssertThrowsError(try read(path)) {
      XCTAssertEqual(
        "\($0)", "\(path):1: is longer than 4352 bytes, too long for a word and 4 numbers")
    }
  }

  func testFilesOfOtherKindsAreNamed() throws {
    let files: [(String, [UInt8], String)] = [
      (
        "vectors.txt.gz", [0x1F, 0x8B, 0x08, 0x00],
        "it looks like gzip-compressed data: decompress it first"
      ),
      ("glove.zip", Array("PK\u{03}\u{04}rest".utf8), "it looks like a zip archive"),
      ("emb.npy", [0x93] + Array("NUMPY\u{01}\u{00}v\u{00}".utf8), "it looks like a NumPy array"),
      ("index.parquet", Array("PAR1....".utf8), "it looks like a Parquet table"),
      (
        "cc.en.300.bin", [0xBA, 0x16, 0x4F, 0x2F, 0x0C, 0, 0, 0],
        "it looks like a fastText model (.bin)"
      ),
      (
        "random.bin", [0xF0, 0x00, 0x81, 0x20, 0x0A],
        "its first line is neither text nor a 'count dimension'"
      ),
    ]
    for (name, bytes, reason) in files {
      let path = try write(Data(bytes), name)
      XCTAssertThrowsError(try read(path)) {
        let message = "\($0)"
        XCTAssertTrue(
          message.hasPrefix("\(path): is not a vector file Trellis reads (\(reason)"), message)
        XCTAssertTrue(
          message.hasSuffix(
            "it reads word2vec/GloVe/fastText text (.txt, .vec) and word2vec binary (.bin)"))
      }
    }
    // Text saved as UTF-16 is named, with the way out, as a CoNLL file in it is (it was
    // "neither text nor a 'count dimension' header").
    let text: [UInt8] = Array("the 1 2 3 4\n".utf8).flatMap { [$0, 0] }  // UTF-16LE
    for (name, bytes, evidence) in [
      ("marked.txt", [0xFF, 0xFE] + text, "mark"),
      ("unmarked.txt", text, "NUL bytes"),
    ] {
      let path = try write(Data(bytes), name)
      XCTAssertThrowsError(try read(path)) {
        XCTAssertTrue(
          "\($0)".hasPrefix("\(path):1: is not valid UTF-8 but UTF-16")
            && "\($0)".contains(evidence) && "\($0)".hasSuffix("-t UTF-8"), "\($0)")
      }
    }
  }

  func testMalformedTextIsLocated() throws {
    let cases: [(String, String)] = [
      ("the 1 2 3\n", "1: vectors have 3 dimensions but --embedding-size is 4"),
      ("2 50\nthe 1 2 3 4\n", "1: vectors have 50 dimensions but --embedding-size is 4"),
      (
        "the 1 2 3 4\nzürich 1 2 3\n",
        "2: expected a word and 4 numbers (--embedding-size), found 3 numbers"
      ),
      (
        "the 1 2 3 4\r\nzürich 1 2 3\r\n",
        "2: expected a word and 4 numbers (--embedding-size), found 3 numbers"
      ),
      (
        "the 1 2 3 4\nzürich 1 2 3 4 5\n",
        "2: expected a word and 4 numbers (--embedding-size), found 5 numbers"
      ),
      ("the 1 2 3 4\n\nzürich 1 nan 3 4\n", "3: 'nan' is not a finite number"),
      (
        "the 1 2 3 4\nFlights 1 2 3 1e40\n",
        "2: '1e40' is beyond single precision's range (±3.4e38)"
      ),
      ("the 1 2 3 4\nFlights 1 -inf 3 4\n", "2: '-inf' is not a finite number"),
      ("the 1 2 3 4\nzürich 1 2 0x1p3 4\n", "2: '0x1p3' is not a decimal number"),
      ("\n\n", " contains no vectors"),
    ]
    for (index, (text, message)) in cases.enumerated() {
      let path = try write(Data(text.utf8), "malformed-\(index).txt")
      XCTAssertThrowsError(try read(path), text) {
        XCTAssertEqual("\($0)", "\(path):\(message)", text)
      }
    }
  }

  /// 1,000 mutated vector files (`Mutator`), text and binary, scopes data and all: each is read
  /// or refused with a `TrellisError` naming the file (never a trap), and what is read holds
  /// finite vectors of D values. TRELLIS_FUZZ_SCALE multiplies the count as in FuzzTests.
  func testMutatedVectorFilesAreReadOrRefused() throws {
    let originals = [Data(("3 4\n" + textLines()).utf8), binary(newlineAfterVector: true)].map {
      [UInt8]($0)
    }
    var mutator = Mutator(seed: 0x7EC7)
    let path = temporaryPath("fuzz-vectors")
    var read = 0
    var refused = 0
    for iteration in 0..<1_000 * FuzzTests.scale {
      let input = mutator.mutate(originals[iteration % 2])
      try Data(input).write(to: URL(fileURLWithPath: path))
      do {
        let embeddings = try self.read(path, scope: iteration % 4 < 2 ? .data : .all)
        for key in embeddings.keys {
          let vector = embeddings.vector(for: key)
          XCTAssertTrue(
            vector?.count == 4 && vector!.allSatisfy(\.isFinite), "input \(iteration): \(key)")
        }
        read += 1
      } catch let error as TrellisError {
        XCTAssertEqual(error.file, path, "input \(iteration): \(error)")
        refused += 1
      }
    }
    XCTAssertGreaterThan(read, 100, "\(read) read, \(refused) refused: mutations too destructive")
    XCTAssertGreaterThan(refused, 100, "\(read) read, \(refused) refused: mutations too timid")
  }

  /// Words with spaces (GloVe 840B's ". . .") or bytes that are not UTF-8 cannot be a token:
  /// their records are passed over and counted; the numbers of unkept words are not parsed.
  func testRecordsNoTokenCanMatchAreSkipped() throws {
    var data = Data("the 1 2 3 4\n. . . 1 2 3 4\nunkept 1 2 three 4\n".utf8)
    data.append(contentsOf: [0xC3, 0x28] + Array(" 1 2 3 4\nFlights 4 3 2 1\n".utf8))
    let embeddings = try read(try write(data, "skips.txt"))
    XCTAssertEqual(embeddings.fileVectorCount, 5)
    XCTAssertEqual(embeddings.skippedVectorCount, 2)
    XCTAssertEqual(embeddings.vector(for: "Flights").map(Array.init), [4, 3, 2, 1])
    // So is such a record on the first line: the whole file was refused as not text.
    let firstLine = Data([0xC3, 0x28] + Array(" 1 2 3 4\nthe 1 2 3 4\nFlights 4 3 2 1\n".utf8))
    let first = try read(try write(firstLine, "skips-first.txt"))
    XCTAssertEqual(first.skippedVectorCount, 1)
    XCTAssertEqual(first.vector(for: "Flights").map(Array.init), [4, 3, 2, 1])
    // After a header too: such a file was read as word2vec binary, and stopped as truncated
    // or seeded rows with the bytes of its numbers.
    let headed = try read(
      try write(Data("2 4\nnew york 1 2 3 4\nFlights 4 3 2 1\n".utf8), "skips-headed.vec"),
      dataWords: ["Flights"])
    XCTAssertEqual(headed.format, .text(hasHeader: true))
    XCTAssertEqual(headed.skippedVectorCount, 1)
    XCTAssertEqual(headed.vector(for: "Flights").map(Array.init), [4, 3, 2, 1])
    // And as the first record of a file without a header, which was refused as vectors of 5
    // dimensions; one of other numbers still is.
    let spaced = try read(
      try write(Data("new york 1 2 3 4\nFlights 4 3 2 1\n".utf8), "skips-first-spaced.txt"))
    XCTAssertEqual(spaced.format, .text(hasHeader: false))
    XCTAssertEqual(spaced.skippedVectorCount, 1)
    XCTAssertEqual(spaced.vector(for: "Flights").map(Array.init), [4, 3, 2, 1])
    XCTAssertThrowsError(try read(try write(Data("the 1 2 3 4 5\n".utf8), "wide.txt"))) {
      XCTAssertTrue(
        "\($0)".hasSuffix("vectors have 5 dimensions but --embedding-size is 4"), "\($0)")
    }
  }
}
