import Foundation
import Trellis
import XCTest

/// `trellis info` shows a model's provenance; the checkpoint is gone after a normal run.
final class InfoTests: CLITestCase {
  func testInfoJSONHasEveryProvenanceFieldAndTheTrainingFilesDigest() throws {
    let model = try trainModel(options: ["--note", "ticket 42"])
    let result = try trellis(["info", "--json", model])
    assertSucceeded(result)
    let report = try XCTUnwrap(
      JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any])
    XCTAssertEqual(report["format_version"] as? Int ?? report["formatVersion"] as? Int, 2)
    let provenance = try XCTUnwrap(report["provenance"] as? [String: Any])
    XCTAssertEqual(provenance["trellisVersion"] as? String, trellisVersion)
    XCTAssertEqual(provenance["note"] as? String, "ticket 42")
    let recipe = try XCTUnwrap(provenance["recipe"] as? [String: Any])
    XCTAssertEqual((recipe["options"] as? [String: Any])?["seed"] as? Int, 1)
    let training = try XCTUnwrap(provenance["training"] as? [String: Any])
    XCTAssertEqual(training["epochsRun"] as? Int, 2)
    XCTAssertEqual((training["devF1History"] as? [Double])?.count, 2)
    XCTAssertNotNil((training["dev"] as? [String: Any])?["f1"] as? Double)
    let inputs = try XCTUnwrap(provenance["inputs"] as? [[String: Any]])
    XCTAssertEqual(inputs.map { $0["role"] as? String }, ["train", "dev"])
    XCTAssertEqual(inputs[0]["sha256"] as? String, try sha256sum(PackagePaths.tiny("train")))
    XCTAssertEqual(inputs[0]["sentences"] as? Int, 40)
    XCTAssertEqual(report["labels"] as? [String] != nil, true)
    XCTAssertGreaterThan(report["parameters"] as? Int ?? 0, 0)
  }

  /// `info --config` prints the recipe as a `--config` file that retrains the model byte for
  /// byte: `info --json`'s recipe had the detected scheme, which a configuration file may not
  /// give, and no note (kept beside it).
  func testInfoConfigRetrainsTheSameModel() throws {
    let model = try trainModel(options: ["--note", "ticket 42", "--dropout", "0.25"])
    let config = try trellis(["info", "--config", model])
    assertSucceeded(config)
    let file = try write(config.output, to: "recipe.json")
    assertSucceeded(try trellis(["train", "--config", file, "--model", path("again"), "--quiet"]))
    XCTAssertEqual(
      FileManager.default.contents(atPath: path("again")),
      FileManager.default.contents(atPath: model))
    assertFailed(
      try trellis(["info", "--config", "--json", model]), mentioning: ["--json or --config"])
  }

  /// Training reads each file once and records the digest of what it read: from a pipe, which
  /// can be read only once, the provenance once named 0 bytes and the empty file's SHA-256. A
  /// model, whose header is checked against the file's size, is refused from a pipe.
  func testAPipedCorpusIsReadOnceAndAPipedModelIsRefused() throws {
    let corpus = try contents(of: PackagePaths.tiny("train"))
    let model = path("piped.model")
    assertSucceeded(
      try trellis(
        ["train", "--train", "/dev/stdin", "--model", model, "--epochs", "1", "--quiet"]
          + Self.smallModelOptions, stdin: corpus))
    let report = try XCTUnwrap(
      JSONSerialization.jsonObject(with: Data(try trellis(["info", "--json", model]).output.utf8))
        as? [String: Any])
    let provenance = try XCTUnwrap(report["provenance"] as? [String: Any])
    let inputs = try XCTUnwrap(provenance["inputs"] as? [[String: Any]])
    XCTAssertEqual(inputs.first?["bytes"] as? Int, corpus.utf8.count)
    XCTAssertEqual(inputs.first?["sha256"] as? String, try sha256sum(PackagePaths.tiny("train")))
    let piped = try runTrellis(
      ["tag", "--model", "/dev/stdin", PackagePaths.tiny("test")],
      stdin: try Data(contentsOf: URL(fileURLWithPath: model)))
    assertFailed(piped, mentioning: ["is a pipe or device, not a model file"])
  }

  /// The size shown is the model file's, through a symbolic link: once it was the link's own
  /// length (`lstat`), the few bytes of the name it points to.
  func testInfoThroughASymbolicLinkShowsTheModelFilesSize() throws {
    let model = try trainModel()
    let link = path("link.model")
    try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: model)
    let size = try XCTUnwrap(
      FileManager.default.attributesOfItem(atPath: model)[.size] as? Int)
    let json = try XCTUnwrap(
      JSONSerialization.jsonObject(with: Data(try trellis(["info", "--json", link]).output.utf8))
        as? [String: Any])
    XCTAssertEqual(json["fileBytes"] as? Int, size)
    let text = try trellis(["info", link])
    XCTAssertTrue(text.output.contains("(\(size) bytes, format"), text.output)
  }

  func testTextInfoAndVersion() throws {
    let model = try trainModel()
    let text = try trellis(["info", model])
    assertSucceeded(text)
    for field in ["parameters", "labels", "trellis", "training    seed 1", "sha256", "dev FB1"] {
      XCTAssertTrue(text.output.contains(field), "info lacks \(field):\n\(text.output)")
    }
    // Every setting of the recipe, as --json has it: each member, by its key, with its value.
    let json = try XCTUnwrap(
      JSONSerialization.jsonObject(with: Data(try trellis(["info", "--json", model]).output.utf8))
        as? [String: Any])
    let recipe = try XCTUnwrap((json["provenance"] as? [String: Any])?["recipe"] as? [String: Any])
    let shown = text.output.replacingOccurrences(of: "\n            ", with: " ")
    for part in ["data", "configuration", "options"] {
      for (key, value) in try XCTUnwrap(recipe[part] as? [String: Any]) {
        let literal = String(
          decoding: try JSONSerialization.data(
            withJSONObject: value,
            options: [.sortedKeys, .fragmentsAllowed, .withoutEscapingSlashes]), as: UTF8.self)
        XCTAssertTrue(shown.contains("\(key) \(literal)"), "info lacks \(part).\(key) \(literal)")
      }
    }
    let version = try trellis(["--version"])
    assertSucceeded(version)
    XCTAssertTrue(version.output.hasPrefix(trellisVersion), version.output)
  }

  func testCheckpointIsRemovedUnlessKept() throws {
    let model = try trainModel("a")
    XCTAssertFalse(FileManager.default.fileExists(atPath: model + ".checkpoint"))
    let kept = try trainModel("b", options: ["--keep-checkpoint"])
    XCTAssertTrue(FileManager.default.fileExists(atPath: kept + ".checkpoint"))
  }

  private func sha256sum(_ path: String) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
    process.arguments = [path]
    let pipe = Pipe()
    process.standardOutput = pipe
    try process.run()
    process.waitUntilExit()
    return String(
      String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).prefix(64))
  }
}
