import Foundation
import XCTest

@testable import Trellis

/// Malformed and unusual input to every command: each is either handled correctly (exit 0 and
/// the right output) or refused with `Error: FILE:LINE: …` (or `Error: FILE: …` for a problem
/// of the whole file) and a non-zero exit, never with a crash.
final class MalformedInputTests: CLITestCase {
  /// Two labelled sentences of ATIS-style text, LF line ends, tab-separated, final blank line.
  static let sample = """
    i\tO
    want\tO
    to\tO
    fly\tO
    to\tO
    boston\tB-toloc.city_name

    on\tO
    wednesday\tB-depart_date.day_name
    morning\tB-depart_time.period_of_day


    """

  /// Options for the training runs that compare models: small and one epoch.
  static let quickTraining = [
    "--epochs", "1", "--embedding-size", "4", "--hidden-size", "4", "--seed", "1", "--quiet",
  ]

  /// `tag`'s output for labelled `text` when every prediction equals the gold (last) column.
  func withGoldAsPrediction(_ text: String) -> String {
    text.split(separator: "\n", omittingEmptySubsequences: false).map {
      $0.isEmpty ? "" : "\($0)\t\($0.split(separator: "\t").last!)"
    }.joined(separator: "\n")
  }

  /// The labels the shared model was trained on.
  func trainingLabels() throws -> Set<String> { try labelSet(of: PackagePaths.tiny("train")) }

