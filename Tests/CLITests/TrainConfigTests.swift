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
    XCTAssertEqual(printed.output, try expected.json() + "\n")
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
      // The note is in the model's bytes too (it was left out of the printed configuration).
      "--note", "ticket 42",
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
    let overridden = try trellis([
      "train", "--config", config, "--seed", "9", "--note", "ticket 43", "--print-config",
    ])
    let recipe = try JSONDecoder().decode(TrainingRecipe.self, from: Data(overridden.output.utf8))
    XCTAssertEqual(recipe.options.seed, 9)
    XCTAssertEqual(recipe.note, "ticket 43")
    XCTAssertEqual(recipe.configuration.head, .ssvm)
  }

  /// A configuration on a pipe (`--config <(jq … run.json)`) can be read only once.
  func testConfigFileOnAPipeIsReadOnce() throws {
    let printed = try trellis([
      "train", "--train", PackagePaths.tiny("train"), "--seed", "7", "--print-config",
    ])
    assertSucceeded(printed)
    let again = try trellis(
      ["train", "--config", "/dev/stdin", "--print-config"], stdin: printed.output)
    assertSucceeded(again)
    XCTAssertEqual(again.output, printed.output)
    // Read in bounded memory, whatever the path gives.
    assertFailed(
      try trellis(["train", "--config", "/dev/zero", "--print-config"]),
      mentioning: ["/dev/zero: holds more than \(TrainingRecipe.fileByteLimit) bytes"])
  }

  func testConfigFileErrorsNameTheFileAndTheField() throws {
    let misspelt = try write(#"{"configuration": {"hiden_size": 8}}"#, to: "misspelt.json")
    assertFailed(
      try trellis(["train", "--config", misspelt, "--model", path("m")]),
      mentioning: ["\(misspelt): has no option 'configuration.hiden_size'"])
    // A value of the wrong type, or a name that is no choice, says what the field takes
    // (JSONDecoder's "Expected to decode Int but found a string instead", and "Cannot
    // initialize EncoderKind from invalid String value BILSTM", named Swift types), and is a
    // usage error as the same value of a flag is (`true` ended with status 1, `1.5` with 64).
    for (json, message) in [
      (#"{"options": {"epochs": "many"}}"#, "'options.epochs' must be a whole number"),
      (#"{"options": {"epochs": true}}"#, "'options.epochs' must be a whole number"),
      (#"{"configuration": {"headOptions": 3}}"#, "'configuration.headOptions' must be an object"),
      (
        #"{"configuration": {"encoder": "BILSTM"}}"#,
        #"'configuration.encoder' must be one of "bilstm", "lstm", "birnn", "rnn", "bigru", "gru" (got "BILSTM")"#
      ),
      (
        #"{"options": {"optimizer": "adamw"}}"#,
        #"'options.optimizer' must be one of "adam", "nadam", "sgd" (got "adamw")"#
      ),
    ] {
      let file = try write(json, to: "type.json")
      let result = try trellis(["train", "--config", file, "--model", path("m")])
      assertFailed(result, mentioning: ["Error: \(file): " + message + "\n"])
      XCTAssertEqual(result.exitCode, 64, result.summary)
    }
    // A value out of its range is named as the file names it (it was named as the flag the
    // command did not give); a usage error all the same, as from a flag.
    for (field, json) in [
      ("options.epochs", #""options": {"epochs": 0}"#),
      ("options.clipNorm", #""options": {"clipNorm": -1}"#),
      ("configuration.hiddenSize", #""configuration": {"hiddenSize": 0}"#),
      (
        "configuration.headOptions.costWeight",
        #""configuration": {"headOptions": {"costWeight": -1}}"#
      ),
      (
        "configuration.featureColumns[1].size",
        #""configuration": {"featureColumns": [{"column": 2}, {"column": 3, "size": 0}]}"#
      ),
      ("data.tokenColumn", #""data": {"tokenColumn": 0}"#),
    ] {
      let file = try write("{" + json + "}", to: "range.json")
      let result = try trellis(["train", "--config", file, "--train", "x", "--model", path("m")])
      assertFailed(result, mentioning: ["Error: \(file): '\(field)' must be"])
      XCTAssertEqual(result.exitCode, 64, result.summary)
    }
    // A flag's value is named as the flag, over the file's.
    let range = try write(
      #"{"data": {"train": "x"}, "configuration": {"hiddenSize": 0}}"#, to: "range.json")
    let flag = try trellis([
      "train", "--config", range, "--hidden-size", "5000", "--model", path("m"),
    ])
    // With train's usage line, as a parse error has (it came with `trellis <subcommand>`'s).
    assertFailed(
      flag,
      mentioning: [
        "Error: --hidden-size must be in 1...4096 (got 5000)\nUsage: trellis train <options>"
      ])
    XCTAssertEqual(flag.exitCode, 64, flag.summary)
    // A number beyond a Double's range, one below it (read as 0), and a null, which read as
    // the default, are refused at their field (the first was "is not a JSON object"), as
    // usage errors.
    for (json, message) in [
      (#"{"options": {"dropout": 1e400}}"#, "'options.dropout' is out of range (got 1e400, beyond"),
      (
        #"{"options": {"dropout": 1e-400}}"#, "'options.dropout' is out of range (got 1e-400, below"
      ),
      (#"{"options": {"dropout": -0.5e-400}}"#, "'options.dropout' is out of range (got -0.5e-400"),
      (#"{"options": {"epochs": null}}"#, "'options.epochs' is null"),
      (#"{"data": {"dev": null}}"#, "'data.dev' is null"),
    ] {
      let file = try write(json, to: "value.json")
      let result = try trellis(["train", "--config", file, "--train", "x", "--print-config"])
      assertFailed(result, mentioning: ["Error: \(file): \(message)"])
      XCTAssertEqual(result.exitCode, 64, result.summary)
    }
    // Numbers an integer field cannot hold, which JSONDecoder reports as invalid JSON with no
    // field, name the field too, and are usage errors (64) as a value out of the option's
    // range within the type is (they ended with status 1).
    for (field, json) in [
      ("options.seed", #"{"options": {"seed": -1}}"#),
      ("options.epochs", #"{"options": {"epochs": 1.5}}"#),
      ("options.epochs", #"{"options": {"epochs": 1e20}}"#),
      ("options.epochs", #"{"options": {"epochs": 9223372036854775808}}"#),
      // −2⁶³ − 1, which a Double rounds to Int.min (it ended with status 1, naming no field).
      ("options.epochs", #"{"options": {"epochs": -9223372036854775809}}"#),
      ("data.tokenColumn", #"{"data": {"tokenColumn": 1e30}}"#),
    ] {
      let file = try write(json, to: "number.json")
      let result = try trellis(["train", "--config", file, "--model", path("m")])
      assertFailed(
        result, mentioning: ["\(file): '\(field)' must be a whole number in the option's range"])
      XCTAssertEqual(result.exitCode, 64, result.summary)
    }
    // A NUL ends the name open(2) reads: "train.conll\u0000x" trained on train.conll, and the
    // model's provenance named the other.
    for field in ["train", "dev", "test", "embeddings"] {
      let train = field == "train" ? "" : #""train": "t.conll", "#
      let file = try write(
        #"{"data": {\#(train)"\#(field)": "t.conll\u0000x"}}"#, to: "nul.json")
      let result = try trellis(["train", "--config", file, "--model", path("m")])
      assertFailed(
        result,
        mentioning: ["\(file): 'data.\(field)' names a path with a NUL character"])
      XCTAssertEqual(result.exitCode, 64, result.summary)
    }
  }

  /// The data's tag scheme is detected, not set: a configuration file that gives it is refused
  /// at the field (it was ignored, silently), and each record of a run says the scheme its data
  /// was read in and the one it trained in (they said "bio" for IOB1 data): the log's first
  /// line, the model's recipe, `info`; `--print-config`, which reads no data, only the latter.
  func testTheDataSchemeIsDetectedAndRecordedNeverSet() throws {
    let given = try write(
      #"{"data": {"train": "x"}, "configuration": {"scheme": "bioes"}}"#, to: "scheme.json")
    assertFailed(
      try trellis(["train", "--config", given, "--model", path("m")]),
      mentioning: [
        "\(given): 'configuration.scheme' is the scheme of the training data's labels",
        "give 'configuration.trainingScheme' (--scheme)",
      ])
    let stored = try write(#"{"configuration": {"detectedScheme": "bio"}}"#, to: "stored.json")
    assertFailed(
      try trellis(["train", "--config", stored, "--print-config"]),
      mentioning: ["has no option 'configuration.detectedScheme'"])
    let iob1 = try writeIOB1Corpus()
    let flags = ["train", "--train", iob1, "--scheme", "bioes"] + Self.smallModelOptions
    let printed = try trellis(flags + ["--print-config"])
    assertSucceeded(printed)
    let printedConfiguration = try XCTUnwrap(
      (JSONSerialization.jsonObject(with: printed.stdout) as? [String: Any])?["configuration"]
        as? [String: Any])
    XCTAssertNil(printedConfiguration["scheme"], printed.output)
    XCTAssertEqual(printedConfiguration["trainingScheme"] as? String, "bioes")

    let (model, log) = (path("iob1.model"), path("run.jsonl"))
    assertSucceeded(try trellis(flags + ["--model", model, "--log", log, "--quiet"]))
    let header = try JSONSerialization.jsonObject(
      with: Data(try contents(of: log).prefix { $0 != "\n" }.utf8))
    let logged = try XCTUnwrap(
      ((header as? [String: Any])?["recipe"] as? [String: Any])?["configuration"]
        as? [String: Any])
    XCTAssertEqual(logged["scheme"] as? String, "iob1")
    XCTAssertEqual(logged["training_scheme"] as? String, "bioes")
    let info = try trellis(["info", "--json", model])
    let record = try XCTUnwrap(JSONSerialization.jsonObject(with: info.stdout) as? [String: Any])
    let recipe = try XCTUnwrap(
      ((record["provenance"] as? [String: Any])?["recipe"] as? [String: Any])?["configuration"]
        as? [String: Any])
    for configuration in [try XCTUnwrap(record["configuration"] as? [String: Any]), recipe] {
      XCTAssertEqual(configuration["scheme"] as? String, "iob1")
      XCTAssertEqual(configuration["trainingScheme"] as? String, "bioes")
    }
    let text = try trellis(["info", model]).output
    XCTAssertTrue(text.contains("scheme      iob1 (trained in bioes)"), text)
    XCTAssertTrue(text.contains(#"scheme "iob1", trainingScheme "bioes""#), text)
    // What --print-config printed still repeats the run, byte for byte.
    let fromFile = path("file.model")
    let config = try write(printed.output, to: "run.json")
    assertSucceeded(try trellis(["train", "--config", config, "--model", fromFile, "--quiet"]))
    XCTAssertEqual(
      try Data(contentsOf: URL(fileURLWithPath: fromFile)),
      try Data(contentsOf: URL(fileURLWithPath: model)))
  }

  /// `--test` is read only with `--embeddings`, for its words; without, it must still name a
  /// file, so a misspelt path is not silently ignored.
  /// A key given twice would be read as one of its values, and Python's json and jq read the
  /// other: refused, at any depth, with its path.
  /// A setting away from its default that acts on something the run does not have would do
  /// nothing, silently (the model's recipe recording it all the same): it is a usage error,
  /// from a flag or from the file, and the same setting where it acts trains.
  /// The tiny training corpus with its labels in IOB1, as "iob1.conll".
  private func writeIOB1Corpus() throws -> String {
    let sentences = try contents(of: PackagePaths.tiny("train")).split(separator: "\n\n")
    return try write(
      sentences.map { sentence in
        let rows = conllRows(String(sentence))
        let labels = convert(rows.map { $0[1] }, from: .bio, to: .iob1)
        return zip(rows, labels).map { "\($0[0])\t\($1)\n" }.joined()
      }.joined(separator: "\n"), to: "iob1.conll")
  }

  /// IOB1 data (CoNLL-2003's original scheme) trains in BIO unless --scheme says otherwise,
  /// and its predictions come back in IOB1.
  func testIOB1DataTrainsInBIOUnlessAnotherSchemeIsChosen() throws {
    let iob1 = try writeIOB1Corpus()
    for (scheme, trainedIn) in [(nil, "bio"), ("iob1", "iob1")] {
      let model = path("\(trainedIn).model")
      assertSucceeded(
        try trellis(
          ["train", "--train", iob1, "--model", model, "--quiet"] + Self.smallModelOptions
            + (scheme.map { ["--scheme", $0] } ?? [])))
      let info = try trellis(["info", "--json", model])
      let record = try XCTUnwrap(JSONSerialization.jsonObject(with: info.stdout) as? [String: Any])
      let configuration = try XCTUnwrap(record["configuration"] as? [String: Any])
      XCTAssertEqual(configuration["scheme"] as? String, "iob1")
      XCTAssertEqual(configuration["trainingScheme"] as? String, trainedIn)
      let tagged = try trellis(["tag", "--model", model, iob1])
      assertSucceeded(tagged)
      let labels = tagged.output.split(separator: "\n\n").map { sentence in
        conllRows(String(sentence)).map { $0.last! }
      }
      XCTAssertFalse(labels.joined().isEmpty)
      for sentence in labels {
        XCTAssertEqual(invalidTransitionCount(sentence, scheme: .iob1), 0, "\(sentence)")
      }
    }
  }

  func testSettingsThatWouldDoNothingAreRefused() throws {
    let train = ["train", "--train", PackagePaths.tiny("train"), "--model", path("m")]
    for (flags, message) in [
      (["--cost-weight", "2"], "--cost-weight acts on the SSVM head alone"),
      (["--l2", "0.01", "--head", "perceptron"], "--l2 acts on the SSVM head alone"),
      (["--anneal-patience", "5"], "--anneal-patience acts on annealing"),
      (
        ["--character-filters", "0", "--character-embedding-size", "8"],
        "--character-embedding-size acts on the character CNN"
      ),
      (
        ["--character-filters", "0", "--lowercase-characters"],
        "--lowercase-characters acts on the character CNN"
      ),
      (["--dropout", "0", "--variational-dropout"], "--variational-dropout acts on dropout"),
    ] {
      let refused = try trellis(train + flags)
      assertFailed(refused, mentioning: [message])
      XCTAssertEqual(refused.exitCode, 64, refused.summary)
    }
    let config = try write(
      #"{"configuration": {"headOptions": {"costWeight": 2}}}"#, to: "run.json")
    assertFailed(
      try trellis(train + ["--config", config]),
      mentioning: ["\(config): 'configuration.headOptions.costWeight' acts on the SSVM head"])
    XCTAssertFalse(FileManager.default.fileExists(atPath: path("m")))
    assertSucceeded(
      try trellis(
        train + Self.smallModelOptions + ["--head", "ssvm", "--cost-weight", "2", "--quiet"]))
  }

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

  /// An option that reads one file, given twice, is a usage error: ArgumentParser kept the
  /// last, so a second `--config` dropped the first file's settings, and a second `--train`
  /// the first file, without a word. Other options given twice take their last value, as
  /// command lines of defaults and then overrides expect; a value is no option.
  func testAFileOptionGivenTwiceIsRefused() throws {
    let first = try write(#"{"options": {"epochs": 7}}"#, to: "epochs.json")
    let second = try write(#"{"options": {"seed": 9}}"#, to: "seed.json")
    let train = ["train", "--train", PackagePaths.tiny("train")]
    for (arguments, name) in [
      (train + ["--config", first, "--config=\(second)", "--print-config"], "config"),
      (train + ["--model", path("a"), "--quiet", "--train", PackagePaths.tiny("dev")], "train"),
      (
        train + ["--dev", PackagePaths.tiny("dev"), "--model", path("a"), "--dev", path("d")],
        "dev"
      ),
    ] {
      let refused = try trellis(arguments)
      assertFailed(
        refused,
        mentioning: ["--\(name) is given 2 times; it reads one file, and the last would replace"])
      XCTAssertEqual(refused.exitCode, 64, refused.summary)
    }
    XCTAssertFalse(FileManager.default.fileExists(atPath: path("a")))
    let overridden = try trellis(
      train + [
        "--config", first, "--epochs", "3", "--epochs", "4", "--note=--train", "--quiet",
        "--quiet", "--print-config",
      ])
    assertSucceeded(overridden)
    XCTAssertTrue(overridden.output.contains(#""epochs" : 4"#), overridden.output)
  }

  func testATestFileThatIsNotThereIsRefused() throws {
    let vectors = try write("flights 1 1 1 1\n", to: "vectors.txt")
    assertFailed(
      try trellis([
        "train", "--train", PackagePaths.tiny("train"), "--test", path("missing.conll"),
        "--embeddings", vectors, "--embedding-size", "4", "--model", path("m"), "--quiet",
      ]), mentioning: ["\(path("missing.conll")): no such file"])
    XCTAssertFalse(FileManager.default.fileExists(atPath: path("m")))
  }
}
