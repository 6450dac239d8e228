import ConllEval
import XCTest

/// `splitColumns`: runs of bytes other than space and tab, from a String, a Substring or a
/// line's bytes, must be exactly what splitting the Unicode scalars at U+0020 and U+0009 gives.
final class SplitColumnsTests: XCTestCase {
  func reference(_ line: String) -> [String] {
    line.unicodeScalars.split(whereSeparator: { $0 == " " || $0 == "\t" }).map {
      String(String.UnicodeScalarView($0))
    }
  }

  func testColumnsMatchASplitAtSpaceAndTab() {
    let lines = [
      "", " ", "\t\t", "word", "word\tB-LOC", "  lead and trail  ", "a \t b\t\tc",
      "café\tB-ORG", "x \u{301}y", "日本 語\tO", "tab\u{0B}vertical\u{0C}feed",
      String(repeating: "long-token ", count: 30),
    ]
    for line in lines {
      XCTAssertEqual(splitColumns(line), reference(line), "\(Array(line.utf8))")
      XCTAssertEqual(
        splitColumns(line.dropFirst()), reference(String(line.dropFirst())), "substring of \(line)")
      // The bytes of a line as a reader holds them.
      let bytes = Array(line.utf8)
      XCTAssertEqual(
        bytes.withUnsafeBufferPointer(splitColumns), reference(line), "bytes of \(line)")
      // The columns' offsets (CoNLLReader), into a buffer that held another line's.
      var ranges = [0..<1, 2..<3, 4..<5]
      bytes.withUnsafeBufferPointer { columnRanges(of: $0, into: &ranges) }
      XCTAssertEqual(
        ranges.map { String(decoding: bytes[$0], as: UTF8.self) }, reference(line),
        "ranges of \(line)")
    }
  }
}
