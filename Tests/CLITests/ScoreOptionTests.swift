import Foundation
import XCTest

/// `trellis score` takes conlleval's options (-d, -o, -r, -l) with conlleval's meaning and output,
/// reads CR, LF and CRLF line ends alike, compares labels by their bytes, and lists where it
/// departs from conlleval's input format in its `--help`.
final class ScoreOptionTests: CLITestCase {
  /// Tests/ConllEvalTests/Golden: conlleval input, its arguments and conlleval.pl's output (see
  /// GoldenTests for how they were recorded).
  static let golden = PackagePaths.root.appendingPathComponent("Tests/ConllEvalTests/Golden")

  /// The golden cases: name, conlleval arguments (none without a `.args` file), expected output.
  func goldenCases() throws -> [(name: String, arguments: [String], expected: Data)] {
    let names = try FileManager.default.contentsOfDirectory(atPath: Self.golden.path)
      .filter { $0.hasSuffix(".conll") }.map { String($0.dropLast(".conll".count)) }.sorted()
    return try names.map { name in
      let argumentsFile = Self.golden.appendingPathComponent(name + ".args")
      let arguments =
        FileManager.default.fileExists(atPath: argumentsFile.path)
        ? try XCTUnwrap(
          JSONSerialization.jsonObject(with: Data(contentsOf: argumentsFile)) as? [String]) : []
      return (
        name, arguments,
        try Data(contentsOf: Self.golden.appendingPathComponent(name + ".expected"))
      )
    }
  }

  /// Every golden case through the command line, conlleval's arguments as they are: the output
  /// is conlleval.pl's, byte for byte (options, CR line ends and Unicode labels included).
  func testEveryGoldenCaseMatchesConlleval() throws {
    let cases = try goldenCases()
    XCTAssertGreaterThanOrEqual(
      cases.filter { !$0.arguments.isEmpty }.count, 11, "the option cases are there")
    for (name, arguments, expected) in cases {
      let result = try trellis(
        ["score"] + arguments + [Self.golden.appendingPathComponent(name + ".conll").path])
      assertSucceeded(result)
      let wanted = String(decoding: expected, as: UTF8.self)
      XCTAssertEqual(
        result.stdout, expected, "\(name) \(arguments): got\n\(result.output)\nwanted\n\(wanted)")
    }
  }

  /// The options combine in any order and spelling, also on standard input.
  func testOptionsCombineInAnyOrderAndSpelling() throws {
    let input = try String(
      contentsOf: Self.golden.appendingPathComponent("combined.conll"), encoding: .utf8)
    let expected = try String(
      contentsOf: Self.golden.appendingPathComponent("combined.expected"), encoding: .utf8)
    for arguments in [
      ["-r", "-l", "-o", "NONE", "-d", "\\t"], ["-l", "-d", "\t", "-r", "-o", "NONE"],
      ["-rl", "-o", "NONE", "-d", "\\t"],
      ["--raw", "--latex", "--outside", "NONE", "--delimiter", "\\t"],
      ["--delimiter=\t", "-lr", "--outside=NONE", "-"],
    ] {
      let result = try trellis(["score"] + arguments, stdin: input)
      assertSucceeded(result)
      XCTAssertEqual(result.output, expected, "\(arguments)")
    }
  }

  /// Usage errors exit 64 with a message: two output formats, a -d pattern Swift cannot
  /// compile, an option without its value.
  func testBadOptionsAreUsageErrors() throws {
    let file = try write("a B-X B-X\n", to: "input.conll")
    for (arguments, message) in [
      (["--json", "-l"], "--json and -l (--latex) choose two formats"),
      (["-d", "("], "-d (: not a regular expression"),
      (["-o"], "Missing value for '-o"),
    ] {
      let result = try trellis(["score", file] + arguments)
      assertFailed(result, mentioning: [message])
      XCTAssertEqual(result.exitCode, 64, result.summary)
    }
  }

