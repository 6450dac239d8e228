import Foundation
import Trellis
import XCTest

/// `train --embeddings` from the command line: the coverage report, the vocabulary each scope
/// keeps (seen in the parameter count), --test, --freeze-embeddings, binary files and files of
/// formats Trellis does not read.
final class EmbeddingsOptionTests: CLITestCase {
  static let training = [
    "--epochs", "1", "--embedding-size", "4", "--hidden-size", "4", "--keep-case",
  ]

  /// Training words Show flights to Boston, dev adds Denver, test Atlanta. Vectors are
  /// lowercased: flights matches exactly, Boston, Denver, Atlanta by their lowercase form.
  func corpus() throws -> (flags: [String], vectors: String) {
    let train = try write("Show\tO\nflights\tO\nto\tO\nBoston\tB-city\n", to: "train.conll")
    let dev = try write("flights\tO\nto\tO\nDenver\tB-city\n", to: "dev.conll")
    let test = try write("to\tO\nAtlanta\tB-city\n", to: "test.conll")
    let vectors = try write(
      "flights 1 1 1 1\nboston 2 2 2 2\ndenver 3 3 3 3\natlanta 4 4 4 4\nzzunseen 5 5 5 5\n",
      to: "vectors.txt")
    return (["train", "--train", train, "--dev", dev, "--test", test] + Self.training, vectors)
  }

  /// Trains into `name` and returns standard error and the parameter count it reports.
  func train(_ flags: [String], _ name: String) throws -> (stderr: String, parameters: Int) {
    let result = try trellis(flags + ["--model", path(name)])
    assertSucceeded(result)
    let wrote = try XCTUnwrap(result.stderr.split(separator: "\n").last { $0.hasPrefix("wrote ") })
    let parameters = wrote.split(separator: "(")[1].split(separator: " ")[0]
    return (result.stderr, try XCTUnwrap(Int(parameters)))
  }

  /// The roles of the input files the model's provenance lists (`trellis info --json`).
  func inputRoles(_ name: String) throws -> [String?] {
    let info = try trellis(["info", "--json", path(name)])
    assertSucceeded(info)
    let report = try XCTUnwrap(
      JSONSerialization.jsonObject(with: Data(info.output.utf8)) as? [String: Any])
    let inputs = try XCTUnwrap(
      (report["provenance"] as? [String: Any])?["inputs"] as? [[String: Any]])
    return inputs.map { $0["role"] as? String }
  }

  func testCoverageReportAndTheVocabularyEachScopeKeeps() throws {
    let (flags, vectors) = try corpus()
    let withoutTestFile = flags.filter { !$0.hasSuffix("test.conll") && $0 != "--test" }
    // Without vectors --test shapes nothing: left out with a note, and not recorded.
    let plain = try train(flags, "plain.model")
    XCTAssertTrue(
      plain.stderr.contains("note: --test \(path("test.conll")) is left out: it is read only"),
      plain.stderr)
    let data = try train(flags + ["--embeddings", vectors], "data.model")
    XCTAssertTrue(
      data.stderr.contains(
        """
        embeddings: \(vectors): GloVe text, 5 vectors, 4 kept (scope data)
        embeddings: 6 words in the data: 1 exact (16.7%), 3 lowercased (50.0%), 2 missing (33.3%)
        embeddings: 4 rows seeded from vectors; 2 words beyond the training data added

        """), data.stderr)
    XCTAssertEqual(data.parameters - plain.parameters, 2 * 4, "rows for Denver and Atlanta only")
    XCTAssertEqual(try inputRoles("data.model"), ["train", "dev", "test", "embeddings"])
    XCTAssertEqual(try inputRoles("plain.model"), ["train", "dev"])
    let recipe = try trellis(["info", "--config", path("plain.model")])
    XCTAssertFalse(recipe.output.contains("test.conll"), recipe.output)

    let all = try train(
      flags + ["--embeddings", vectors, "--embeddings-scope", "all"], "all.model")
    XCTAssertTrue(all.stderr.contains("5 vectors, 5 kept (scope all)"), all.stderr)
    XCTAssertTrue(
      all.stderr.contains("8 rows seeded from vectors; 6 words beyond the training data"),
      all.stderr)
    XCTAssertEqual(all.parameters - plain.parameters, 6 * 4, "Denver, Atlanta and every file word")

    let withoutTest = try train(withoutTestFile + ["--embeddings", vectors], "no-test.model")
    XCTAssertTrue(
      withoutTest.stderr.contains("embeddings: 5 words in the data: 1 exact (20.0%)"),
      withoutTest.stderr)
    XCTAssertEqual(withoutTest.parameters - plain.parameters, 4, "a row for Denver only")

    let frozen = try train(
      flags + ["--embeddings", vectors, "--freeze-embeddings"], "frozen.model")
    XCTAssertTrue(
      frozen.stderr.contains("4 rows seeded from vectors (frozen); 2 words"), frozen.stderr)
  }

