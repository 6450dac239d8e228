import Foundation
import XCTest

/// The training options that change the model's inputs or labels, from the command line.
final class FeatureOptionTests: CLITestCase {
  /// Character features, pretrained vectors, BIOES training and other columns: each trains,
  /// tags, and is recorded in the model (read back through `tag` output and `eval`).
  func testCharacterFeaturesEmbeddingsSchemeAndColumns() throws {
    let vectors = try write(
      "2 16\nflights " + Array(repeating: "0.1", count: 16).joined(separator: " ")
        + "\nzzunseen " + Array(repeating: "0.2", count: 16).joined(separator: " ") + "\n",
      to: "vectors.txt")
    let model = path("features.model")
    let train = try trellis(
      [
        "train", "--train", PackagePaths.tiny("train"), "--model", model, "--epochs", "2",
        "--embedding-size", "16",
        "--hidden-size", "8", "--character-filters", "6", "--embeddings", vectors, "--scheme",
        "bioes",
      ])
    assertSucceeded(train)
    XCTAssertTrue(train.stderr.contains("2 vectors, 1 kept (scope data)"), train.stderr)
    let seeded = "embeddings: 1 rows seeded from vectors; 0 words beyond"
    XCTAssertTrue(train.stderr.contains(seeded), train.stderr)
    let header = try XCTUnwrap(
      String(
        data: try Data(contentsOf: URL(fileURLWithPath: model)).prefix(4096), encoding: .isoLatin1))
    XCTAssertTrue(header.contains("\"characterFilters\":6"))
    XCTAssertTrue(header.contains("\"trainingScheme\":\"bioes\""))
    let tagged = try tag(PackagePaths.tiny("test"), model: model)
    let labels = tagged.split(separator: "\n").map { String($0.split(separator: "\t").last!) }
    XCTAssertFalse(
      labels.contains { $0.hasPrefix("S-") || $0.hasPrefix("E-") }, "answers in the data's BIO")

    // The same data with the label first and the token second.
    let swapped = try String(contentsOfFile: PackagePaths.tiny("test"), encoding: .utf8)
      .split(separator: "\n", omittingEmptySubsequences: false)
      .map { line in
        line.isEmpty ? "" : line.split(separator: "\t").reversed().joined(separator: "\t")
      }
      .joined(separator: "\n")
    let swappedPath = try write(swapped, to: "swapped.conll")
    let plain = try trellis(["eval", "--model", model, "--test", PackagePaths.tiny("test")])
    let columns = try trellis([
      "eval", "--model", model, "--test", swappedPath, "--token-column", "2", "--label-column", "1",
    ])
    assertSucceeded(columns)
    XCTAssertEqual(columns.output, plain.output)
    let beyond = try trellis([
      "eval", "--model", model, "--test", swappedPath, "--label-column", "3",
    ])
    assertFailed(beyond, mentioning: ["the label column is column 3, but the line has 2 columns"])
  }

