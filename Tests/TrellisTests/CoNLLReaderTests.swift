import Foundation
import XCTest

@testable import Trellis

final class CoNLLReaderTests: XCTestCase {
  func write(_ name: String, _ bytes: [UInt8]) -> String {
    let path = temporaryPath(name)
    XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data(bytes)))
    return path
  }

  func write(_ name: String, _ text: String) -> String { write(name, Array(text.utf8)) }

  func error(_ path: String) -> String {
    do {
      _ = try readLabelledCoNLL(path: path)
      return "no error"
    } catch {
      return "\(error)"
    }
  }

  /// `LabelledCoNLLReader` (`trellis eval`) gives `readLabelledCoNLL`'s sentences in groups of
  /// at most the sentences asked for, each closed once it holds the tokens asked for.
  func testLabelledReaderGroupsMakeTheWholeFile() throws {
    // Sentence k has k + 1 tokens; the label is column 3, column 2 a feature.
    let text = (0..<7).map { k in (0...k).map { "w\($0)\tf\($0)\tB-x\n" }.joined() + "\n" }
    let path = write("groups.conll", text.joined())
    let whole = try readLabelledCoNLL(path: path, labelColumn: 3, featureColumns: [2])
    for (sentenceCount, tokenCount) in [(1, 100), (2, 100), (100, 3), (100, 1000), (3, 5)] {
      let reader = try LabelledCoNLLReader(path: path, labelColumn: 3, featureColumns: [2])
      var groups: [[Sentence]] = []
      while let group = try reader.next(sentenceCount: sentenceCount, tokenCount: tokenCount) {
        groups.append(group)
      }
      let name = "\(sentenceCount) sentences, \(tokenCount) tokens"
      XCTAssertEqual(groups.flatMap { $0 }, whole, name)
      for group in groups {
        XCTAssertLessThanOrEqual(group.count, sentenceCount, name)
        XCTAssertLessThan(group.dropLast().reduce(0) { $0 + $1.count }, tokenCount, name)
      }
    }
  }

  /// The first error in the file is the one reported, wherever a group ends: a sentence the
  /// caller refuses before a malformed line in the same group, and an option's column asked
  /// for at the first line before a malformed line further on.
  func testLabelledReaderReportsTheFirstErrorInTheFile() throws {
    let path = write("errors.conll", "a\tO\n\nb\tO\nc\tO\n\nd\tO\te\n")
    let reader = try LabelledCoNLLReader(
      path: path, featureColumns: [], refusal: { $0.count > 1 ? "too long" : nil })
    XCTAssertThrowsError(try reader.next(sentenceCount: 100, tokenCount: 100)) {
      XCTAssertEqual("\($0)", "\(path):3: too long")
    }
    let columns = try LabelledCoNLLReader(path: path, labelColumn: 5, featureColumns: [])
    XCTAssertThrowsError(try columns.next(sentenceCount: 100, tokenCount: 100)) {
      XCTAssertEqual("\($0)", "\(path):1: the label column is column 5, but the line has 2 columns")
    }
    let wellFormed = write("columns.conll", "a\tO\n\nb\tO\n")
    for columns in [(0, nil, []), (1, 0, []), (1, nil, [-1])] as [(Int, Int?, [Int])] {
      XCTAssertThrowsError(
        try readLabelledCoNLL(
          path: wellFormed, tokenColumn: columns.0, labelColumn: columns.1,
          featureColumns: columns.2)
      ) {
        XCTAssertTrue("\($0)".hasSuffix("; columns are numbered from 1"), "\($0)")
      }
    }
    let empty = try LabelledCoNLLReader(path: write("none.conll", "\n\n"), featureColumns: [])
    XCTAssertThrowsError(try empty.next(sentenceCount: 1, tokenCount: 1))
  }

  func testMalformedInputsNameFileAndLine() {
    let columns = write("columns.conll", "a\tO\nb\tB-x\n\nc\tO\td\n")
    XCTAssertEqual(error(columns), "\(columns):4: expected 2 columns as on line 1, found 3")
    let single = write("single.conll", "a\nb\n")
    XCTAssertEqual(
      error(single), "\(single):1: expected a token and a label (at least 2 columns), found 1")
    let empty = write("empty.conll", "")
    XCTAssertEqual(error(empty), "\(empty): contains no sentences")
    let blank = write("blank.conll", "\n\n  \n")
    XCTAssertEqual(error(blank), "\(blank): contains no sentences")
    let invalid = write("invalid.conll", Array("a\tO\n".utf8) + [0x62, 0xFF, 0x09, 0x4F, 0x0A])
    XCTAssertEqual(
      error(invalid),
      "\(invalid):2: is not valid UTF-8; if the file is Latin-1, convert it: iconv -f ISO-8859-1 "
        + "-t UTF-8")
    for byteOrderMark: [UInt8] in [[0xFF, 0xFE], [0xFE, 0xFF]] {
      let utf16 = write("utf16.conll", byteOrderMark + [0x61, 0, 0x09, 0, 0x4F, 0, 0x0A, 0])
      XCTAssertEqual(
        error(utf16),
        "\(utf16):1: is not valid UTF-8 but UTF-16 (it starts with UTF-16's byte-order mark); "
          + "convert it: iconv -f UTF-16 -t UTF-8")
    }
    // "a<TAB>O" and a line feed in each wide encoding (its start: the first line is enough).
    // UTF-32LE's mark starts as UTF-16LE's, and without a mark each one's ASCII is valid UTF-8
    // with NULs in it.
    let wide: [(bytes: [UInt8], encoding: String, marked: Bool)] = [
      ([0xFF, 0xFE, 0, 0, 0x61, 0, 0, 0, 0x09, 0, 0, 0], "UTF-32", true),
      ([0, 0, 0xFE, 0xFF, 0, 0, 0, 0x61, 0, 0, 0, 0x09], "UTF-32", true),
      ([0, 0x61, 0, 0x09, 0, 0x4F, 0, 0x0A], "UTF-16BE", false),
      ([0x61, 0, 0x09, 0, 0x4F, 0, 0x0A, 0], "UTF-16LE", false),
      ([0x61, 0, 0x0A, 0], "UTF-16LE", false),  // a first line of one character
      ([0, 0x61, 0, 0x0A], "UTF-16BE", false),
      ([0, 0, 0, 0x61, 0, 0, 0, 0x09, 0, 0, 0, 0x0A], "UTF-32BE", false),
      ([0x61, 0, 0, 0, 0x09, 0, 0, 0, 0x0A, 0, 0, 0], "UTF-32LE", false),
    ]
    for (bytes, encoding, marked) in wide {
      let file = write("wide.conll", bytes)
      let because =
        marked
        ? "it starts with \(encoding)'s byte-order mark"
        : "its first characters have the NUL bytes of \(encoding) without a byte-order mark"
      XCTAssertEqual(
        error(file),
        "\(file):1: is not valid UTF-8 but \(encoding) (\(because)); "
          + "convert it: iconv -f \(encoding) -t UTF-8")
    }
    XCTAssertEqual(error("/nonexistent/x.conll"), "/nonexistent/x.conll: no such file")
    XCTAssertEqual(
      error(NSTemporaryDirectory()), "\(NSTemporaryDirectory()): is a directory, not a file")
  }

  /// A sentence of more than `Sentence.tokenLimit` token lines (a file without its blank lines)
  /// fails at the line past the limit, naming where the sentence starts; one of exactly the
  /// limit is read.
  func testASentenceOfMoreTokensThanTheLimitFailsAtTheLinePastIt() throws {
    let limit = Sentence.tokenLimit
    let atLimit = write("at-limit.conll", "a\tO\n\n" + String(repeating: "b\tO\n", count: limit))
    XCTAssertEqual(try readLabelledCoNLL(path: atLimit).map(\.count), [1, limit])
    let past = write("past-limit.conll", "a\tO\n\n" + String(repeating: "b\tO\n", count: limit + 1))
    XCTAssertEqual(
      error(past),
      "\(past):\(limit + 3): the sentence from line 3 has more than \(limit) tokens (the most a "
        + "sentence may hold); is a blank line missing?")
  }

  func testUnusualButValidInputsAreRead() throws {
    // CRLF line ends, a byte-order mark, spaces instead of tabs, no final blank line,
    // -DOCSTART- lines, several blank lines between sentences, non-ASCII tokens.
    let path = write(
      "unusual.conll",
      [0xEF, 0xBB, 0xBF]
        + Array(
          "-DOCSTART- O\r\n\r\nflights  O\r\nto\tO\r\nzürich B-toloc.city_name\r\n\n\n\n?\tO".utf8))
    let sentences = try readLabelledCoNLL(path: path)
    XCTAssertEqual(sentences.map(\.tokens), [["flights", "to", "zürich"], ["?"]])
    XCTAssertEqual(sentences.map(\.labels), [["O", "O", "B-toloc.city_name"], ["O"]])
    XCTAssertEqual(sentences.map(\.firstLine), [3, 9])
  }

  /// All lines of `path` as `LineReader` hands them out.
  func lines(_ path: String, ends: LineEnds = .lfCRLFOrCR) throws -> [String] {
    let reader = try LineReader(path: path, ends: ends)
    var lines: [String] = []
    while let line = try reader.next() { lines.append(line) }
    return lines
  }

  /// LF, CRLF and a lone CR each end a line; "\r\r\n" is a line end followed by an empty line.
  func testLoneCRAndCRLFEndLinesLikeLF() throws {
    let lines = ["a\tO", "b\tB-x", "", "c\tI-x", "", "d\tO"]
    let reference = try readLabelledCoNLL(path: write("lf.conll", lines.joined(separator: "\n")))
    XCTAssertEqual(reference.map(\.firstLine), [1, 4, 6])
    for (name, text) in [
      ("cr.conll", lines.joined(separator: "\r") + "\r"),
      ("crlf.conll", lines.joined(separator: "\r\n") + "\r\n"),
      ("mixed.conll", "a\tO\rb\tB-x\r\r\nc\tI-x\n\rd\tO\r\n"),
    ] {
      let path = write(name, text)
      XCTAssertEqual(try self.lines(path), lines, name)
      XCTAssertEqual(try readLabelledCoNLL(path: path), reference, name)
    }
  }

  /// A CRLF split by the reader's 64 KiB read is still one line end, and a CR that ends a read
  /// and is not followed by LF is still one; no line keeps a CR.
  func testLineEndsAcrossReadBoundaries() throws {
    let chunk = 1 << 16
    let first = String(repeating: "a", count: chunk - 1)
    // The first read ends with the first CR.
    for (terminator, expected) in [
      ("\r\n", [first, "b"]), ("\r", [first, "b"]), ("\r\r\n", [first, "", "b"]),
      ("\r\r", [first, "", "b"]),
    ] {
      let path = write("boundary.txt", first + terminator + "b")
      XCTAssertEqual(try lines(path), expected, terminator.debugDescription)
    }
    XCTAssertEqual(try lines(write("final-cr.txt", "x\r")), ["x"])
    // A byte-order mark alone is an empty file (no line), as a reader that drops the mark
    // first (Hadoop's) reads it; followed by a line end, it is an empty line.
    let mark = String(decoding: LineReader.byteOrderMark, as: UTF8.self)
    XCTAssertEqual(try lines(write("mark.txt", mark)), [])
    XCTAssertEqual(try lines(write("mark-lf.txt", mark + "\n")), [""])
    XCTAssertEqual(try lines(write("mark-x.txt", mark + "x")), ["x"])
    XCTAssertEqual(try lines(write("only-cr.txt", "\r\r")), ["", ""])
  }

  /// JSON lines end at LF or CRLF only, at a read boundary too: a lone CR stays in its line,
  /// where it is JSON whitespace, so a request holding one is one line, not two.
  func testJSONLinesEndAtLFOrCRLFOnly() throws {
    let ends = LineEnds.lfOrCRLF
    XCTAssertEqual(
      try lines(write("lines.jsonl", "a\rb\nc\r\nd\r\r\n\r\ne\r"), ends: ends),
      ["a\rb", "c", "d\r", "", "e\r"])
    let first = String(repeating: "a", count: (1 << 16) - 1)
    // The first read ends with the first CR.
    for (terminator, expected) in [
      ("\r\n", [first, "b"]), ("\r", [first + "\rb"]), ("\r\r\n", [first + "\r", "b"]),
    ] {
      let path = write("boundary.jsonl", first + terminator + "b")
      XCTAssertEqual(try lines(path, ends: ends), expected, terminator.debugDescription)
    }
  }

  /// Labels that differ only in Unicode normalisation (U+00E9 or "e" + U+0301) stay two labels
  /// from the file to the vocabulary, as conlleval counts them as two.
  func testCanonicallyEquivalentLabelsStayDistinct() throws {
    let composed = "B-caf\u{E9}"
    let decomposed = "B-cafe\u{301}"
    let path = write("labels.conll", "x\t\(composed)\ny\t\(decomposed)\n\nx\t\(composed)\n")
    let sentences = try readLabelledCoNLL(path: path)
    let bytes = sentences[0].labels.map { Array($0.utf8) }
    XCTAssertEqual(bytes, [Array(composed.utf8), Array(decomposed.utf8)])
    XCTAssertNotEqual(sentences[0], Sentence(tokens: ["x", "y"], labels: [composed, composed]))
    var labels = Vocabulary()
    for sentence in sentences { for label in sentence.labels { labels.insert(label) } }
    XCTAssertEqual(labels.strings.map { Array($0.utf8) }, bytes)
    XCTAssertEqual(labels.id(for: composed), 0)
    XCTAssertEqual(labels.id(for: decomposed), 1)
    XCTAssertNotEqual(Vocabulary([composed]), Vocabulary([decomposed]))
    XCTAssertEqual(
      Vocabulary([composed, decomposed]), Vocabulary([composed, decomposed, composed]))
  }

  /// One rule for `tag` and `eval`: a -DOCSTART- line inside a sentence ends it, whether the
  /// reader hands markers out (tag, which writes them back) or drops them (eval); handed out,
  /// the marker comes between the two halves, with its line number.
  func testDocumentMarkerInsideASentenceSplitsItForBothReaders() throws {
    let path = write("docstart.conll", "a O\nb O\n-DOCSTART- -X- O\nc O\n\nd O\n")
    let dropped = try readLabelledCoNLL(path: path).map(\.tokens)
    XCTAssertEqual(dropped, [["a", "b"], ["c"], ["d"]])
    let reader = try CoNLLReader(path: path)
    reader.keepsDocumentMarkers = true
    var kept: [(tokens: [String], isMarker: Bool, line: Int)] = []
    while let sentence = try reader.next() {
      kept.append((sentence.tokens, sentence.isDocumentMarker, sentence.firstLine))
    }
    XCTAssertEqual(kept.filter { !$0.isMarker }.map(\.tokens), dropped)
    XCTAssertEqual(kept.map(\.isMarker), [false, true, false, false])
    XCTAssertEqual(kept.map(\.line), [1, 3, 4, 6])
  }

  /// A line of exactly `lineLimit` bytes and a CRLF is a line within the limit whether its CR
  /// and LF come in one read or two: the CR that ends a read (written, then the LF 0.2 s
  /// later, through a FIFO) was counted as the line's and the line refused.
  func testALineAtTheLimitIsReadWhenItsCRLFIsSplitBetweenReads() throws {
    let fifo = temporaryPath("split-crlf.fifo")
    XCTAssertEqual(mkfifo(fifo, 0o600), 0)
    let line = Data(repeating: UInt8(ascii: "a"), count: LineReader.lineLimit)
    let writer = Thread {
      guard let handle = FileHandle(forWritingAtPath: fifo) else { return }
      handle.write(line + Data("\r".utf8))
      Thread.sleep(forTimeInterval: 0.2)
      handle.write(Data("\nb\n".utf8))
      try? handle.close()
    }
    writer.start()
    let reader = try LineReader(path: fifo, ends: .lfOrCRLF)
    XCTAssertEqual(try reader.nextLine { $0.count }, LineReader.lineLimit)
    XCTAssertEqual(try reader.next(), "b")
  }
}

