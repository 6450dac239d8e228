import ConllEval
import XCTest

/// `-d`: lines are split as Perl's `split(/PATTERN/, $line)` splits them.
final class FieldDelimiterTests: XCTestCase {
  /// Each expected list is what `split(/$pattern/, $line)` returned in perl 5.36 (an undefined
  /// field, from a capture group that took no part, written as ""), for both the byte-literal
  /// patterns and those compiled by Swift's Regex.
  static let perlSplits: [(pattern: String, line: String, fields: [String])] = [
    ("\\t", "a\tb\t\tc\t\t", ["a", "b", "", "c"]),
    ("\t", "a\tb\t\tc\t\t", ["a", "b", "", "c"]),
    (" ", " a  b ", ["", "a", "", "b"]),
    ("  ", "a  b   c", ["a", "b", " c"]),
    ("\\|", "a|b|", ["a", "b"]),
    ("\\.", "a.b", ["a", "b"]),
    ("\\\\", "a\\b", ["a", "b"]),
    ("\u{E9}", "a\u{E9}b", ["a", "b"]),
    (" ", "   ", []),
    ("", "", []),
    ("(,)", "a,b,,", ["a", ",", "b", ",", "", ","]),
    ("(-)|(,)", "1-10,20", ["1", "-", "", "10", "", ",", "20"]),
    ("", "ab", ["a", "b"]),
    (",?", "a,b", ["a", "b"]),
    ("\\s+", " a b", ["", "a", "b"]),
    ("x*", "axxb", ["a", "b"]),
    ("b*", "abbbc", ["a", "c"]),
    ("a|", "bab", ["b", "b"]),
    ("^", "abc", ["abc"]),
    ("[,;]", "a;b,c", ["a", "b", "c"]),
    // conlleval reads bytes, so Perl's \s, \d and \w are ASCII's: a no-break space (U+00A0)
    // or an em space (U+2003) is no whitespace to it, an Arabic-Indic digit (U+0664) no digit.
    ("\\s", "a B-X B-X\u{A0}x", ["a", "B-X", "B-X\u{A0}x"]),
    ("\\s+", "a\u{2003}b c", ["a\u{2003}b", "c"]),
    ("\\d", "x1y\u{664}z", ["x", "y\u{664}z"]),
    // So are its POSIX classes.
    ("[[:space:]]+", "New\u{A0}York B-LOC\tB-LOC", ["New\u{A0}York", "B-LOC", "B-LOC"]),
    ("[[:blank:]]", "a\u{2003}b c", ["a\u{2003}b", "c"]),
    ("[,[:digit:]]", "x1y\u{663}z,w", ["x", "y\u{663}z", "w"]),
    ("[[:punct:]]", "a;b\u{B7}c", ["a", "b\u{B7}c"]),
    ("[[:^alnum:]]", "a-b c", ["a", "b", "c"]),
    ("[^[:alpha:][:digit:]]+", "ab, c1", ["ab", "c1"]),
    // A pattern from a variable does not quote with \Q...\E: they are the letters Q and E.
    ("\\Q|\\E", "aQbEc", ["a", "b", "c"]),
    // A "]" or ":" first in brackets is a member.
    ("[]x]", "a]bxc", ["a", "b", "c"]),
    ("[:a]", "b:cad", ["b", "c", "d"]),
    // Perl's \b lies between a word character and a non-word one only, never between "-"
    // and " " as Unicode's default word boundaries do.
    ("\\b", "-X- O", ["-", "X", "- ", "O"]),
    ("\\b", "a b-c", ["a", " ", "b", "-", "c"]),
  ]

  func testSplitsAsPerl() throws {
    for (pattern, line, fields) in Self.perlSplits {
      let delimiter = try FieldDelimiter(pattern)
      XCTAssertEqual(
        delimiter.fields(of: line[...]), fields[...].map { $0[...] }, "split(/\(pattern)/, \(line))"
      )
      // scoreConll hands lines over as slices of the whole text: anchors see the line's bounds.
      let text = "x" + line + "y"
      let slice = text.dropFirst().dropLast()
      XCTAssertEqual(delimiter.fields(of: slice), fields[...].map { $0[...] }, "\(pattern), slice")
    }
  }

  func testNonASCIIFieldsStayWhole() throws {
    let fields = try FieldDelimiter("\\t").fields(
      of: "Z\u{FC}rich\tB-caf\u{E9}\tB-cafe\u{301}"[...])
    XCTAssertEqual(
      fields.map { Array($0.utf8) },
      ["Z\u{FC}rich", "B-caf\u{E9}", "B-cafe\u{301}"].map { Array($0.utf8) })
  }

  func testAPatternSwiftCannotCompileIsAnError() {
    XCTAssertThrowsError(try FieldDelimiter("("))
    XCTAssertThrowsError(try FieldDelimiter("a\\"))
  }
}
