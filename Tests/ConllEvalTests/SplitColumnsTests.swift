import ConllEval
import XCTest

/// `columnRanges`: the columns of a line's bytes, runs of bytes other than space and tab, must
/// be exactly what splitting the Unicode scalars at U+0020 and U+0009 gives.
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
      // The bytes of a line as a reader (CoNLLReader) holds them, into a buffer that held
      // another line's offsets.
      let bytes = Array(line.utf8)
      var ranges = [0..<1, 2..<3, 4..<5]
      bytes.withUnsafeBufferPointer { columnRanges(of: $0, into: &ranges) }
      XCTAssertEqual(
        ranges.map { String(decoding: bytes[$0], as: UTF8.self) }, reference(line),
        "ranges of \(line)")
    }
  }
}