/// `nextLines()`, which `tag` reads with, against `next()` on the same input: the same
/// sentences, line numbers and document markers, each line's bytes its fields joined by tabs.
final class SentenceLinesTests: XCTestCase {
  func testNextLinesReadsWhatNextReads() throws {
    let path = temporaryPath("lines.conll")
    let text =
      "\u{FEFF}-DOCSTART- -X- O\n\nflights  O\r\nto\tO\n\n\nbo ston\n-DOCSTART-\tO\ncafé O\n"
      + "\n-DOCSTART- -X- O\n-DOCSTART- -X- O\n\nlast O"
    try Data(text.utf8).write(to: URL(fileURLWithPath: path))
    for keepsMarkers in [false, true] {
      let (sentences, lines) = (try CoNLLReader(path: path), try CoNLLReader(path: path))
      sentences.keepsDocumentMarkers = keepsMarkers
      lines.keepsDocumentMarkers = keepsMarkers
      var count = 0
      while let sentence = try sentences.next() {
        let read = try XCTUnwrap(try lines.nextLines(), "sentence \(count)")
        XCTAssertEqual(read.firstLine, sentence.firstLine)
        XCTAssertEqual(read.isDocumentMarker, sentence.isDocumentMarker)
        XCTAssertEqual(read.count, sentence.count)
        for (line, fields) in sentence.fields.enumerated() {
          XCTAssertEqual(read.fieldsPerLine, fields.count)
          XCTAssertEqual((0..<fields.count).map { read.field($0, ofLine: line) }, fields)
          XCTAssertEqual(
            Array(read.text[read.lineBytes(line)]), Array(fields.map { $0 + "\t" }.joined().utf8))
        }
        count += 1
      }
      XCTAssertNil(try lines.nextLines())
      XCTAssertEqual(count, keepsMarkers ? 8 : 4, "keeps markers: \(keepsMarkers)")
    }
  }

  /// Text input: a line's whitespace-separated tokens, each a line of one field.
  func testTokensOfALineAreLinesOfOneField() {
    let line = Array("  show me\tflights to  ".utf8)
    let read = line.withUnsafeBufferPointer { SentenceLines(tokensOf: $0, lineNumber: 7) }
    XCTAssertEqual(read.firstLine, 7)
    XCTAssertEqual(
      (0..<read.count).map { read.field(0, ofLine: $0) }, ["show", "me", "flights", "to"])
    XCTAssertEqual(String(decoding: read.text, as: UTF8.self), "show\tme\tflights\tto\t")
    XCTAssertEqual(read.fieldsPerLine, 1)
  }
}
