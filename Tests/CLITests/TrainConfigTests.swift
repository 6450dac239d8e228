import Foundation
import Trellis
import XCTest

/// One source of truth for training settings: the library's `TrainingRecipe` owns the defaults,
/// the CLI's help shows them, and a configuration file reproduces a run byte for byte.
final class TrainConfigTests: CLITestCase {
  func testPrintConfigShowsTheLibraryDefaults() throws {
    let train = PackagePaths.tiny("train")
    let printed = try trellis(["train", "--train", train, "--print-config"])
    assertSucceeded(printed)
    var expected = TrainingRecipe()
    expected.data.train = train
    XCTAssertEqual(printed.output, expected.json() + "\n")
  }

  /// Every "(default: X)" in `train --help`, passed explicitly as `--option X`, leaves the
  /// effective configuration unchanged: the help and the library agree on every default.
  func testEveryHelpDefaultIsTheEffectiveDefault() throws {
    let base = ["train", "--train", PackagePaths.tiny("train"), "--print-config"]
    let defaults = try trellis(base)
    assertSucceeded(defaults)
    let help = try trellis(["train", "--help"])
    let entries = help.output.components(separatedBy: "\n  --").dropFirst().map {
      $0.split(whereSeparator: \.isWhitespace).joined(separator: " ")
    }
    var checked = 0
    for entry in entries {
      let names = entry.prefix { $0 != " " }
      guard let match = entry.range(of: #"\(default: [^) ]+\)"#, options: .regularExpression) else {
        continue
      }
      let value = entry[match].dropFirst("(default: ".count).dropLast()
      let arguments: [String]
      if names.contains("/--no-") {
        let forms = names.split(separator: "/")  // ["keep-case", "--no-keep-case"]
        arguments = [value == "true" ? "--" + forms[0] : String(forms[1])]
      } else {
        arguments = ["--" + names, String(value)]
      }
      let explicit = try trellis(base + arguments)
      assertSucceeded(explicit)
      XCTAssertEqual(
        explicit.output, defaults.output,
        "help says \(names) defaults to \(value), the library disagrees")
      checked += 1
    }
    XCTAssertGreaterThanOrEqual(checked, 20, "too few defaults found in:\n\(help.output)")
  }

  func testConfigFileReproducesTheRunByteForByte() throws {
    let flags = [
      "--train", PackagePaths.tiny("train"), "--dev", PackagePaths.tiny("dev"), "--seed", "5",
      "--hidden-size", "8",
      "--embedding-size", "8", "--epochs", "2", "--head", "ssvm", "--character-filters", "4",
    ]
    let direct = path("direct.model")
    let fromFile = path("file.model")
    assertSucceeded(try trellis(["train"] + flags + ["--model", direct, "--quiet"]))
    let printed = try trellis(["train"] + flags + ["--print-config"])
    assertSucceeded(printed)
    let config = try write(printed.output, to: "run.json")
    assertSucceeded(try trellis(["train", "--config", config, "--model", fromFile, "--quiet"]))
    XCTAssertEqual(
      try Data(contentsOf: URL(fileURLWithPath: direct)),
      try Data(contentsOf: URL(fileURLWithPath: fromFile)))
    // A flag overrides the file.
    let overridden = try trellis(["train", "--config", config, "--seed", "9", "--print-config"])
    let recipe = try JSONDecoder().decode(TrainingRecipe.self, from: Data(overridden.output.utf8))
    XCTAssertEqual(recipe.options.seed, 9)
    XCTAssertEqual(recipe.configuration.head, .ssvm)
  }

  func testConfigFileErrorsNameTheFileAndTheField() throws {
    let misspelt = try write(#"{"configuration": {"hiden_size": 8}}"#, to: "misspelt.json")
    assertFailed(
      try trellis(["train", "--config", misspelt, "--model", path("m")]),
      mentioning: ["\(misspelt): has no option 'configuration.hiden_size'"])
    let wrongType = try write(#"{"options": {"epochs": "many"}}"#, to: "type.json")
    assertFailed(
      try trellis(["train", "--config", wrongType, "--model", path("m")]),
      mentioning: ["'options.epochs'"])
    let outOfRange = try write(
      #"{"data": {"train": "x"}, "options": {"epochs": 0}}"#, to: "range.json")
    assertFailed(
      try trellis(["train", "--config", outOfRange, "--model", path("m")]),
      mentioning: ["--epochs must be in 1...100000 (got 0)"])
    // Numbers an integer field cannot hold, which JSONDecoder reports as invalid JSON with no
    // field, name the field too.
    for (field, json) in [
      ("options.seed", #"{"options": {"seed": -1}}"#),
      ("options.epochs", #"{"options": {"epochs": 1.5}}"#),
      ("data.tokenColumn", #"{"data": {"tokenColumn": 1e30}}"#),
    ] {
      let file = try write(json, to: "number.json")
      assertFailed(
        try trellis(["train", "--config", file, "--model", path("m")]),
        mentioning: ["\(file): '\(field)': must be a whole number in the option's range"])
    }
  }

  /// `--test` is read only with `--embeddings`, for its words; without, it must still name a
  /// file, so a misspelt path is not silently ignored.
  /// A key given twice would be read as one of its values, and Python's json and jq read the
  /// other: refused, at any depth, with its path.
  func testConfigFileKeysGivenTwiceAreRefused() throws {
    let twice = try write(#"{"options": {"epochs": 5, "seed": 2, "epochs": 1}}"#, to: "twice.json")
    assertFailed(
      try trellis(["train", "--config", twice, "--print-config"]),
      mentioning: ["\(twice): gives 'options.epochs' twice"])
    let once = try write(#"{"options": {"epochs": 5}, "data": {"epochs": null}}"#, to: "once.json")
    assertFailed(
      try trellis(["train", "--config", once, "--print-config"]),
      mentioning: ["has no option 'data.epochs'"])
  }

  func testATestFileThatIsNotThereIsRefused() throws {
    assertFailed(
      try trellis([
        "train", "--train", PackagePaths.tiny("train"), "--test", path("missing.conll"),
        "--model", path("m"),
      ]), mentioning: ["\(path("missing.conll")): no such file"])
    XCTAssertFalse(FileManager.default.fileExists(atPath: path("m")))
  }
}
