import Foundation
import Trellis
import XCTest

/// `trellis tag --input jsonl`: ids and unknown fields copied as written, character offsets that
/// Python's `str` agrees with, and bad lines refused (or skipped) with their line numbers.
final class JSONLinesTests: CLITestCase {
  /// Requests in both forms, with text full of characters whose code-point, UTF-16 and grapheme
  /// counts differ (emoji sequences, letters outside the BMP, combining marks) before the
  /// corpus words the model labels as spans.
  static let requests = [
    #"{"id": 12345678901234567890, "text": "👨‍👩‍👧 flights from 𝒳 dallas to salt lake city on tuesday"}"#,
    #"{"id": 0.1, "text": "cafe\u0301 🇫🇷 fare  from   boston to denver, please.", "source": {"k": [1, 2.50e3, "\u00e9"]}}"#,
    #"{"id": {"batch": 7, "n": -0.0}, "tokens": ["🛫", "flights", "from", "dallas", "to", "boston"]}"#,
    #"{"tokens": ["what's", "on", "tuesday"], "z": null}"#,
  ]

  func tagRequests(_ extra: [String] = []) throws -> (output: String, requests: String) {
    let requests = try write(Self.requests.joined(separator: "\n") + "\n", to: "requests.jsonl")
    let result = try trellis(
      ["tag", "--model", try sharedModel(), "--input", "jsonl", requests] + extra)
    assertSucceeded(result)
    return (result.output, requests)
  }