  func testWord2vecBinaryAndFilesOfOtherFormats() throws {
    let (flags, _) = try corpus()
    var binary = Data("2 4\n".utf8)
    for (word, value) in [("flights", Float(0.5)), ("boston", -0.25)] {
      binary.append(contentsOf: Array(word.utf8) + [0x20])
      for _ in 0..<4 {
        withUnsafeBytes(of: value.bitPattern.littleEndian) { binary.append(contentsOf: $0) }
      }
      binary.append(0x0A)
    }
    let vectors = path("vectors.bin")
    try binary.write(to: URL(fileURLWithPath: vectors))
    let read = try train(flags + ["--embeddings", vectors], "binary.model")
    XCTAssertTrue(
      read.stderr.contains("\(vectors): word2vec binary, 2 vectors, 2 kept"), read.stderr)

    let model = path("foreign.model")
    try Data([0xBA, 0x16, 0x4F, 0x2F, 0x0C, 0, 0, 0, 0xFF]).write(to: URL(fileURLWithPath: vectors))
    assertFailed(
      try trellis(flags + ["--embeddings", vectors, "--model", model, "--quiet"]),
      mentioning: [
        "Error: \(vectors): is not a vector file Trellis reads "
          + "(it looks like a fastText model (.bin)"
      ])
    XCTAssertFalse(FileManager.default.fileExists(atPath: model))
  }

  func testTheSettingsTravelInTheConfiguration() throws {
    let (flags, vectors) = try corpus()
    let printed = try trellis(
      flags + [
        "--embeddings", vectors, "--embeddings-scope", "all", "--freeze-embeddings",
        "--print-config",
      ])
    assertSucceeded(printed)
    let recipe = try JSONDecoder().decode(TrainingRecipe.self, from: Data(printed.output.utf8))
    XCTAssertEqual(recipe.data.embeddings, vectors)
    XCTAssertEqual(recipe.data.embeddingsScope, .all)
    XCTAssertEqual(recipe.data.test, path("test.conll"))
    XCTAssertTrue(recipe.options.freezeEmbeddings)
  }

  /// Settings of the pretrained vectors are refused without them, as --log-steps is without
  /// --log, from the command line or a configuration file: they did nothing, and the model
  /// recorded them all the same (freezeEmbeddings true).
  func testVectorSettingsWithoutVectorsAreRefused() throws {
    let train = ["train", "--train", PackagePaths.tiny("train"), "--model", path("m")]
    for (flags, message) in [
      (["--freeze-embeddings"], "--freeze-embeddings needs --embeddings"),
      (["--embeddings-scope", "all"], "--embeddings-scope all needs --embeddings"),
    ] {
      let refused = try trellis(train + flags)
      assertFailed(refused, mentioning: [message])
      XCTAssertEqual(refused.exitCode, 64, refused.summary)
    }
    for (json, field) in [
      (#"{"options": {"freezeEmbeddings": true}}"#, "options.freezeEmbeddings"),
      (#"{"data": {"embeddingsScope": "all"}}"#, "data.embeddingsScope"),
    ] {
      let config = try write(json, to: "run.json")
      assertFailed(
        try trellis(train + ["--config", config]),
        mentioning: ["\(config): '\(field)' needs --embeddings"])
    }
    XCTAssertFalse(FileManager.default.fileExists(atPath: path("m")))
  }
}
