import ConllEval
import Foundation
import XCTest

/// Golden reports: `scoreConll(...).report()` on `Golden/NAME.conll` must equal `Golden/NAME.expected`
/// byte for byte.
///
/// Every `.expected` file was produced and checked with conlleval.pl version 2004-01-26 (the
/// CoNLL-2000 script by Erik Tjong Kim Sang, the release without the "accuracy (non-O)" line), as
/// `perl conlleval.pl < NAME.conll > NAME.expected`. The exceptions are `crlf_bom` and
/// `cr_line_ends`: conlleval knows neither CR line ends nor byte order marks, so their `.expected`
/// files are its output for the same lines with LF line ends and no mark. Files are separated by
/// single spaces, where conlleval and `scoreConll` split alike.
///
/// With RECORD_GOLDEN=1 the test rewrites every `.expected` file in the source tree from the code's
/// output and fails, so that a re-recorded baseline is never accepted silently; check the new files
/// against conlleval.pl before committing them.
final class GoldenTests: XCTestCase {
  /// The cases that must exist, each with what it covers.
  static let requiredCases = [
    "all_correct",  // every chunk right; extra feature columns before the labels
    "atis_dots",  // ATIS types with dots and underscores, names longer than the 17-byte field
    "cr_line_ends",  // lone CR line ends, and "\r\r\n" as a line end then an empty line
    "crlf_bom",  // CRLF line ends and a UTF-8 byte order mark
    "docstart",  // -DOCSTART- lines: tokens with O labels that close chunks, as in conlleval
    "empty",  // no input: only the "processed" line
    "file_end",  // a chunk that ends at the end of the file, without a final blank line
    "iob1_start",  // IOB1: I- after O starts a chunk, B- separates chunks of one type
    "iobes",  // IOBES, including conlleval's merging of adjacent S-X / B-X E-X chunks
    "multi_hyphen",  // labels with several '-', split at the first one; an empty prefix
    "no_final_newline",  // last line without "\n"
    "no_predictions",  // nothing predicted: precision 0 for 0 of 0
    "quirks",  // -X- boundaries, typeless and "B-0" labels, "[", "]", "." tags, duplicated "" line
    "sentence_end",  // chunks ending at a sentence end; I- after a boundary starts a new chunk
    "two_columns",  // only gold and predicted columns
    "type_change",  // a change of type inside a chunk ends it and starts another
    "unicode_equivalence",  // canonically equivalent types are two; a mark right after "-"
    "utf8_types",  // non-ASCII types: byte-order sorting, padding counted in bytes
  ]

  func testReportsMatchConlleval() throws {
    let golden = try XCTUnwrap(Bundle.module.url(forResource: "Golden", withExtension: nil))
    let names = try FileManager.default.contentsOfDirectory(atPath: golden.path)
      .filter { $0.hasSuffix(".conll") }
      .map { String($0.dropLast(".conll".count)) }
      .sorted()
    XCTAssertEqual(Set(Self.requiredCases).subtracting(names), [], "golden cases missing")

    let record = ProcessInfo.processInfo.environment["RECORD_GOLDEN"] == "1"
    let sourceGolden = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
      .appendingPathComponent("Golden")
    for name in names {
      // Decoded by hand: String(contentsOf:) may drop the byte order mark this test relies on.
      let input = try Data(contentsOf: golden.appendingPathComponent(name + ".conll"))
      let report: String
      do {
        report = try scoreConll(text: String(decoding: input, as: UTF8.self), fileName: name + ".conll").report()
      } catch {
        XCTFail("\(name): \(error)")
        continue
      }
      if record {
        try Data(report.utf8).write(to: sourceGolden.appendingPathComponent(name + ".expected"))
        XCTFail("Recorded new baseline Golden/\(name).expected; check it against conlleval.pl")
        continue
      }
      let expected = try Data(contentsOf: golden.appendingPathComponent(name + ".expected"))
      XCTAssertEqual(
        Data(report.utf8), expected,
        "\(name): got\n\(report)\nexpected\n\(String(decoding: expected, as: UTF8.self))")
    }
  }
}