  func testSpanOffsetsIndexPythonStrings() throws {
    let answers = try write(try tagRequests().output, to: "answers.jsonl")
    // For every span: text[start_char:end_char] is its text, where text is the request's text
    // or its tokens joined by single spaces; and some span must follow a non-BMP character,
    // where UTF-16 offsets would be off.
    let script = """
      import json, sys
      checked = after_astral = 0
      for line in open(sys.argv[1], encoding="utf-8"):
          answer = json.loads(line)
          text = answer.get("text", " ".join(answer["tokens"]))
          for span in answer["spans"]:
              piece = text[span["start_char"]:span["end_char"]]
              assert piece == span["text"], (piece, span)
              assert piece.split() == answer["tokens"][span["start"]:span["end"]] or "text" in answer
              checked += 1
              after_astral += any(ord(c) > 0xFFFF for c in text[:span["start_char"]])
      assert checked and after_astral, (checked, after_astral)
      print(checked)
      """
    let python = try runPython(script, [answers])
    XCTAssertEqual(python.status, 0, python.stderr)
    XCTAssertGreaterThan(Int(python.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0, 0)
  }

  /// Answers escape the Unicode line ends U+0085, U+2028 and U+2029 that tokens and text hold
  /// (requests give them escaped), so a reader splitting at every line end (Python's
  /// `str.splitlines()`) reads one answer a line, with the same strings: they were written as
  /// they are, and three requests came back as eight lines.
  func testAnswersEscapeUnicodeLineEnds() throws {
    let requests = try write(
      #"{"id": 1, "tokens": ["a\u0085b", "c\u2028d", "boston"]}"# + "\n"
        + #"{"id": 2, "text": "flights to boston\u2029 \u2028on\u0085 tuesday"}"# + "\n"
        + #"{"id": 3, "tokens": ["\u2029"]}"# + "\n",
      to: "line-ends.jsonl")
    let result = try trellis(["tag", "--model", try sharedModel(), "--input", "jsonl", requests])
    assertSucceeded(result)
    for lineEnd in ["\u{85}", "\u{2028}", "\u{2029}"] {
      XCTAssertFalse(result.output.unicodeScalars.contains { String($0) == lineEnd }, lineEnd)
    }
    let answers = try write(result.output, to: "line-ends-answers.jsonl")
    let script = """
      import json, sys
      text = open(sys.argv[1], encoding="utf-8").read()
      answers = [json.loads(line) for line in text.splitlines()]
      assert [a["id"] for a in answers] == [1, 2, 3], answers
      assert answers[0]["tokens"] == ["a\\x85b", "c\\u2028d", "boston"], answers[0]
      assert answers[1]["text"] == "flights to boston\\u2029 \\u2028on\\x85 tuesday", answers[1]
      assert answers[2]["tokens"] == ["\\u2029"], answers[2]
      """
    let python = try runPython(script, [answers])
    XCTAssertEqual(python.status, 0, python.stderr)
  }

  /// JSON lines end at LF or CRLF only: a lone CR is JSON whitespace, so requests with CRs in
  /// place of spaces, in a CRLF file, get the answers they get with the spaces, one per line;
  /// a copied field's CR is written as a space. Splitting at a CR cut each request in two.
  func testALoneCRInsideARequestIsWhitespaceNotALineEnd() throws {
    let withCRs = Self.requests.map { $0.replacingOccurrences(of: #", ""#, with: ",\r\"") }
    XCTAssertTrue(zip(withCRs, Self.requests).allSatisfy { $0 != $1 })
    let requests = try write(withCRs.joined(separator: "\r\n") + "\r\n", to: "cr.jsonl")
    let result = try trellis(["tag", "--model", try sharedModel(), "--input", "jsonl", requests])
    assertSucceeded(result)
    XCTAssertEqual(result.output, try tagRequests().output)
  }

  /// An empty token (`"a  b".split(" ")` gives one) is tagged, with finite confidences, like
  /// any other: its character features are 0. The character CNN's max over its no windows was
  /// −∞, so its sentence's scores were NaN: the labels garbage, and confidences refused.
  func testAnEmptyTokenIsTaggedWithFiniteConfidences() throws {
    let requests = try write(
      #"{"tokens": ["flights", "", "to", "boston"]}"# + "\n", to: "empty-token.jsonl")
    let result = try trellis(
      ["tag", "--model", try sharedModel(), "--input", "jsonl", "--confidence", requests])
    assertSucceeded(result)
    let answer = try XCTUnwrap(
      JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any])
    let confidences = try XCTUnwrap(answer["confidences"] as? [Double], result.output)
    XCTAssertEqual(confidences.count, 4)
    XCTAssertTrue(confidences.allSatisfy { $0 > 0 && $0 <= 1 }, "\(confidences)")
  }

  func testIdsAndUnknownFieldsAreCopiedAsWritten() throws {
    let lines = try tagRequests().output.split(separator: "\n").map(String.init)
    XCTAssertEqual(lines.count, Self.requests.count)
    XCTAssertTrue(lines[0].hasPrefix(#"{"id":12345678901234567890,"text":"👨‍👩‍👧 flights"#), lines[0])
    XCTAssertTrue(
      lines[1].hasPrefix(
        #"{"id":0.1,"source":{"k": [1, 2.50e3, "\u00e9"]},"text":"cafe\#u{301} 🇫🇷"#), lines[1])
    XCTAssertTrue(lines[2].hasPrefix(#"{"id":{"batch": 7, "n": -0.0},"labels":"#), lines[2])
    XCTAssertTrue(lines[3].hasPrefix(#"{"z":null,"labels":"#), lines[3])
    // Python reads the big id back as the exact integer, not a rounded float.
    let python = try runPython(
      "import json, sys; print(json.loads(sys.argv[1])['id'] == 12345678901234567890)", [lines[0]])
    XCTAssertEqual(python.stdout, "True\n", python.stderr)
  }

  func testTextIsTokenizedAndConfidencesAndNBestComeAlong() throws {
    let lines = try tagRequests(["--confidence", "--nbest", "2"]).output.split(separator: "\n")
    let second = try XCTUnwrap(
      JSONSerialization.jsonObject(with: Data(lines[1].utf8)) as? [String: Any])
    XCTAssertEqual(
      second["tokens"] as? [String],
      ["cafe\u{301}", "🇫🇷", "fare", "from", "boston", "to", "denver", ",", "please", "."])
    XCTAssertEqual((second["confidences"] as? [Double])?.count, 10)
    XCTAssertEqual((second["nbest"] as? [Any])?.count, 2)
  }

  func testCoNLLInputWithJSONOutputLocatesSpansInTheJoinedTokens() throws {
    let result = try trellis([
      "tag", "--model", try sharedModel(), "--format", "json", PackagePaths.tiny("test"),
    ])
    assertSucceeded(result)
    var spans = 0
    for line in result.output.split(separator: "\n") {
      let object = try XCTUnwrap(
        JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
      let joined = Array(
        try XCTUnwrap(object["tokens"] as? [String]).joined(separator: " ").unicodeScalars)
      for span in try XCTUnwrap(object["spans"] as? [[String: Any]]) {
        let start = try XCTUnwrap(span["start_char"] as? Int)
        let end = try XCTUnwrap(span["end_char"] as? Int)
        XCTAssertEqual(
          String(String.UnicodeScalarView(joined[start..<end])), span["text"] as? String)
        spans += 1
      }
      XCTAssertNil(object["id"])
    }
    XCTAssertGreaterThan(spans, 0)
  }

  /// Lines 2 (not JSON), 4 (no tokens or text) and 5 (blank) are bad; CRLF line ends are fine.
  static let mixed =
    [
      #"{"id": "a", "text": "flights to dallas"}"#, #"{"id": "b", "text": "flights"#,
      #"{"tokens": ["to", "boston"]}"#,
      #"{"id": [1, "x"], "tokens": "to boston"}"#, "", #"{"id": "f", "tokens": ["dallas"]}"#,
    ].joined(separator: "\r\n") + "\r\n"

  func testABadLineStopsTheRunWithItsLineNumber() throws {
    let requests = try write(Self.mixed, to: "mixed.jsonl")
    let result = try trellis(["tag", "--model", try sharedModel(), "--input", "jsonl", requests])
    XCTAssertFalse(result.crashed, result.summary)
    XCTAssertEqual(result.exitCode, 1, result.summary)
    XCTAssertEqual(
      result.stderr, "Error: \(requests):2: invalid JSON at column 29: unterminated string\n")
    XCTAssertTrue(
      result.output.hasPrefix(#"{"id":"a","#), "the line before the bad one is answered")
    XCTAssertEqual(result.output.split(separator: "\n").count, 1, result.output)
    let stdin = try trellis(
      ["tag", "--model", try sharedModel(), "--input", "jsonl"], stdin: "[]\n")
    XCTAssertEqual(
      stdin.stderr,
      #"Error: <stdin>:1: expected a JSON object ({"tokens": [...]} or {"text": "..."}), "#
        + "not an array\n")
  }

  /// A bad request followed by several groups of good ones (the read-ahead, 64 × the batch
  /// size) stops the run after the lines before it on two threads too, where the later groups
  /// are read and tagged while earlier ones are written: an error in writing was taken for one
  /// in reading, and the groups after the bad line were written before it was reported (or
  /// the next group's first bad line was reported instead of the first).
  func testABadRequestBeforeSeveralGroupsStopsTheRunThere() throws {
    let good = #"{"id":1,"tokens":["to","boston"]}"#
    let requests = try write(
      (1...10_000).map { $0 == 5 ? "bad" : good }.joined(separator: "\n") + "\n",
      to: "bad-early.jsonl")
    let arguments = ["tag", "--model", try sharedModel(), "--input", "jsonl", "--threads", "2"]
    let result = try trellis(arguments + ["--batch-size", "4", requests])
    XCTAssertEqual(result.exitCode, 1, result.summary)
    XCTAssertTrue(result.stderr.hasPrefix("Error: \(requests):5: invalid JSON"), result.stderr)
    XCTAssertEqual(result.output.split(separator: "\n").count, 4, "only the lines before it")
    let blank = try write(String(repeating: "\n", count: 10_000), to: "blank.jsonl")
    let blanks = try trellis(arguments + ["--batch-size", "4", blank])
    XCTAssertEqual(blanks.stderr, "Error: \(blank):1: empty line, expected a JSON object\n")
    XCTAssertEqual(blanks.output, "")
  }

  /// The same from a pipe that pauses, where `tag` answers what it has read before it waits
  /// and the bad line's error comes out of that read: the later group was answered (to its
  /// own bad line, line 70, which was reported instead of line 5).
  func testABadRequestBeforeAPauseInAPipeStopsTheRunThere() throws {
    let good = #"{"id":1,"tokens":["to","boston"]}"#
    let requests = try write(
      (1...100).map { $0 == 5 || $0 == 70 ? "bad" : good }.joined(separator: "\n") + "\n",
      to: "paused.jsonl")
    let answers = path("answers.jsonl")
    let result = try trellisInShell(
      #"{ cat "$2"; sleep 1; } | "$0" tag --model "$1" --input jsonl --threads 2 "#
        + #"--batch-size 1 > "$3""#,
      [try sharedModel(), requests, answers])
    XCTAssertEqual(result.status, 1, result.stderr)
    XCTAssertTrue(result.stderr.hasPrefix("Error: <stdin>:5: invalid JSON"), result.stderr)
    let written = try String(contentsOfFile: answers, encoding: .utf8)
    XCTAssertEqual(written.split(separator: "\n").count, 4, written)
  }

  /// A line the reader refuses (invalid UTF-8) stops the run as a bad request does: after
  /// the answers to the lines before it, in JSON lines and in CoNLL (whole sentences).
  func testInvalidUTF8StopsAfterAnsweringWhatCameBefore() throws {
    let model = try sharedModel()
    let latin1 = "; if the file is Latin-1, convert it: iconv -f ISO-8859-1 -t UTF-8"
    let lines = try write(
      bytes: Array(#"{"id":1,"tokens":["to","boston"]}"#.utf8) + [0x0A]
        + Array(#"{"id":2,"text":"to bad"#.utf8) + [0xFF] + Array("\"}\n".utf8),
      to: "bad.jsonl")
    let answered = try trellis(["tag", "--model", model, "--input", "jsonl", lines])
    XCTAssertEqual(answered.exitCode, 1, answered.summary)
    XCTAssertEqual(answered.stderr, "Error: \(lines):2: is not valid UTF-8" + latin1 + "\n")
    XCTAssertTrue(answered.output.hasPrefix(#"{"id":1,"#), answered.summary)
    XCTAssertEqual(answered.output.split(separator: "\n").count, 1, answered.output)
    let conll = try write(
      bytes: Array("to\nboston\n\nfly\nto\nbad".utf8) + [0xFF] + Array("\n\n".utf8),
      to: "bad.conll")
    let sentences = try trellis(["tag", "--model", model, conll])
    XCTAssertEqual(sentences.exitCode, 1, sentences.summary)
    XCTAssertEqual(sentences.stderr, "Error: \(conll):6: is not valid UTF-8" + latin1 + "\n")
    XCTAssertEqual(
      sentences.output.split(separator: "\n").map { $0.split(separator: "\t")[0] },
      ["to", "boston"])
  }

  func testSkipAnswersBadLinesWithErrorObjects() throws {
    let requests = try write(Self.mixed, to: "mixed.jsonl")
    let result = try trellis(
      ["tag", "--model", try sharedModel(), "--input", "jsonl", "--on-error", "skip", requests])
    assertSucceeded(result)
    let lines = result.output.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
    XCTAssertEqual(lines.count, 6)
    XCTAssertEqual(
      lines[1], #"{"id":"b","error":"invalid JSON at column 29: unterminated string"}"#)
    XCTAssertEqual(
      lines[3], #"{"id":[1, "x"],"error":"\"tokens\" must be an array of strings, not a string"}"#)
    XCTAssertEqual(lines[4], #"{"error":"empty line, expected a JSON object"}"#)
    for index in [0, 2, 5] {
      XCTAssertTrue(lines[index].contains(#""labels":"#), String(lines[index]))
    }
    XCTAssertTrue(result.stderr.contains("3 line(s) were not valid requests"), result.stderr)
  }

  /// A line longer than `LineReader.lineLimit` is a bad line like the others: under
  /// `--on-error skip` it is answered with an error object and the lines after it are tagged,
  /// also when the last line is one and has no line end (it stopped the run, line 3 unanswered).
  /// Without skip it stops the run at its line, as before.
  func testALineLongerThanTheLimitIsSkippedUnderSkip() throws {
    let long = Data(repeating: UInt8(ascii: "a"), count: LineReader.lineLimit + 1)
    var bytes = Data((#"{"id":1,"tokens":["to","boston"]}"# + "\n").utf8)
    bytes += long + Data(("\n" + #"{"id":3,"tokens":["dallas"]}"# + "\n").utf8) + long
    let requests = path("long.jsonl")
    try bytes.write(to: URL(fileURLWithPath: requests))
    let arguments = ["tag", "--model", try sharedModel(), "--input", "jsonl", requests]
    let skipped = try trellis(arguments + ["--on-error", "skip"])
    assertSucceeded(skipped)
    let lines = skipped.output.split(separator: "\n").map(String.init)
    let error = #"{"error":"the line is longer than 16 MiB; is this a text file?"}"#
    XCTAssertEqual(lines.count, 4, skipped.output)
    XCTAssertTrue(lines.first?.hasPrefix(#"{"id":1,"labels":"#) ?? false, skipped.output)
    XCTAssertEqual(lines.dropFirst().first, error)
    XCTAssertTrue(lines.dropFirst(2).first?.hasPrefix(#"{"id":3,"labels":"#) ?? false)
    XCTAssertEqual(lines.last, error)
    XCTAssertTrue(skipped.stderr.contains("2 line(s) were not valid requests"), skipped.stderr)
    let stopped = try trellis(arguments)
    XCTAssertEqual(stopped.exitCode, 1, stopped.summary)
    XCTAssertEqual(
      stopped.stderr, "Error: \(requests):2: is longer than 16 MiB; is this a text file?\n")
    XCTAssertEqual(stopped.output.split(separator: "\n").count, 1, stopped.output)
  }

  /// A request made in Swift is answered on one line, as a request read from one is: a
  /// `RawJSON` written over several lines has a space for each line end, as the reader reads
  /// an id (an id of "[1,\n2]" put a line end in `jsonLine()`, which promises one line).
  func testARawJSONWrittenOverSeveralLinesIsAnsweredOnOne() throws {
    let id = try RawJSON("[1,\n2,\r\n3]")
    XCTAssertEqual(id.text, "[1, 2,  3]")
    var request = TaggingRequest(tokens: ["to", "boston"], id: id)
    request.passthrough = [
      try JSONMember(name: .string("source"), value: RawJSON("{\"page\":\r7}"))
    ]
    let model = try ModelFile.read(from: try sharedModel())
    let line = try model.respond(to: [request])[0].jsonLine()
    XCTAssertFalse(line.contains("\n") || line.contains("\r"), line)
    XCTAssertTrue(line.hasPrefix(#"{"id":[1, 2,  3],"source":{"page": 7},"labels":"#), line)
  }

  /// A passthrough field made in Swift is refused where the reader refuses one: a name that is
  /// not a JSON string (`123` made the answer `{…,123:true,…}`, not JSON), one the answer
  /// writes (a field "labels" was written beside the answer's own), the call's option and a
  /// request's own fields.
  func testAPassthroughFieldIsRefusedAsTheReaderRefusesIt() throws {
    let refusals = [
      ("123", "a field's name must be a JSON string, not a number: 123"),
      (#""labels""#, #"field "labels" is one the answer writes; rename it"#),
      (#""error""#, #"field "error" is one the answer writes; rename it"#),
      (#""confidence""#, #"field "confidence" is an option of the whole call"#),
      (#""id""#, #"field "id" is a request's own"#),
      (#""tok\u0065ns""#, #"field "tok\u0065ns" is a request's own"#),
    ]
    for (name, message) in refusals {
      XCTAssertThrowsError(try JSONMember(name: RawJSON(name), value: RawJSON("true")), name) {
        XCTAssertTrue("\($0)".hasPrefix(message), "\(name): \($0)")
      }
    }
    XCTAssertNoThrow(try JSONMember(name: RawJSON(#""label""#), value: RawJSON("true")))
  }

  func testOptionsThatDoNotFitJSONLinesAreRefused() throws {
    let model = try sharedModel()
    let text = try trellis(
      ["tag", "--model", model, "--input", "jsonl", "--format", "text"], stdin: "")
    XCTAssertEqual(text.exitCode, 64, text.summary)
    XCTAssertTrue(text.stderr.contains("--input jsonl answers in JSON lines"), text.stderr)
    let skip = try trellis(["tag", "--model", model, "--on-error", "skip"], stdin: "")
    XCTAssertEqual(skip.exitCode, 64, skip.summary)
    XCTAssertTrue(skip.stderr.contains("--on-error applies to --input jsonl"), skip.stderr)
  }

  /// Runs `python3 -c script arguments…`.
  func runPython(_ script: String, _ arguments: [String]) throws -> (
    status: Int32, stdout: String, stderr: String
  ) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", "-c", script] + arguments
    let stdout = Pipe()
    let stderr = Pipe()
    process.standardOutput = stdout
    process.standardError = stderr
    try process.run()
    let output = stdout.fileHandleForReading.readDataToEndOfFile()
    let errors = stderr.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (
      process.terminationStatus, String(decoding: output, as: UTF8.self),
      String(decoding: errors, as: UTF8.self)
    )
  }
}