  /// `tag` and `eval` read tokens from the model's training column unless told, as they read a
  /// model's feature columns from the model, and say so: `tag` read column 1, the wrong words,
  /// with exit 0 and a note (F1 0.2 where `eval` of the same model and file gave 64.5). A file
  /// without that column is refused, naming the model's column and how to read another.
  func testTagAndEvalReadAModelsOtherTokenColumn() throws {
    // A line number before each token: the tokens in column 2, the labels last.
    let numbered = try String(contentsOfFile: PackagePaths.tiny("train"), encoding: .utf8)
      .split(separator: "\n", omittingEmptySubsequences: false).enumerated()
      .map { number, line in line.isEmpty ? "" : "\(number)\t\(line)" }
      .joined(separator: "\n")
    let data = try write(numbered, to: "numbered.conll")
    let model = path("m")
    assertSucceeded(
      try trellis(
        ["train", "--train", data, "--model", model, "--token-column", "2", "--quiet"]
          + Self.smallModelOptions))
    let tag = ["tag", "--model", model, data]
    let defaultColumn = try trellis(tag)
    assertSucceeded(defaultColumn)
    XCTAssertTrue(
      defaultColumn.stderr.contains("note: reading with --token-column 2, as \(model) was trained"),
      defaultColumn.summary)
    let column2 = try trellis(tag + ["--token-column", "2"])
    assertSucceeded(column2)
    XCTAssertFalse(column2.stderr.contains("note:"), column2.summary)
    XCTAssertEqual(defaultColumn.output, column2.output)
    let column1 = try trellis(tag + ["--token-column", "1"])
    assertSucceeded(column1)
    XCTAssertNotEqual(column1.output, column2.output)
    let tokensAlone = try write("boston\n\n", to: "tokens.conll")
    // After the note of the column taken from the model.
    let short = try trellis(["tag", "--model", model, tokensAlone])
    XCTAssertEqual(short.exitCode, 1, short.summary)
    XCTAssertTrue(
      short.stderr.contains(
        "\nError: \(tokensAlone):1: the line has 1 column, and \(model) was trained on the "
          + "tokens of column 2; give --token-column for this file's (1 for tokens alone)"),
      short.summary)
    assertSucceeded(try trellis(["tag", "--model", model, "--token-column", "1", tokensAlone]))
    // The model's name in the refusal, as every name in an error, with its escapes written.
    let spoof = path("m\u{1B}[31m")
    try FileManager.default.copyItem(atPath: model, toPath: spoof)
    let escaped = try trellis(["tag", "--model", spoof, tokensAlone])
    XCTAssertEqual(escaped.exitCode, 1, escaped.summary)
    XCTAssertFalse(escaped.stderr.contains("\u{1B}"), escaped.summary)
    // Text input's tokens are its lines' only column, whatever column training read.
    for flags in [["--input", "text"], ["--input", "text", "--tokenize"]] {
      let text = try trellis(["tag", "--model", model] + flags, stdin: "flights to boston\n")
      assertSucceeded(text)
      XCTAssertTrue(text.output.hasPrefix("flights/"), text.summary)
      XCTAssertFalse(text.stderr.contains("note:"), text.summary)
    }
    let eval = ["eval", "--model", model, "--test", data]
    let defaulted = try trellis(eval)
    assertSucceeded(defaulted)
    XCTAssertTrue(
      defaulted.stderr.contains("note: reading with --token-column 2, as \(model) was trained"),
      defaulted.summary)
    let given = try trellis(eval + ["--token-column", "2"])
    assertSucceeded(given)
    XCTAssertFalse(given.stderr.contains("note:"), given.summary)
    XCTAssertEqual(defaulted.output, given.output)
  }

  /// A run that diverges stops with an explanation, and the best model so far stays on disk.
  /// Its checkpoint stays too, and the advice to lower the learning rate names it: a run
  /// without --resume refuses it, and resuming repeats the run's settings.
  func testDivergingTrainingStopsAndKeepsTheLastGoodModel() throws {
    let model = path("diverging.model")
    let train = [
      "train", "--train", PackagePaths.tiny("train"), "--model", model, "--epochs", "5",
      "--embedding-size", "8", "--hidden-size", "8", "--optimizer", "sgd", "--quiet",
    ]
    let result = try trellis(train + ["--learning-rate", "1e30", "--clip", "0"])
    XCTAssertFalse(result.crashed, result.summary)
    XCTAssertNotEqual(result.exitCode, 0, result.summary)
    XCTAssertTrue(result.stderr.contains("non-finite"), result.summary)
    if FileManager.default.fileExists(atPath: model) {
      assertSucceeded(try trellis(["tag", "--model", model, PackagePaths.tiny("test")]))
    }
    let checkpoint = model + ".checkpoint"
    if FileManager.default.fileExists(atPath: checkpoint) {
      XCTAssertTrue(
        result.stderr.contains(
          "; \(checkpoint) keeps the run as of its last good epoch, with these settings: remove "
            + "it to train afresh"), result.summary)
      try FileManager.default.removeItem(atPath: checkpoint)
      assertSucceeded(try trellis(train + ["--learning-rate", "0.1"]))
    }
  }
}
