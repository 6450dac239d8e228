import Foundation
import XCTest

/// Bad input, bad models and bad options end in `Error: …` on stderr and a non-zero exit.
final class ErrorTests: CLITestCase {
  func testWrongColumnCountNamesFileAndLine() throws {
    // Line 5 has three columns, or one, where line 1 set two.
    for badLine in ["boston\tB-toloc.city_name\textra", "boston"] {
      let training = try write("i\tO\nfly\tO\n\nto\tO\n\(badLine)\n\n", to: "bad.conll")
      let result = try trellis(
        ["train", "--train", training, "--model", path("model")] + Self.smallModelOptions)
      assertFailed(result, mentioning: ["\(training):5:", "columns"])
      XCTAssertFalse(
        FileManager.default.fileExists(atPath: path("model")), "a model was written from bad data")
    }
  }

  func testEmptyTrainingFile() throws {
    for (name, text) in [("empty.conll", ""), ("blank.conll", "\n\n")] {
      let training = try write(text, to: name)
      let result = try trellis(
        ["train", "--train", training, "--model", path("model")] + Self.smallModelOptions)
      assertFailed(result, mentioning: [training, "no sentences"])
    }
  }

  /// An empty path is a usage error naming its option or argument: `--train ''` was "--train
  /// is required", `--dev ''`, `info ''` and the rest "Error: : no such file", and `bench
  /// --corpus ''` looked for /train.conll.
  func testEmptyPathsNameTheirOption() throws {
    let (model, test) = (try sharedModel(), PackagePaths.tiny("test"))
    let train = ["train", "--model", path("m")] + Self.smallModelOptions
    for (arguments, named) in [
      (train + ["--train", ""], "--train"),
      (train + ["--train", PackagePaths.tiny("train"), "--dev", ""], "--dev"),
      (train + ["--train", PackagePaths.tiny("train"), "--embeddings", ""], "--embeddings"),
      (["tag", "--model", model, ""], "FILE"), (["tag", "--model", "", test], "--model"),
      (["eval", "--model", model, "--test", ""], "--test"), (["score", ""], "FILE"),
      (["info", ""], "MODEL"), (["bench", "--model", model, "--test", ""], "--test"),
      (train + ["--train", PackagePaths.tiny("train"), "--config", ""], "--config"),
      (["bench", "--corpus", ""], "--corpus"),
      (train + ["--config", try write(#"{"data": {"train": ""}}"#, to: "c.json")], "'data.train'"),
    ] {
      let result = try trellis(arguments)
      assertFailed(result, mentioning: ["\(named) is empty; it takes a file's path"])
      XCTAssertEqual(result.exitCode, 64, result.summary)
    }
  }

  func testTagWithMissingModelFile() throws {
    let missing = path("no-such-model")
    assertFailed(
      try trellis(["tag", "--model", missing, PackagePaths.tiny("test")]), mentioning: [missing])
  }

  /// A file name's control characters are written as escapes in errors and notes: a line feed
  /// in one split an error in two, its second line starting as the name went on ("Error:
  /// spoofed"), and an escape sequence reached the terminal.
  func testControlCharactersInFileNamesAreEscaped() throws {
    let name = path("m\nError: spoofed\u{1B}[31m")
    for (arguments, expected) in [
      (["info", name], "Error: \(path("m"))\\u{A}Error: spoofed\\u{1B}[31m: "),
      (["tag", "--model", name], "Error: \(path("m"))\\u{A}Error: spoofed\\u{1B}[31m: "),
    ] {
      let result = try trellis(arguments)
      assertFailed(result, mentioning: [expected])
      XCTAssertEqual(
        result.stderr.split(separator: "\n").filter { $0.hasPrefix("Error:") }.count, 1,
        result.stderr)
      XCTAssertFalse(result.stderr.contains("\u{1B}"), result.stderr)
    }
    // `score`'s errors about a line, which the conlleval scorer gives.
    try "a O O\nb O\n".write(toFile: name, atomically: false, encoding: .utf8)
    let scored = try trellis(["score", name])
    assertFailed(scored, mentioning: ["\(path("m"))\\u{A}Error: spoofed\\u{1B}[31m:2: expected 3"])
    XCTAssertFalse(scored.stderr.contains("\u{1B}"), scored.stderr)
    try FileManager.default.removeItem(atPath: name)
    // A name inside the message: an output's missing directory.
    let missing = path("d\nError: spoofed\u{1B}[31m") + "/m.model"
    let train = try trellis(["train", "--train", PackagePaths.tiny("train"), "--model", missing])
    assertFailed(train, mentioning: ["d\\u{A}Error: spoofed\\u{1B}[31m is missing or not writable"])
    XCTAssertFalse(train.stderr.contains("\u{1B}") || train.stderr.contains("\nError: spoofed"))
    // And in a note: `wrote NAME` split in two at the name's line feed.
    let trained = try trellis(
      ["train", "--train", PackagePaths.tiny("train"), "--model", name] + Self.smallModelOptions)
    assertSucceeded(trained)
    XCTAssertTrue(
      trained.stderr.contains("wrote \(path("m"))\\u{A}Error: spoofed\\u{1B}[31m ("),
      trained.stderr)
    XCTAssertFalse(trained.stderr.contains("\nError: spoofed"), trained.stderr)
  }

  /// An argument that is not valid UTF-8 (a path in Latin-1, of a file that is there) is a
  /// usage error naming it, before any work: `CommandLine.arguments` put U+FFFD in place of its
  /// byte, and the model was reported missing under that other name.
  func testAnArgumentThatIsNotUTF8IsAUsageErrorNamingIt() throws {
    let result = try trellisInShell(
      #"model="$2/latin1-$(printf '\351').model"; cp "$1" "$model" && "$0" tag --model "$model" "$3""#,
      [try sharedModel(), directory.path, PackagePaths.tiny("test")])
    XCTAssertEqual(result.status, 64, result.stderr)
    XCTAssertTrue(
      result.stderr.hasPrefix(
        #"Error: argument 3 ("\#(directory.path)/latin1-\xE9.model", after --model) is not "#
          + "valid UTF-8 (each invalid byte shown as \\xHH)"),
      result.stderr)
  }

  func testTruncatedModelFile() throws {
    let model = try Data(contentsOf: URL(fileURLWithPath: try sharedModel()))
    for length in [100, model.count - 1] {
      let truncated = path("truncated-\(length)")
      try model.prefix(length).write(to: URL(fileURLWithPath: truncated))
      let result = try trellis(["tag", "--model", truncated, PackagePaths.tiny("test")])
      assertFailed(result, mentioning: [truncated, "truncated"])
    }
  }

  func testFileThatIsNotAModel() throws {
    let notAModel = PackagePaths.tiny("test")
    let result = try trellis(["tag", "--model", notAModel, PackagePaths.tiny("test")])
    assertFailed(result, mentioning: [notAModel, "not a Trellis model file"])
    let empty = path("empty.model")
    XCTAssertTrue(FileManager.default.createFile(atPath: empty, contents: Data()))
    assertFailed(
      try trellis(["tag", "--model", empty, PackagePaths.tiny("test")]),
      mentioning: [empty, "is empty (0 bytes), not a model"])
  }

  func testUnknownHeadIsAUsageError() throws {
    let result = try trellis(
      ["train", "--train", PackagePaths.tiny("train"), "--model", path("model"), "--head", "bogus"])
    assertFailed(result, mentioning: ["'bogus'", "--head", "Usage: trellis train"])
    XCTAssertEqual(result.exitCode, 64, "a usage error exits with EX_USAGE; \(result.summary)")
    XCTAssertFalse(FileManager.default.fileExists(atPath: path("model")))
  }

  func testTagADirectory() throws {
    let model = try sharedModel()
    let corpora = PackagePaths.root.appendingPathComponent("Corpora/tiny").path
    let directoryAsInput = try trellis(["tag", "--model", model, corpora])
    assertFailed(directoryAsInput, mentioning: [corpora, "directory"])
    let directoryAsModel = try trellis(["tag", "--model", corpora, PackagePaths.tiny("test")])
    assertFailed(directoryAsModel, mentioning: [corpora, "directory"])
  }
}