  /// A lone CR ends a line and "\r\r\n" is a line end then an empty line: the same report as with
  /// LF line ends, with no CR in a label, in a file and on standard input.
  func testCRLineEndsScoreLikeLF() throws {
    let lines = ["a B-X B-X", "b I-X I-X", "", "c O B-Y", "d B-Y B-Y"]
    let reference = try trellis([
      "score", try write(lines.joined(separator: "\n") + "\n", to: "lf.conll"),
    ])
    assertSucceeded(reference)
    XCTAssertTrue(
      reference.output.hasPrefix("processed 4 tokens with 2 phrases; found: 3 phrases;"),
      reference.output)
    for (name, text) in [
      ("cr.conll", lines.joined(separator: "\r") + "\r"),
      ("crcrlf.conll", "a B-X B-X\rb I-X I-X\r\r\nc O B-Y\rd B-Y B-Y"),
    ] {
      let fromFile = try trellis(["score", try write(text, to: name)])
      assertSucceeded(fromFile)
      XCTAssertEqual(fromFile.output, reference.output, name)
      let fromStdin = try trellis(["score", "--json"], stdin: text)
      assertSucceeded(fromStdin)
      XCTAssertFalse(fromStdin.output.contains("\\r"), fromStdin.output)
    }
  }

  /// Fields separated by NUL bytes (`-d '\0'`) are UTF-8, not BOM-less UTF-16, though a NUL
  /// follows the first character (and the second, when both fields are one character, as
  /// UTF-16's NULs do): the same report as the same fields separated by spaces.
  func testNULSeparatedFieldsAreNotTakenForUTF16() throws {
    for lines in [
      ["w B-X B-X", "w I-X O"], [". O O", "boston B-LOC B-LOC"], [". . B-X", "w . I-X"],
    ] {
      let spaced = try trellis(["score"], stdin: lines.joined(separator: "\n") + "\n")
      assertSucceeded(spaced)
      let nulSeparated = lines.map { $0.replacingOccurrences(of: " ", with: "\0") }
      let separated = try trellis(
        ["score", "-d", "\\0", try write(nulSeparated.joined(separator: "\n"), to: "nul.txt")])
      assertSucceeded(separated)
      XCTAssertEqual(separated.output, spaced.output, "\(lines)")
    }
  }

  /// Labels that Swift's `==` calls equal but whose bytes differ are two types, as in conlleval.
  func testCanonicallyEquivalentLabelsAreTwoTypes() throws {
    let file = try write("caf\u{E9} B-caf\u{E9} B-cafe\u{301}\n", to: "unicode.conll")
    let result = try trellis(["score", file, "--json"])
    assertSucceeded(result)
    XCTAssertTrue(result.output.contains("\"correct\": 0,\n  \"f1\""), result.output)
    XCTAssertEqual(
      result.output.components(separatedBy: "\"gold\":").count - 1, 2, "two types: \(result.output)"
    )
  }

  /// `--help` documents the options and every place the input may depart from conlleval's
  /// format, with what score does there.
  func testHelpListsTheOptionsAndTheDepartures() throws {
    let help = try trellis(["score", "--help"])
    assertSucceeded(help)
    let text = help.output.split(whereSeparator: \.isWhitespace).joined(separator: " ")
    for expected in [
      "-d, --delimiter <pattern>", "-o, --outside <label>", "-r, --raw", "-l, --latex", "--json",
      "Tabs: without -d, runs of spaces and tabs separate columns",
      "CRLF and CR: LF, CRLF and a lone CR each end a line",
      "BOM: a UTF-8 byte-order mark at the start is skipped",
      "Invalid UTF-8: an error, \"Error: FILE:LINE: is not valid UTF-8\"",
      "Labels are compared by their bytes",
    ] {
      XCTAssertTrue(
        text.contains(expected), "`score --help` lacks \"\(expected)\":\n\(help.output)")
    }
  }
}
