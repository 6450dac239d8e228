import Foundation
import Trellis
import XCTest

/// `trellis bench --model`: tagging alone (labels, and JSON lines in-process), with a given
/// model on a given file.
final class BenchTests: CLITestCase {
  func testTaggingOnlyReportsEachRunOnTheTestFile() throws {
    let model = try trainModel()
    let test = PackagePaths.tiny("dev")
    let result = try trellis([
      "bench", "--model", model, "--test", test, "--repetitions", "3", "--batch-size", "8",
      "--json", path("figures.json"),
    ])
    assertSucceeded(result)
    let lines = result.output.split(separator: "\n")
    let figures = try XCTUnwrap(
      JSONSerialization.jsonObject(with: Data(try XCTUnwrap(lines.last).utf8)) as? [String: Any])
    let sentences = try CoNLLReader(path: test).readAll()
    XCTAssertEqual(figures["sentences"] as? Int, sentences.count)
    XCTAssertEqual(figures["tokens"] as? Int, sentences.reduce(0) { $0 + $1.tokens.count })
    XCTAssertEqual(figures["batch_size"] as? Int, 8)
    XCTAssertEqual(figures["test"] as? String, test)
    let runs = try XCTUnwrap(figures["runs"] as? [Double])
    XCTAssertEqual(runs.count, 3)
    XCTAssertTrue(runs.allSatisfy { $0 > 0 }, "\(runs)")
    XCTAssertEqual(figures["median_tokens_per_second"] as? Double, runs.sorted()[1])
    // The same sentences through tagJSONLines, timed as often.
    let jsonLinesRuns = try XCTUnwrap(figures["json_lines_runs"] as? [Double])
    XCTAssertEqual(jsonLinesRuns.count, 3)
    XCTAssertTrue(jsonLinesRuns.allSatisfy { $0 > 0 }, "\(jsonLinesRuns)")
    XCTAssertEqual(
      figures["json_lines_median_tokens_per_second"] as? Double, jsonLinesRuns.sorted()[1])
    XCTAssertTrue(lines.contains { $0.hasPrefix("JSON lines   median ") }, result.output)
    let written = try Data(contentsOf: URL(fileURLWithPath: path("figures.json")))
    XCTAssertEqual(String(decoding: written, as: UTF8.self), String(lines.last!))
  }

  func testTaggingOnlyOptionsAreChecked() throws {
    let model = try trainModel()
    let noModel = try trellis(["bench", "--test", PackagePaths.tiny("dev")])
    assertFailed(noModel, mentioning: ["--test, --batch-size and --token-column apply to --model"])
    XCTAssertEqual(noModel.exitCode, 64)
    let batch = try trellis(["bench", "--model", model, "--batch-size", "0"])
    assertFailed(batch, mentioning: ["--batch-size must be in 1...4096"])
    XCTAssertEqual(batch.exitCode, 64)
    let missing = try trellis(["bench", "--model", path("missing.model")])
    assertFailed(missing, mentioning: [path("missing.model")])
    let unreadable = try trellis(["bench", "--model", model, "--test", path("missing.conll")])
    assertFailed(unreadable, mentioning: [path("missing.conll")])
  }

  /// A model's token and feature columns are read from `--test` as `tag` reads them: bench
  /// read the first column alone, timing a model with feature columns on unknown features
  /// and then failing (exit 1), and one trained on another token column on the wrong words.
  func testTaggingOnlyReadsTheModelsColumns() throws {
    // Column 1 a document number, 2 the token, 3 a feature, 4 the label.
    let lines = try contents(of: PackagePaths.tiny("train")).split(
      separator: "\n", omittingEmptySubsequences: false)
    let text = lines.enumerated().map { index, line -> String in
      guard !line.isEmpty else { return "" }
      let fields = line.split(separator: "\t")
      return "d\(index % 3)\t\(fields[0])\t\(fields[0].count % 2)\t\(fields.last!)"
    }.joined(separator: "\n")
    let corpus = try write(text, to: "columns.conll")
    let sentences = try CoNLLReader(path: corpus).readAll()
    let model = path("columns.model")
    assertSucceeded(
      try trellis(
        [
          "train", "--train", corpus, "--model", model, "--token-column", "2",
          "--feature-column", "3:4", "--quiet",
        ] + Self.smallModelOptions))
    let bench = try trellis([
      "bench", "--model", model, "--test", corpus, "--token-column", "2", "--repetitions", "1",
    ])
    assertSucceeded(bench)
    let figures = try XCTUnwrap(
      JSONSerialization.jsonObject(
        with: Data(try XCTUnwrap(bench.output.split(separator: "\n").last).utf8))
        as? [String: Any])
    XCTAssertEqual(figures["sentences"] as? Int, sentences.count)
    XCTAssertNil(figures["json_lines_runs"], "requests cannot carry the feature column")
    XCTAssertTrue(
      bench.stderr.contains("reads feature columns, which JSON-lines requests cannot carry"),
      bench.stderr)
    XCTAssertFalse(bench.stderr.contains("note: reading with"), bench.stderr)
    // By default the model's token column, noted, as tag reads and notes it.
    let noted = try trellis(["bench", "--model", model, "--test", corpus, "--repetitions", "1"])
    assertSucceeded(noted)
    XCTAssertTrue(
      noted.stderr.contains("note: reading with --token-column 2, as \(model) was trained"),
      noted.stderr)
    let twoColumns = try write("w1\tx\nw2\tx\n", to: "two.conll")
    assertFailed(
      try trellis(["bench", "--model", model, "--test", twoColumns, "--token-column", "2"]),
      mentioning: ["\(twoColumns):1: feature column 3 but the line has 2 columns"])
    let short = try trellis(["bench", "--model", model, "--test", try write("w1\n", to: "o.conll")])
    XCTAssertEqual(short.exitCode, 1, short.summary)
    XCTAssertTrue(
      short.stderr.contains("o.conll:1: the line has 1 column, and \(model) was trained on"),
      short.summary)
    assertFailed(
      try trellis(["bench", "--model", model, "--test", corpus, "--token-column", "3"]),
      mentioning: ["\(model): reads feature column 3, which --token-column 3 names"])
    let unused = try trellis(["bench", "--token-column", "2"])
    assertFailed(unused, mentioning: ["--test, --batch-size and --token-column apply to --model"])
    XCTAssertEqual(unused.exitCode, 64)
  }

  /// `--json` is checked before any measuring: never an input, a device or a directory.
  func testJSONOutputNeverReplacesAnInputOrADevice() throws {
    let model = try trainModel()
    let test = try write(try contents(of: PackagePaths.tiny("dev")), to: "test.conll")
    let before = try contents(of: test)
    for (json, message) in [
      (test, "is also the --test input"), (model, "is also the --model input"),
      ("/dev/null", "is a device or FIFO"), (path(""), "is a directory"),
    ] {
      let result = try trellis(["bench", "--model", model, "--test", test, "--json", json])
      assertFailed(result, mentioning: [message])
      XCTAssertFalse(result.output.contains("tokens/s"), "measured before refusing \(json)")
    }
    XCTAssertEqual(try contents(of: test), before)
    XCTAssertNoThrow(try ModelFile.read(from: model))
  }
}