  /// `tag`, `eval` and `score` outputs for `input` (each asserted to succeed).
  func outputs(of input: String, model: String, file: StaticString = #filePath, line: UInt = #line)
    throws -> [String]
  {
    try [
      ["tag", "--model", model, input], ["eval", "--model", model, "--test", input],
      ["score", input],
    ].map {
      let result = try trellis($0)
      assertSucceeded(result, file: file, line: line)
      return result.output
    }
  }

  /// Asserts that `variant` and `reference` give the same `tag`, `eval` and `score` output.
  func assertSameOutputs(
    _ variant: String, _ reference: String, file: StaticString = #filePath, line: UInt = #line
  ) throws {
    let model = try sharedModel()
    let expected = try outputs(of: reference, model: model, file: file, line: line)
    let actual = try outputs(of: variant, model: model, file: file, line: line)
    for (command, (a, e)) in zip(["tag", "eval", "score"], zip(actual, expected)) {
      XCTAssertEqual(a, e, "`\(command)` differs on \(variant)", file: file, line: line)
    }
  }

  /// Trains on `train` with `quickTraining` into `name` and returns the model's bytes.
  func trainedBytes(
    _ train: String, _ name: String, file: StaticString = #filePath, line: UInt = #line
  ) throws -> Data {
    let result = try trellis(
      ["train", "--train", train, "--model", path(name)] + Self.quickTraining)
    assertSucceeded(result, file: file, line: line)
    return try Data(contentsOf: URL(fileURLWithPath: path(name)))
  }

  /// Asserts that training on `variant` gives the same model as `reference`, byte for byte but
  /// for the provenance (which names the data file and its digest).
  func assertTrainsSameModel(
    _ variant: String, _ reference: String, file: StaticString = #filePath, line: UInt = #line
  ) throws {
    let expected = try withoutProvenance(
      trainedBytes(reference, "reference.model", file: file, line: line))
    XCTAssertEqual(
      try withoutProvenance(trainedBytes(variant, "variant.model", file: file, line: line)),
      expected,
      "training on \(variant) gave another model", file: file, line: line)
  }

  // MARK: - Column counts

  /// Input 1: a line with one column too many.
  func testWrongColumnCountNamesFileAndLineInEveryCommand() throws {
    let model = try sharedModel()
    let bad = try write("i\tO\nfly\tO\textra\n\n", to: "columns.conll")
    try assertEveryCommandRefuses(
      bad, model: model, with: "Error: \(bad):2: expected 2 columns as on line 1, found 3\n")
    XCTAssertFalse(FileManager.default.fileExists(atPath: path("new.model")))
  }

  /// Input 2: the first sentence has three columns, the second two.
  func testVaryingColumnCountsAcrossSentences() throws {
    let model = try sharedModel()
    let bad = try write("i\tx\tO\nfly\tx\tO\n\nto\tO\n\n", to: "varying.conll")
    try assertEveryCommandRefuses(
      bad, model: model, with: "Error: \(bad):4: expected 3 columns as on line 1, found 2\n",
      taggedBefore: 1)
  }

  /// `train`, `tag`, `eval` and `score` on `file` each fail with exactly `message`; `tag`,
  /// which streams, first answers the `taggedBefore` sentences before the bad line, the others
  /// write nothing.
  func assertEveryCommandRefuses(
    _ file: String, model: String, with message: String, taggedBefore: Int = 0,
    line: UInt = #line
  ) throws {
    for command in [
      ["train", "--train", file, "--model", path("new.model")], ["tag", "--model", model, file],
      ["eval", "--model", model, "--test", file], ["score", file],
    ] {
      let result = try trellis(command)
      if command[0] == "tag" && taggedBefore > 0 {
        XCTAssertEqual(result.exitCode, 1, result.summary, line: line)
        let answered = result.output.components(separatedBy: "\n\n").dropLast()
        XCTAssertEqual(answered.count, taggedBefore, result.summary, line: line)
      } else {
        assertFailed(result, mentioning: [], line: line)
      }
      XCTAssertEqual(result.stderr, message, result.summary, line: line)
    }
  }

  /// Input 3: one column where a label is needed (eval, score); `tag` takes it as tokens only.
  func testSingleColumnIsTokensForTagAndAnErrorForEvalAndScore() throws {
    let model = try sharedModel()
    let tokens = try write("i\nfly\n\n", to: "tokens.conll")
    let eval = try trellis(["eval", "--model", model, "--test", tokens])
    assertFailed(
      eval, mentioning: ["\(tokens):1: expected a token and a label (at least 2 columns), found 1"])
    let score = try trellis(["score", tokens])
    assertFailed(
      score,
      mentioning: ["\(tokens):1: expected at least 2 columns (gold and predicted label), found 1"])
    let tagged = try tag(tokens, model: model)
    XCTAssertEqual(
      taggingProblems(output: tagged, input: "i\nfly\n\n", labels: try trainingLabels()), [])
  }

  // MARK: - Empty and blank input

  /// Inputs 4 and 5: an empty file and a file of blank (and whitespace-only) lines.
  func testEmptyAndBlankFiles() throws {
    let model = try sharedModel()
    for (name, text) in [("empty.conll", ""), ("blank.conll", "\n\n \t \n\n")] {
      let file = try write(text, to: name)
      let train = try trellis(
        ["train", "--train", file, "--model", path("new.model")] + Self.quickTraining)
      assertFailed(train, mentioning: ["\(file): contains no sentences"])
      let eval = try trellis(["eval", "--model", model, "--test", file])
      assertFailed(eval, mentioning: ["\(file): contains no sentences"])
      // Nothing to tag is not an error: no output, like `cat` of an empty file.
      let tag = try trellis(["tag", "--model", model, file])
      assertSucceeded(tag)
      XCTAssertEqual(tag.output, "", name)
      // conlleval prints only its first line when there are no tokens.
      let score = try trellis(["score", file])
      assertSucceeded(score)
      XCTAssertEqual(
        score.output, "processed 0 tokens with 0 phrases; found: 0 phrases; correct: 0.\n", name)
    }
  }

  /// A test file of boundaries alone, as conlleval reads them: `-DOCSTART-` lines (which
  /// `eval` skips) or `-X-` lines (conlleval's boundaries, which `eval` tags and leaves
  /// uncounted) are one mistake, refused alike rather than scored as 0 tokens.
  func testEvalRefusesAFileOfBoundariesAlone() throws {
    let model = try sharedModel()
    for (name, text) in [("docstart.conll", "-DOCSTART- O\n\n"), ("x.conll", "-X- O\n\n-X- O\n")] {
      let file = try write(text, to: name)
      let eval = try trellis(["eval", "--model", model, "--test", file])
      assertFailed(eval, mentioning: ["\(file): contains no"])
    }
  }

  // MARK: - Line ends, byte-order mark, separators

  /// Inputs 6 and 7: no final blank line, and no final newline at all.
  func testMissingFinalBlankLineOrNewline() throws {
    let reference = try write(Self.sample, to: "reference.conll")
    let body = Self.sample.dropLast(2)  // ends "…morning\tB-…period_of_day"
    for (name, text) in [("no-blank.conll", body + "\n"), ("no-newline.conll", String(body))] {
      let variant = try write(text, to: name)
      try assertSameOutputs(variant, reference)
    }
    try assertTrainsSameModel(try write(String(body), to: "train.conll"), reference)
  }

  /// Input 8: CRLF line ends everywhere (tag writes LF).
  func testCRLFLineEnds() throws {
    let reference = try write(Self.sample, to: "reference.conll")
    let variant = try write(
      Self.sample.replacingOccurrences(of: "\n", with: "\r\n"), to: "crlf.conll")
    try assertSameOutputs(variant, reference)
    try assertTrainsSameModel(variant, reference)
  }

  /// Input 9: a UTF-8 byte-order mark (it is not part of the first token).
  func testByteOrderMark() throws {
    let reference = try write(Self.sample, to: "reference.conll")
    let variant = try write(bytes: [0xEF, 0xBB, 0xBF] + Array(Self.sample.utf8), to: "bom.conll")
    try assertSameOutputs(variant, reference)
    try assertTrainsSameModel(variant, reference)
    XCTAssertTrue(
      try tag(variant, model: try sharedModel()).hasPrefix("i\tO\t"), "the mark stayed on the token"
    )
  }

  /// Input 10: columns separated by spaces, tabs and runs of both (tag writes tabs).
  func testTabsAndSpacesMixed() throws {
    let reference = try write(Self.sample, to: "reference.conll")
    let separators = [" ", "  ", "\t ", " \t\t", "\t"]
    var index = 0
    let mixed = Self.sample.split(separator: "\n", omittingEmptySubsequences: false).map {
      line -> String in
      index += 1
      return line.replacingOccurrences(of: "\t", with: separators[index % separators.count])
    }.joined(separator: "\n")
    let variant = try write(mixed, to: "mixed.conll")
    try assertSameOutputs(variant, reference)
    try assertTrainsSameModel(variant, reference)
  }

  /// Input 11: a line of spaces and tabs inside a sentence ends it, as a blank line would
  /// (conlleval's rule).
  func testWhitespaceOnlyLineInsideASentenceEndsIt() throws {
    let split = Self.sample.replacingOccurrences(of: "to\tO\nfly\tO\n", with: "to\tO\n\nfly\tO\n")
    let reference = try write(split, to: "split.conll")
    let variant = try write(
      Self.sample.replacingOccurrences(of: "to\tO\nfly\tO\n", with: "to\tO\n \t  \nfly\tO\n"),
      to: "spaces.conll")
    try assertSameOutputs(variant, reference)
    XCTAssertEqual(
      try tag(variant, model: try sharedModel()).components(separatedBy: "\n\n").count - 1, 3)
  }

  // MARK: - Encodings and unusual tokens

  /// Input 12: invalid UTF-8 (a 0xFF byte) on line 2, in a file and on standard input.
  func testInvalidUTF8NamesTheLine() throws {
    let model = try sharedModel()
    let bad = try write(
      bytes: Array("i\tO\nfl".utf8) + [0xFF] + Array("y\tO\n\n".utf8), to: "latin1.conll")
    let latin1 = "; if the file is Latin-1, convert it: iconv -f ISO-8859-1 -t UTF-8"
    try assertEveryCommandRefuses(
      bad, model: model, with: "Error: \(bad):2: is not valid UTF-8\(latin1)\n")
    let stdin = try runTrellis(
      ["tag", "--model", model], stdin: Data(Array("i\tO\nfl".utf8) + [0xC3, 0x28] + [0x0A]))
    assertFailed(stdin, mentioning: [])
    XCTAssertEqual(stdin.stderr, "Error: <stdin>:2: is not valid UTF-8\(latin1)\n", stdin.summary)
    // A byte that is no Latin-1 character (0x80...0x9F): no such hint.
    let binary = try runTrellis(["tag", "--model", model], stdin: Data([0x66, 0x85, 0x0A]))
    XCTAssertEqual(binary.stderr, "Error: <stdin>:1: is not valid UTF-8\n", binary.summary)
  }

  /// Input 13: tokens that are only punctuation.
  func testPunctuationOnlyTokens() throws {
    let text = "?\tO\n...\tO\n,\tO\n-\tO\n\"\tO\n(\tO\n)\tB-x\n\n"
    let file = try write(text, to: "punctuation.conll")
    let output = try tag(file, model: try sharedModel())
    XCTAssertEqual(taggingProblems(output: output, input: text, labels: try trainingLabels()), [])
    _ = try trainedBytes(file, "punctuation.model")
  }

  /// Input 14: Chinese, emoji and accented tokens are distinct words: a model can learn labels
  /// that depend only on which of two such tokens it sees, and `tag` writes them back unchanged.
  func testNonASCIITokensAreDistinctWords() throws {
    let pairs = [("北京", "上海"), ("😀", "😃"), ("café", "cafe"), ("zürich", "zurich")]
    let text = pairs.map { city, other in
      "\(city)\tB-city\n\(other)\tO\n\n\(other)\tO\n\(city)\tB-city\n\n"
    }.joined()
    let file = try write(text, to: "unicode.conll")
    let model = path("unicode.model")
    try trainUntilItFits(file, model: model)
    XCTAssertEqual(try tag(file, model: model), withGoldAsPrediction(text))
  }

  /// Input 15: NUL bytes inside and as a token are ordinary (valid UTF-8) characters.
  func testNULBytesAreKeptAsTokenText() throws {
    let text = "i\tO\nf\u{0}ly\tO\n\u{0}\tO\n\n"
    let file = try write(text, to: "nul.conll")
    let output = try tag(file, model: try sharedModel())
    XCTAssertEqual(taggingProblems(output: output, input: text, labels: try trainingLabels()), [])
    XCTAssertTrue(output.contains("\nf\u{0}ly\tO\t"), output)
    _ = try trainedBytes(file, "nul.model")
  }

  /// Input 16: a token of 100,000 characters.
  func testHundredThousandCharacterToken() throws {
    let long = String(repeating: "a", count: 100_000)
    let text = "i\tO\n\(long)\tO\nto\tO\n\n"
    let file = try write(text, to: "long-token.conll")
    let output = try tag(file, model: try sharedModel())
    XCTAssertEqual(taggingProblems(output: output, input: text, labels: try trainingLabels()), [])
    assertSucceeded(try trellis(["eval", "--model", try sharedModel(), "--test", file]))
    _ = try trainedBytes(file, "long-token.model")
  }

  /// Input 17: one sentence of 10,000 tokens gives 10,000 tagged lines and a blank line.
  func testTenThousandTokenSentence() throws {
    let words = ["show", "me", "flights", "to", "boston"]
    let text = (0..<10_000).map { "\(words[$0 % words.count])\tO\n" }.joined() + "\n"
    let file = try write(text, to: "long-sentence.conll")
    let output = try tag(file, model: try sharedModel())
    let lines = output.split(separator: "\n", omittingEmptySubsequences: false)
    XCTAssertEqual(
      lines.count, 10_002, "10,000 token lines, a blank line, and the empty rest after it")
    XCTAssertEqual(lines.suffix(2), ["", ""])
    XCTAssertEqual(taggingProblems(output: output, input: text, labels: try trainingLabels()), [])
  }

  // MARK: - Labels

  /// Input 18: a gold label the model never saw is scored as a string: a gold chunk of its
  /// type, never found; `eval` reports what `score` reports on `tag`'s output.
  func testEvalScoresALabelTheModelNeverSaw() throws {
    let model = try sharedModel()
    let file = try write(
      "i\tO\nfly\tB-never.seen\nto\tI-never.seen\nboston\tO\n\n", to: "unseen.conll")
    let eval = try trellis(["eval", "--model", model, "--test", file, "--json"])
    assertSucceeded(eval)
    let json = try XCTUnwrap(
      JSONSerialization.jsonObject(with: eval.stdout) as? [String: Any], eval.output)
    let types = try XCTUnwrap(json["types"] as? [String: [String: Any]])
    XCTAssertEqual(types["never.seen"]?["gold"] as? Int, 1, eval.output)
    XCTAssertEqual(types["never.seen"]?["found"] as? Int, 0, eval.output)
    XCTAssertEqual(json["tokens"] as? Int, 4)
    XCTAssertEqual(json["phrases"] as? Int, 1)
    try assertEvalAgreesWithScoreOfTag(file, model: model)
  }

  /// Asserts that `eval` prints the report `score` prints for `tag`'s output of `file`.
  func assertEvalAgreesWithScoreOfTag(_ file: String, model: String, line: UInt = #line) throws {
    let tagged = try write(try tag(file, model: model), to: "tagged.conll")
    let eval = try trellis(["eval", "--model", model, "--test", file])
    let score = try trellis(["score", tagged])
    assertSucceeded(eval, line: line)
    assertSucceeded(score, line: line)
    XCTAssertEqual(eval.output, score.output, line: line)
  }

  /// Input 19: gold labels that are not valid BIO (I- after O) at eval time count as conlleval
  /// counts them: each I- after O starts a chunk.
  func testEvalCountsInvalidBIOGoldLabelsAsConllevalDoes() throws {
    let model = try sharedModel()
    let text =
      "i\tO\nfly\tI-toloc.city_name\nto\tO\nboston\tI-toloc.city_name\ncity\tI-toloc.city_name\n\n"
    let file = try write(text, to: "iob.conll")
    let eval = try trellis(["eval", "--model", model, "--test", file])
    assertSucceeded(eval)
    let summary = try XCTUnwrap(ReportSummary(eval.output), eval.output)
    XCTAssertEqual(summary.tokens, 5)
    XCTAssertEqual(summary.phrases, 2)
    try assertEvalAgreesWithScoreOfTag(file, model: model)
  }

  /// Input 20: training labels with I- after O are read as IOB1, and a model trained on them
  /// reproduces them (constrained decoding does not forbid what the data does).
  func testTrainingOnIOB1LabelsReproducesThem() throws {
    let text =
      "i\tO\nfly\tI-toloc.city_name\nto\tO\nboston\tI-toloc.city_name\ncity\tI-toloc.city_name\n\n"
    let file = try write(text, to: "iob1.conll")
    let model = path("iob1.model")
    try trainUntilItFits(file, model: model)
    XCTAssertEqual(try tag(file, model: model), withGoldAsPrediction(text))
  }

  /// Input 21: -DOCSTART- lines (with their own column count) are skipped: the same model, the
  /// same scores and the same tagged sentences as without them.
  func testDocstartLinesAreSkipped() throws {
    let reference = try write(Self.sample, to: "reference.conll")
    let sentences = Self.sample.components(separatedBy: "\n\n")
    let text =
      "-DOCSTART- -X- -X- O\n\n" + sentences[0] + "\n\n-DOCSTART- O\n\n" + sentences[1] + "\n\n"
    let variant = try write(text, to: "docstart.conll")
    try assertTrainsSameModel(variant, reference)
    let model = try sharedModel()
    XCTAssertEqual(
      try trellis(["eval", "--model", model, "--test", variant]).output,
      try trellis(["eval", "--model", model, "--test", reference]).output)
    /// The tagged token lines of each sentence, whether or not `tag` copies -DOCSTART- lines.
    func taggedSentences(_ output: String) -> [[[String]]] {
      output.components(separatedBy: "\n\n").map {
        conllRows($0).filter { !$0.isEmpty && $0[0] != "-DOCSTART-" }
      }
      .filter { !$0.isEmpty }
    }
    let expected = taggedSentences(try tag(reference, model: model))
    XCTAssertEqual(expected.count, 2)
    XCTAssertEqual(taggedSentences(try tag(variant, model: model)), expected)
  }

  // MARK: - Files that are not readable files

  /// Input 22: a directory where a file is expected, for every command.
  func testDirectoryInsteadOfAFile() throws {
    let model = try sharedModel()
    let directoryPath = path("corpus.conll")
    try FileManager.default.createDirectory(
      atPath: directoryPath, withIntermediateDirectories: false)
    let isDirectory = "Error: \(directoryPath): is a directory, not a file\n"
    for command in [
      ["train", "--train", directoryPath, "--model", path("new.model")],
      [
        "train", "--train", PackagePaths.tiny("train"), "--dev", directoryPath, "--model",
        path("new.model"),
      ],
      ["tag", "--model", model, directoryPath],
      ["eval", "--model", model, "--test", directoryPath],
    ] {
      let result = try trellis(command)
      assertFailed(result, mentioning: [])
      XCTAssertEqual(result.stderr, isDirectory, result.summary)
    }
    assertFailed(
      try trellis(["score", directoryPath]),
      mentioning: ["Error: \(directoryPath): is a directory, not a file\n"])
    assertFailed(
      try trellis(["eval", "--model", directoryPath, "--test", PackagePaths.tiny("test")]),
      mentioning: ["Error: \(directoryPath): is a directory, not a model file"])
  }

  /// Input 23: a file that does not exist, for every command.
  func testMissingFile() throws {
    let model = try sharedModel()
    let missing = path("no-such.conll")
    for command in [
      ["train", "--train", missing, "--model", path("new.model")],
      ["tag", "--model", model, missing],
      ["eval", "--model", model, "--test", missing],
    ] {
      let result = try trellis(command)
      assertFailed(result, mentioning: [])
      XCTAssertEqual(result.stderr, "Error: \(missing): no such file\n", result.summary)
    }
    assertFailed(
      try trellis(["score", missing]), mentioning: ["Error: \(missing): no such file\n"])
    assertFailed(
      try trellis(["eval", "--model", missing, "--test", PackagePaths.tiny("test")]),
      mentioning: ["Error: \(missing): no such model file"])
  }

  /// A bad model and bad input together: the model's error is the one reported, whether it
  /// loads while the input is read (more than one thread) or before (`--threads 1`).
  func testABadModelIsReportedBeforeBadInput() throws {
    let missing = path("no-such.model")
    let notUTF8 = path("latin1.txt")
    let latin1 = Data([0x63, 0x61, 0x66, 0xE9, 0x0A])  // "café" in Latin-1
    XCTAssertTrue(FileManager.default.createFile(atPath: notUTF8, contents: latin1))
    for input in ["conll", "text", "jsonl"] {
      for threads in ["1", "2"] {
        let result = try trellis(
          ["tag", "--model", missing, "--input", input, "--threads", threads, notUTF8])
        assertFailed(result, mentioning: [])
        XCTAssertEqual(
          result.stderr, "Error: \(missing): no such model file\n", "\(input) \(threads)")
      }
    }
  }

  /// Input 24: a file with mode 000. Without privileges it cannot be opened and every command
  /// says so; as root (as CI runs) permissions do not stop reading, so the commands must then
  /// handle the file exactly as a readable copy.
  func testUnreadableFile() throws {
    let model = try sharedModel()
    let readable = try write(Self.sample, to: "readable.conll")
    let locked = try write(Self.sample, to: "locked.conll")
    try FileManager.default.setAttributes([.posixPermissions: 0], ofItemAtPath: locked)
    defer {
      try? FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: locked)
    }
    if FileHandle(forReadingAtPath: locked) != nil {
      // Root (CAP_DAC_OVERRIDE): mode 000 does not stop reading.
      try assertSameOutputs(locked, readable)
      return
    }
    for command in [
      ["train", "--train", locked, "--model", path("new.model")],
      ["tag", "--model", model, locked],
      ["eval", "--model", model, "--test", locked],
    ] {
      let result = try trellis(command)
      assertFailed(result, mentioning: [])
      XCTAssertEqual(
        result.stderr, "Error: \(locked): cannot be opened for reading (permissions?)\n",
        result.summary)
    }
    assertFailed(
      try trellis(["score", locked]),
      mentioning: ["Error: \(locked): cannot be opened for reading (permissions?)\n"])
  }

  // MARK: - Where the model goes

  /// Input 25: `train --model` naming an existing directory is refused and leaves it alone.
  func testModelPathThatIsADirectory() throws {
    let directoryPath = path("models")
    try FileManager.default.createDirectory(
      atPath: directoryPath, withIntermediateDirectories: false)
    let result = try trellis(
      ["train", "--train", PackagePaths.tiny("train"), "--model", directoryPath]
        + Self.quickTraining)
    assertFailed(result, mentioning: [directoryPath, "directory"])
    var isDirectory: ObjCBool = false
    let exists = FileManager.default.fileExists(atPath: directoryPath, isDirectory: &isDirectory)
    XCTAssertTrue(exists && isDirectory.boolValue, "the directory is gone")
    XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directoryPath), [])
  }

  /// Input 26: `train --model` in a missing directory fails before reading data or training.
  func testModelInAMissingDirectoryFailsBeforeTraining() throws {
    let missing = path("no-such-directory")
    let model = missing + "/m.model"
    let result = try trellis([
      "train", "--train", PackagePaths.tiny("train"), "--model", model, "--epochs", "1",
    ])
    assertFailed(result, mentioning: [])
    // Exactly one line: no OpenBLAS note, no epoch line.
    XCTAssertEqual(
      result.stderr,
      "Error: \(model): cannot be written (--model): \(missing) is missing or not writable\n")
    XCTAssertFalse(FileManager.default.fileExists(atPath: missing))
  }

  // MARK: - Options

  /// Input 27: zero, negative and out-of-range option values are usage errors (exit 64) with
  /// the option's rule, a negative number after a space as after `=` (not "Missing value",
  /// as when "-1" was read as an option's name).
  func testZeroAndNegativeOptionValues() throws {
    let train = ["train", "--train", PackagePaths.tiny("train"), "--model", path("new.model")]
    let cases: [([String], String)] = [
      (train + ["--epochs", "0"], "--epochs must be in 1...100000 (got 0)"),
      (train + ["--epochs", "-1"], "--epochs must be in 1...100000 (got -1)"),
      (train + ["--batch-size", "0"], "--batch-size must be in 1...4096 (got 0)"),
      (train + ["--batch-size", "-3"], "--batch-size must be in 1...4096 (got -3)"),
      (
        train + ["--batch-size", "9223372036854775807"],
        "--batch-size must be in 1...4096 (got 9223372036854775807)"
      ),
      (train + ["--dropout", "1"], "--dropout must be in [0.0, 1.0) (got 1.0)"),
      (train + ["--dropout", "-0.1"], "--dropout must be in [0.0, 1.0) (got -0.1)"),
      (train + ["--dropout", "nan"], "--dropout must be in [0.0, 1.0) (got nan)"),
      (train + ["--embedding-size", "0"], "--embedding-size must be in 1...4096 (got 0)"),
      (train + ["--hidden-size=-4"], "--hidden-size must be in 1...4096 (got -4)"),
      (train + ["--hidden-size", "65536"], "--hidden-size must be in 1...4096 (got 65536)"),
      (
        train + ["--learning-rate", "0"],
        "--learning-rate must be positive and finite in single precision (got 0.0)"
      ),
      (
        train + ["--learning-rate", "1e39"],
        "--learning-rate must be positive and finite in single precision (got 1e+39)"
      ),
      (
        train + ["--learning-rate", "1e-46"],
        "--learning-rate must be positive and finite in single precision (got 1e-46)"
      ),
      (
        train + ["--clip", "1e-50"],
        "--clip must be 0 (off) or at least \(Float.leastNormalMagnitude) (got 1e-50)"
      ),
      (
        train + ["--token-column", "2", "--label-column", "2"],
        "--label-column must differ from --token-column (both 2)"
      ),
      (
        ["eval", "--model", path("m"), "--test", path("t"), "--token-column", "0"],
        "--token-column must be in 1...1000 (got 0)"
      ),
      (
        ["eval", "--model", path("m"), "--test", path("t"), "--label-column", "1001"],
        "--label-column must be in 1...1000 (got 1001)"
      ),
      (train + ["--window", "-1"], "--window must be in 0...64 (got -1)"),
      (train + ["--epochs=-1"], "--epochs must be in 1...100000 (got -1)"),
      (train + ["--seed", "-1"], "The value '-1' is invalid for '--seed <seed>'"),
      (train + ["--feature-column", "-1:4"], "--feature-column N must be in 1...1000 (got -1)"),
      // A number too small for its type is refused, not read as 0 (as in `--config`).
      (
        train + ["--clip", "1e-400"],
        "The value '1e-400' is invalid for '--clip <clip>': below about 4.9e-324 in size, it "
          + "would read as 0"
      ),
      (
        train + ["--dropout", "1e-50"],
        "The value '1e-50' is invalid for '--dropout <dropout>': below about 1.4e-45 in size, it "
          + "would read as 0"
      ),
      (
        train + ["--feature-column", "1"],
        "--feature-column N must differ from the token and label columns (got 1, the token "
          + "column, which the model reads already)"
      ),
      (
        train + ["--feature-column", "2", "--label-column", "2"],
        "--feature-column N must differ from the token and label columns (got 2, the label "
          + "column: a feature of the labels would hand the model its gold label)"
      ),
      (
        train + ["--head", "softmax", "--no-constraints"],
        "--no-constraints acts on the chain heads' decoding; the softmax head labels each token "
          + "on its own"
      ),
      (
        ["tag", "--model", path("m"), "--threads", "-2"],
        "--threads must be in 1...\(TaggingOptions.threadsLimit) (got -2)"
      ),
      (
        ["tag", "--model", path("m"), "--batch-size", "0"],
        "--batch-size must be in 1...4096 (got 0)"
      ),
      (
        ["tag", "--model", path("m"), "--token-column", "0"],
        "--token-column must be in 1...1000 (got 0)"
      ),
      (
        ["tag", "--model", path("m"), "--input", "text", "--token-column", "2"],
        "--token-column applies to --input conll"
      ),
      (
        ["tag", "--model", path("m"), "--nbest", "-2", "--format", "json"],
        "--nbest must be in 0...1000 (got -2)"
      ),
    ]
    for (arguments, message) in cases {
      let result = try trellis(arguments)
      assertFailed(result, mentioning: ["Error: \(message)\n"])
      XCTAssertEqual(result.exitCode, 64, result.summary)
    }
    XCTAssertFalse(FileManager.default.fileExists(atPath: path("new.model")))
  }

  /// A line longer than `LineReader.lineLimit` (a binary file, /dev/zero) is refused at its
  /// line, in bounded memory, instead of growing the buffer until memory runs out.
  func testALineLongerThanTheLimitIsRefused() throws {
    let file = path("long.conll")
    var bytes = Data("show\tO\n".utf8)
    bytes.append(Data(repeating: UInt8(ascii: "a"), count: (16 << 20) + 1))
    try bytes.write(to: URL(fileURLWithPath: file))
    let result = try trellis(["tag", "--model", try sharedModel(), file])
    XCTAssertEqual(result.stderr, "Error: \(file):2: is longer than 16 MiB; is this a text file?\n")
    XCTAssertEqual(result.exitCode, 1, result.summary)
  }

  /// Asserts that `tag`, `eval` and `train` refuse the CoNLL `file` with `expected` on
  /// standard error and status 1.
  private func assertEveryModelReaderRefuses(
    _ file: String, saying expected: String, line: UInt = #line
  ) throws {
    for arguments in [
      ["tag", "--model", try sharedModel(), file],
      ["eval", "--model", try sharedModel(), "--test", file],
      ["train", "--train", file, "--model", path("m")] + Self.quickTraining,
    ] {
      let result = try trellis(arguments)
      XCTAssertEqual(result.stderr, expected, arguments[0], line: line)
      XCTAssertEqual(result.exitCode, 1, result.summary, line: line)
    }
  }

  /// A sentence of more tokens than `Sentence.tokenLimit` (a CoNLL file without its blank
  /// lines, a text line holding a whole book) is refused at its line by every command that
  /// reads it for a model, before a pass that would take gigabytes.
  func testASentenceOfMoreTokensThanTheLimitIsRefused() throws {
    let limit = Sentence.tokenLimit
    let conll = try write(
      "i\tO\n\n" + String(repeating: "show\tO\n", count: limit + 1), to: "merged.conll")
    let expected =
      "Error: \(conll):\(limit + 3): the sentence from line 3 has more than \(limit) tokens (the "
      + "most a sentence may hold); is a blank line missing?\n"
    try assertEveryModelReaderRefuses(conll, saying: expected)
    let text = try write(
      "show me\n" + Array(repeating: "a", count: limit + 1).joined(separator: " ") + "\n",
      to: "book.txt")
    let result = try trellis(["tag", "--model", try sharedModel(), "--input", "text", text])
    XCTAssertEqual(
      result.stderr,
      "Error: \(text):2: \(limit + 1) tokens, more than the \(limit) a sentence may hold\n")
    XCTAssertEqual(result.exitCode, 1, result.summary)
  }

  /// Training data with more distinct labels than `TrainingData.labelLimit` (a token column
  /// read as labels, usually) is refused at the line of the first label past the limit, before
  /// a model of gigabytes is built; data at the limit passes the check.
  func testMoreDistinctLabelsThanAModelMayHaveAreRefused() throws {
    let limit = TrainingData.labelLimit
    let lines = (0...limit).map { "w\($0)\tL\($0)\n" }
    let text = "a\tO\n\n" + lines[..<(limit / 2)].joined() + "\n" + lines[(limit / 2)...].joined()
    let file = try write(text, to: "tokens-as-labels.conll")
    // "O" and the first limit − 1 token labels fit; the limit-th, L\(limit − 1), is the last.
    try assertTrainingRefused(
      ["--train", file],
      saying: "Error: \(file):\(limit + 3): label \"L\(limit - 1)\" makes \(limit + 1) distinct "
        + "labels, more than the \(limit) a model may have; is --label-column right?\n")
    let atLimit = try readLabelledCoNLL(path: file).map { sentence in
      Sentence(fields: sentence.fields.filter { $0[1] != "L\(limit - 1)" && $0[1] != "L\(limit)" })
    }
    XCTAssertNoThrow(
      try TrainingData.checkLabelCount(
        of: atLimit, file: file, configuration: TaggerConfiguration()))
  }

  /// The limit counts the model's labels: `--scheme bioes` makes three of each chunk type
  /// that occurs both alone and with a second token (a model of 6,142 labels from 4,095 BIO
  /// ones got round it).
  func testTheLabelLimitCountsTheLabelsOfTheTrainingScheme() throws {
    let limit = TrainingData.labelLimit
    // Each type k as a one-token chunk, then a two-token one, five lines from line 1 + 5k:
    // B-tk, I-tk in BIO (2 labels a type, within the limit); S-tk, B-tk, E-tk in BIOES (3).
    let types = limit / 2 - 1
    let text = (0..<types).map { "w\tB-t\($0)\n\nw\tB-t\($0)\nw\tI-t\($0)\n\n" }.joined()
    let file = try write(text, to: "many-types.conll")
    XCTAssertNoThrow(
      try TrainingData.checkLabelCount(
        of: readLabelledCoNLL(path: file), file: file, configuration: TaggerConfiguration()))
    // The label past the limit: with limit = 3k + 1, type k's B-tk, its second (line 3 + 5k).
    XCTAssertEqual(limit % 3, 1)
    let k = limit / 3
    try assertTrainingRefused(
      ["--train", file, "--scheme", "bioes"],
      saying: "Error: \(file):\(3 + 5 * k): label \"B-t\(k)\", read as \"B-t\(k)\" in bioes "
        + "(--scheme), makes \(limit + 1) distinct labels, more than the \(limit) a model may "
        + "have\n")
  }

  /// Asserts that `trellis train` with `arguments` (and a model path and quick settings)
  /// fails with `expected` on standard error and writes no model.
  private func assertTrainingRefused(
    _ arguments: [String], saying expected: String, line: UInt = #line
  ) throws {
    let result = try trellis(["train", "--model", path("m")] + arguments + Self.quickTraining)
    XCTAssertEqual(result.stderr, expected, line: line)
    XCTAssertEqual(result.exitCode, 1, result.summary, line: line)
    XCTAssertFalse(FileManager.default.fileExists(atPath: path("m")), line: line)
  }

  /// A sentence past the model's tokens a sentence (fewer with many labels,
  /// `TaggerModel.sentenceTokenLimit`) is refused at its first line, in text and CoNLL input,
  /// after the answers to the sentences before it: one of 16,385 tokens for 1,024 labels
  /// asked for gigabytes to tag.
  func testASentencePastTheModelsTokenLimitIsRefusedAfterTheOnesBefore() throws {
    var configuration = TaggerConfiguration()
    (configuration.embeddingSize, configuration.hiddenSize, configuration.characterFilters) = (
      2, 2, 0
    )
    var rng = SplitMix64(seed: 1)
    let model = try TaggerModel(
      configuration: configuration, words: Vocabulary(["<pad>", "<unk>", "a"]),
      labels: Vocabulary(["O"] + (1..<1024).map { "B-t\($0)" }), rng: &rng)
    try ModelFile.write(model, to: path("many-labels.model"))
    let refusal =
      "16385 tokens, more than the 16384 a sentence may hold for this model's 1024 labels "
      + "(tokens × labels at most 16777216)"
    let long = Array(repeating: "a", count: 16_385)
    let text = try write("a a\n" + long.joined(separator: " ") + "\na\n", to: "long.txt")
    let tagged = try trellis(
      ["tag", "--model", path("many-labels.model"), "--input", "text", text])
    XCTAssertEqual(tagged.stderr, "Error: \(text):2: \(refusal)\n")
    XCTAssertEqual(tagged.exitCode, 1, tagged.summary)
    XCTAssertEqual(tagged.output.split(separator: "\n").count, 1, "the first line is answered")
    let conll = try write(
      "a\n\n" + long.joined(separator: "\n") + "\n\na\n", to: "long.conll")
    let sentences = try trellis(["tag", "--model", path("many-labels.model"), conll])
    XCTAssertEqual(sentences.stderr, "Error: \(conll):3: \(refusal)\n")
    XCTAssertEqual(sentences.exitCode, 1, sentences.summary)
    XCTAssertEqual(
      sentences.output.split(separator: "\n").count, 1, "the first sentence is answered")
    // `eval` (here from standard input, named as every reader names it) and `bench`'s
    // tagging figures refuse it before any work.
    let labelled = try write(
      "a\tO\n\n" + long.map { "\($0)\tO" }.joined(separator: "\n") + "\n", to: "l.conll")
    let scored = try trellisInShell(
      #""$0" eval --model "$1" --test - < "$2""#, [path("many-labels.model"), labelled])
    XCTAssertEqual(scored.stderr, "Error: <stdin>:3: \(refusal)\n")
    XCTAssertEqual(scored.status, 1)
    let timed = try trellis(["bench", "--model", path("many-labels.model"), "--test", labelled])
    XCTAssertEqual(timed.stderr, "Error: \(path("l.conll")):3: \(refusal)\n")
    XCTAssertEqual(timed.exitCode, 1, timed.summary)
  }

  /// A CoNLL sentence whose lines hold more than `Sentence.byteLimit` bytes is refused at the
  /// line past it (long lines piled up in `tag` at about four times their size: a sentence of
  /// 60,000 lines of 16 KB took it to 3 GB), by `tag`, `eval` and `train` alike.
  func testASentenceOfMoreBytesThanTheLimitIsRefused() throws {
    let lineBytes = 8 << 20
    let line = String(repeating: "a", count: lineBytes - 2) + "\tO\n"
    let file = try write(String(repeating: line, count: 6), to: "huge-sentence.conll")
    let expected =
      "Error: \(file):\(Sentence.byteLimit / lineBytes + 1): the sentence from line 1 holds "
      + "more than \(Sentence.byteLimit >> 20) MiB (the most a sentence may hold); is a blank "
      + "line missing?\n"
    try assertEveryModelReaderRefuses(file, saying: expected)
  }

  /// A feature column that is the label column (the last, by default) would hand the model
  /// its gold label: refused with the file and line before training.
  func testAFeatureColumnThatIsTheLabelIsRefused() throws {
    let result = try trellis([
      "train", "--train", PackagePaths.tiny("train"), "--model", path("m"), "--feature-column",
      "2:4", "--quiet",
    ])
    XCTAssertEqual(
      result.stderr,
      "Error: \(PackagePaths.tiny("train")):1: column 2 of 2 is both a feature column and the "
        + "label column (the last, as no label column is given); the token, feature and label "
        + "columns must differ\n")
    XCTAssertEqual(result.exitCode, 1, result.summary)
    XCTAssertFalse(FileManager.default.fileExists(atPath: path("m")))
  }

  /// A feature column's size out of range is named as its DIM, the column as its N.
  func testFeatureColumnRangesNameTheirPart() throws {
    for (argument, message) in [
      ("2:0", "--feature-column 2:DIM: DIM must be in 1...4096 (got 0)"),
      ("0:4", "--feature-column N must be in 1...1000 (got 0)"),
    ] {
      let result = try trellis([
        "train", "--train", PackagePaths.tiny("train"), "--model", path("m"), "--feature-column",
        argument,
      ])
      XCTAssertEqual(result.exitCode, 64, result.summary)
      XCTAssertTrue(result.stderr.contains(message), result.summary)
    }
  }

  /// Input 28: `--token-column` beyond the file's columns names the file and line.
  func testTokenColumnBeyondTheColumns() throws {
    let file = try write(Self.sample, to: "two-columns.conll")
    let result = try trellis(["tag", "--model", try sharedModel(), "--token-column", "3", file])
    assertFailed(result, mentioning: [])
    XCTAssertEqual(result.stderr, "Error: \(file):1: --token-column 3 but the line has 2 columns\n")
  }

  /// Input 29: plain-text input with empty and whitespace-only lines: one output line per
  /// input line, an empty one for each, in text and JSON output.
  func testTextInputWithEmptyLines() throws {
    let model = try sharedModel()
    let input = "show me flights\n\n \t \nto boston\n"
    let text = try trellis(["tag", "--model", model, "--input", "text"], stdin: input)
    assertSucceeded(text)
    let lines = text.output.split(separator: "\n", omittingEmptySubsequences: false)
    XCTAssertEqual(lines.count, 5, text.output)
    XCTAssertEqual(Array(lines[1...2]) + [lines[4]], ["", "", ""], text.output)
    XCTAssertEqual(
      lines[0].split(separator: " ").map { $0.split(separator: "/")[0] }, ["show", "me", "flights"])
    XCTAssertEqual(
      lines[3].split(separator: " ").map { $0.split(separator: "/")[0] }, ["to", "boston"])
    let labels = try trainingLabels()
    for pair in (lines[0] + " " + lines[3]).split(separator: " ") {
      XCTAssertTrue(labels.contains(String(pair.split(separator: "/")[1])), "\(pair)")
    }
    let json = try trellis(
      ["tag", "--model", model, "--input", "text", "--format", "json"], stdin: input)
    assertSucceeded(json)
    let objects = json.output.split(separator: "\n")
    XCTAssertEqual(objects.count, 4, json.output)
    XCTAssertEqual(objects[1], #"{"labels":[],"spans":[],"tokens":[]}"#)
    XCTAssertEqual(objects[2], objects[1])
  }

  /// Trains a small model on `file` long enough, without dropout, to reproduce its labels.
  func trainUntilItFits(_ file: String, model: String, line: UInt = #line) throws {
    assertSucceeded(
      try trellis([
        "train", "--train", file, "--model", model, "--epochs", "100", "--embedding-size", "8",
        "--hidden-size", "8",
        "--dropout", "0", "--unknown-replacement", "0", "--learning-rate", "0.05", "--patience",
        "0", "--quiet",
      ]), line: line)
  }

  /// A model file's header without its provenance (as sorted JSON) and its parameter bytes.
  func withoutProvenance(_ model: Data) throws -> Data {
    let bytes = [UInt8](model)
    let headerLength =
      Int(bytes[12]) | Int(bytes[13]) << 8 | Int(bytes[14]) << 16 | Int(bytes[15]) << 24
    var header = try XCTUnwrap(
      JSONSerialization.jsonObject(with: Data(bytes[16..<(16 + headerLength)])) as? [String: Any])
    header["provenance"] = nil
    return try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
      + Data(bytes[(16 + headerLength)..<(bytes.count - 4)])
  }
}
