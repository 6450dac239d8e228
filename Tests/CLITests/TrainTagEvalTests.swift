import Foundation
import Trellis
import XCTest

/// `train`, then `tag` and `eval` with the model it wrote.
final class TrainTagEvalTests: CLITestCase {
  func testTrainThenTagFileAndStandardInputThenEval() throws {
    let model = path("model")
    let train = try trellis(
      [
        "train", "--train", PackagePaths.tiny("train"), "--dev", PackagePaths.tiny("dev"),
        "--model", model,
      ]
        + Self.smallModelOptions)
    assertSucceeded(train)
    XCTAssertEqual(
      train.stderr.components(separatedBy: "\n").filter { $0.hasPrefix("epoch") }.count, 2,
      train.summary)
    XCTAssertTrue(train.stderr.contains("wrote \(model)"), train.summary)
    let trainingLabels = try labelSet(of: PackagePaths.tiny("train"))
    XCTAssertEqual(Set(try ModelFile.read(from: model).labels.strings), trainingLabels)

    let testFile = PackagePaths.tiny("test")
    let input = try contents(of: testFile)
    let fromFile = try tag(testFile, model: model)
    XCTAssertEqual(taggingProblems(output: fromFile, input: input, labels: trainingLabels), [])
    XCTAssertEqual(
      invalidBIOTransitions(in: fromFile), [],
      "constrained CRF decoding produced I- after a non-chunk")
    for stdinArguments in [["-"], []] {
      let fromStdin = try trellis(["tag", "--model", model] + stdinArguments, stdin: input)
      assertSucceeded(fromStdin)
      XCTAssertEqual(
        fromStdin.output, fromFile, "tag \(stdinArguments) on standard input differs from tag FILE")
    }

    let eval = try trellis(["eval", "--model", model, "--test", testFile])
    assertSucceeded(eval)
    XCTAssertNotNil(ReportSummary(eval.output), eval.output)
  }

  /// Without --dev nothing can stop training early: a note says so (with the epoch count),
  /// and not when --dev is given or with --quiet.
  func testTrainingWithoutDevSaysItRunsEveryEpoch() throws {
    let train = ["train", "--train", PackagePaths.tiny("train"), "--model", path("model")]
    let note = "note: without --dev, training runs all 2 epochs and keeps the last"
    let withoutDev = try trellis(train + Self.smallModelOptions)
    assertSucceeded(withoutDev)
    XCTAssertTrue(withoutDev.stderr.contains(note), withoutDev.summary)
    let withDev = try trellis(
      train + ["--dev", PackagePaths.tiny("dev")] + Self.smallModelOptions)
    assertSucceeded(withDev)
    XCTAssertEqual(notesAfterTheData(withDev.stderr), [], withDev.summary)
    let quiet = try trellis(train + ["--quiet"] + Self.smallModelOptions)
    assertSucceeded(quiet)
    XCTAssertEqual(quiet.stderr, "", quiet.summary)
    // Annealing and early stopping follow dev F1: asked for without --dev, the note says they
    // do nothing (they were silently ignored), and says nothing of them otherwise.
    XCTAssertFalse(withoutDev.stderr.contains("do nothing"), withoutDev.summary)
    for (flags, named) in [
      (["--anneal-factor", "0.5"], "--anneal-factor follows dev F1, and does"),
      (
        ["--anneal-factor", "0.5", "--anneal-patience", "5"],
        "--anneal-factor follows dev F1, and does"
      ),
      (["--patience", "3"], "--patience follows dev F1, and does"),
      (
        ["--patience", "3", "--anneal-factor", "0.5"],
        "--patience and --anneal-factor follow dev F1, and do"
      ),
    ] {
      let idle = try trellis(train + Self.smallModelOptions + flags)
      assertSucceeded(idle)
      XCTAssertTrue(
        idle.stderr.contains(note + " (\(named) nothing here)"),
        idle.summary)
    }
    // One epoch is its own: not "all 1 epochs".
    let one = try trellis(train + Self.smallModelOptions + ["--epochs", "1"])
    assertSucceeded(one)
    XCTAssertTrue(
      one.stderr.contains("note: without --dev, training runs its one epoch; --dev stops"),
      one.summary)
  }

  /// A dev file without chunks (or with none of a type the training data has) scores every
  /// epoch 0, so training kept the first epoch without a word; a note says so, and not for a
  /// dev file with chunks (above) or for labels without chunk prefixes, each a chunk itself.
  /// Such epochs tell nothing apart: all run, whatever --patience, the last is kept, and a
  /// warning says so at the end.
  func testADevFileWithoutChunksIsNoted() throws {
    let rows = conllRows(try contents(of: PackagePaths.tiny("dev")))
    func devFile(_ name: String, _ label: (String) -> String) throws -> String {
      try write(
        rows.map { $0.isEmpty ? "" : "\($0[0]) \(label($0[$0.count - 1]))" }
          .joined(separator: "\n") + "\n", to: name)
    }
    let train = ["train", "--train", PackagePaths.tiny("train"), "--model", path("model")]
    for (dev, what) in [
      (try devFile("outside.conll") { _ in "O" }, "no chunks"),
      (
        try devFile("unknown.conll") { $0 == "O" ? $0 : String($0.prefix(2)) + "UNSEEN" },
        "no chunk of a type the training data has"
      ),
    ] {
      let run = try trellis(
        train + ["--dev", dev, "--epochs", "3", "--patience", "1"]
          + Self.smallModelOptions.dropFirst(2))
      assertSucceeded(run)
      XCTAssertTrue(
        run.stderr.contains(
          "note: \(dev) holds \(what), so dev F1 is 0 in every epoch and training runs all its "
            + "epochs and keeps the last"), run.summary)
      XCTAssertTrue(
        run.stderr.contains(
          "warning: no epoch found a dev chunk right (dev F1 0 in all 3), so \(path("model")) "
            + "is the last epoch's"), run.summary)
      let info = try trellis(["info", path("model")])
      XCTAssertTrue(info.output.contains("epochs 3 run of 3, selected epoch 3"), info.output)
    }
    let tags = try devFile("tags.conll") { $0 == "O" ? "X" : "Y" }
    let trainTags = try write(
      conllRows(try contents(of: PackagePaths.tiny("train")))
        .map { $0.isEmpty ? "" : "\($0[0]) \($0[$0.count - 1] == "O" ? "X" : "Y")" }
        .joined(separator: "\n") + "\n", to: "train-tags.conll")
    let raw = try trellis(
      ["train", "--train", trainTags, "--dev", tags, "--model", path("tags.model")]
        + Self.smallModelOptions)
    assertSucceeded(raw)
    XCTAssertEqual(notesAfterTheData(raw.stderr), [], raw.summary)
  }

  func testTaggingUnlabelledTokensAddsOneColumn() throws {
    let model = try sharedModel()
    let tokens =
      conllRows(try contents(of: PackagePaths.tiny("test")))
      .map { $0.first ?? "" }.joined(separator: "\n") + "\n"
    let tagged = try trellis(["tag", "--model", model], stdin: tokens)
    assertSucceeded(tagged)
    let labels = try labelSet(of: PackagePaths.tiny("train"))
    XCTAssertEqual(taggingProblems(output: tagged.output, input: tokens, labels: labels), [])
  }

  func testSameSeedGivesSameModelBytesAndTags() throws {
    let first = try trainModel("first", seed: 7)
    let again = try trainModel("again", seed: 7)
    let otherSeed = try trainModel("other", seed: 8)
    let bytes = { (path: String) in try Data(contentsOf: URL(fileURLWithPath: path)) }
    XCTAssertEqual(try bytes(first), try bytes(again), "the same seed wrote different model files")
    XCTAssertNotEqual(
      try bytes(first), try bytes(otherSeed), "seeds 7 and 8 wrote the same model file")
    let test = PackagePaths.tiny("test")
    XCTAssertEqual(try tag(test, model: first), try tag(test, model: again))
  }

  func testLogWritesTheRecipeThenOneJSONObjectPerEpoch() throws {
    let log = path("train.jsonl")
    try trainModel(options: ["--log", log])
    var lines = try contents(of: log).split(separator: "\n", omittingEmptySubsequences: false)
    XCTAssertEqual(
      lines.count, 4, "the recipe, two epoch lines and the final newline expected:\n\(lines)")
    let first = try XCTUnwrap(
      JSONSerialization.jsonObject(with: Data(lines.removeFirst().utf8)) as? [String: Any])
    let recipe = try XCTUnwrap(first["recipe"] as? [String: Any], "the first line holds the recipe")
    XCTAssertEqual((recipe["options"] as? [String: Any])?["epochs"] as? Int, 2)
    for (index, line) in lines.dropLast().enumerated() {
      let object = try XCTUnwrap(
        JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
        "not a JSON object: \(line)")
      for key in ["epoch", "loss", "dev_f1", "seconds"] {
        XCTAssertNotNil(object[key] as? Double, "\"\(key)\" missing or not a number in \(line)")
      }
      XCTAssertEqual(object["epoch"] as? Int, index + 1, "line \(index + 1): \(line)")
    }
    XCTAssertEqual(lines.last, "", "the log must end with a newline")
  }

  /// conlleval reads a line whose first field is `-X-` as a boundary, whichever column is the
  /// token: `eval --token-column 2` counts the file as `tag | score` does (it looked for `-X-`
  /// among the tokens).
  func testEvalFindsBoundariesInTheFirstColumn() throws {
    let model = try sharedModel()
    let test = try write("1\tflights\tO\n-X-\tboston\tB-x\n2\t-X-\tO\n\n", to: "x.conll")
    let evaluated = try trellis(["eval", "--model", model, "--test", test, "--token-column", "2"])
    assertSucceeded(evaluated)
    let tagged = try trellis(["tag", "--model", model, "--token-column", "2", test])
    assertSucceeded(tagged)
    let scored = try trellis(["score"], stdin: tagged.output)
    XCTAssertEqual(evaluated.output, scored.output)
    XCTAssertTrue(evaluated.output.hasPrefix("processed 2 tokens"), evaluated.output)
  }

  /// `eval --unseen-words` compares labels by their bytes, as the main report does: a model
  /// that answers "B-e" + U+0301 is wrong on every "B-é" (U+00E9) of the test file.
  func testUnseenWordAccuracyComparesLabelsByTheirBytes() throws {
    let report = try unseenWordsReport(
      training: "w B-e\u{301}\nx B-e\u{301}\n\n", test: "zzz B-\u{E9}\nqqq B-\u{E9}\n\n")
    XCTAssertTrue(report.output.contains("accuracy:   0.00%"), report.output)
    XCTAssertTrue(
      report.output.contains("unseen words: 2 tokens (100.00%), token accuracy 0.00%"),
      report.output)
  }

  /// On BIOES data `eval` counts the chunks of the labels' BIO equivalents, in the report and
  /// in `--unseen-words`' chunk recall alike, and says so: `S-a S-a` is two chunks, which
  /// conlleval's rules read as one (the recall read them so after the report no longer did).
  func testEvalCountsBIOESChunksInEveryFigure() throws {
    let report = try unseenWordsReport(
      training: "w S-a\nx S-a\n\n", test: "zzz S-a\nqqq S-a\n\n")
    XCTAssertTrue(report.output.hasPrefix("processed 2 tokens with 2 phrases"), report.output)
    XCTAssertTrue(report.output.contains("gold chunks with one: 2,"), report.output)
    XCTAssertTrue(report.stderr.contains("BIOES labels are counted as the BIO"), report.stderr)
  }

  /// Labels without chunk prefixes are chunks of one token in `--unseen-words`' recall as in
  /// the report (`conlleval -r`): the recall found none after the report counted them.
  func testEvalCountsRawLabelChunksInEveryFigure() throws {
    let report = try unseenWordsReport(
      training: "john PER\nmet O\nparis LOC\n\n", test: "zed PER\nmet O\nrome LOC\n\n")
    XCTAssertTrue(report.output.hasPrefix("processed 3 tokens with 2 phrases"), report.output)
    XCTAssertTrue(report.output.contains("gold chunks with one: 2,"), report.output)
  }

  /// `eval --unseen-words` on `test` of a small model trained on 20 copies of `sentence`.
  private func unseenWordsReport(training sentence: String, test: String) throws
    -> CommandResult
  {
    let train = try write(String(repeating: sentence, count: 20), to: "train.conll")
    let model = path("unseen.model")
    assertSucceeded(
      try trellis(
        ["train", "--train", train, "--model", model, "--quiet"] + Self.smallModelOptions))
    let report = try trellis([
      "eval", "--model", model, "--test", try write(test, to: "test.conll"), "--unseen-words",
    ])
    assertSucceeded(report)
    return report
  }

  /// BILOU labels (spaCy's U- and L-) among chunk labels are refused at the first, naming the
  /// conversion to BIOES: no scheme read them, so the model, whose decoding allows no label
  /// outside its scheme, never predicted one. A label set without B-/I- labels (raw tags
  /// that happen to start so) is not BILOU and trains.
  func testBILOULabelsAreRefusedWithTheirConversion() throws {
    let bilou = try write("John U-PER\nlives O\nin O\nNew B-LOC\nYork L-LOC\n\n", to: "b.conll")
    assertFailed(
      try trellis(["train", "--train", bilou, "--model", path("b")] + Self.smallModelOptions),
      mentioning: [
        "\(bilou):1: label \"U-PER\" is BILOU's", "convert the labels first, e.g. sed -E",
      ])
    XCTAssertFalse(FileManager.default.fileExists(atPath: path("b")))
    let raw = try write("a U-turn\nb L-x\nc O\n\n", to: "raw.conll")
    assertSucceeded(
      try trellis(
        ["train", "--train", raw, "--model", path("r"), "--quiet"] + Self.smallModelOptions))
  }

  /// The notes of a training's standard error but its first, on the data it read.
  private func notesAfterTheData(_ stderr: String) -> [Substring] {
    Array(stderr.split(separator: "\n").filter { $0.hasPrefix("note:") }.dropFirst())
  }

  /// Training says which columns it reads and what it made of the labels, before its epochs
  /// (a file whose labels are not last trained on the wrong column without a word), and
  /// `info` calls labels without chunk prefixes no scheme (it said `bio` of tags).
  func testTrainingNamesItsColumnsAndSchemeAndInfoNamesNoneForTags() throws {
    let pos = try write(String(repeating: "the DT\ndog NN\nruns VB\n\n", count: 5), to: "p.conll")
    let trained = try trellis(
      ["train", "--train", pos, "--model", path("p"), "--epochs", "1"] + Self.smallModelOptions)
    assertSucceeded(trained)
    XCTAssertTrue(
      trained.stderr.hasPrefix(
        "note: \(pos): tokens from column 1, labels from the last column: 3 labels, no chunk "
          + "prefixes"), trained.stderr)
    let info = try trellis(["info", path("p")])
    XCTAssertTrue(
      info.output.contains("\nscheme      none: no label has a chunk prefix"), info.output)
    let chunks = try write("a\tx\tI-NP\nb\tx\tI-NP\nc\tx\tO\n\n", to: "c.conll")
    let second = try trellis(
      ["train", "--train", chunks, "--model", path("c"), "--epochs", "1", "--label-column", "3"]
        + Self.smallModelOptions)
    XCTAssertTrue(
      second.stderr.hasPrefix(
        "note: \(chunks): tokens from column 1, labels from column 3: 2 labels, IOB1, trained in "
          + "BIO\n"), second.stderr)
  }

  /// Labels without chunk prefixes (parts of speech) have no scheme to break: `eval
  /// --invalid-sequences` says so instead of counting every label as invalid.
  func testInvalidSequencesOfLabelsWithoutChunkPrefixes() throws {
    let train = try write(
      String(repeating: "the DT\ndog NN\nruns VB\n\n", count: 20), to: "pos.conll")
    let model = path("pos.model")
    assertSucceeded(
      try trellis(
        ["train", "--train", train, "--model", model, "--quiet"] + Self.smallModelOptions))
    let report = try trellis(["eval", "--model", model, "--test", train, "--invalid-sequences"])
    assertSucceeded(report)
    XCTAssertTrue(
      report.output.hasSuffix("invalid sequences: none possible (no label has a chunk prefix)\n"),
      report.output)
    // Scored as training's dev F1 and `conlleval -r` score them, each label a chunk, where
    // conlleval without -r finds no chunk (an FB1 of 0.00 whatever the tags).
    XCTAssertTrue(report.stderr.contains("scored as a one-token chunk"), report.summary)
    XCTAssertTrue(report.output.hasPrefix("processed 60 tokens with 60 phrases"), report.output)
    let raw = try trellis(["score", "-r"], stdin: try tag(train, model: model))
    XCTAssertEqual(
      raw.output.split(separator: "\n").prefix(2), report.output.split(separator: "\n").prefix(2))
    // conlleval splits a label at its first "-": -LRB- is a chunk of type "LRB-" to it.
    let brackets = try write(
      String(repeating: "( -LRB-\nthe DT\n) -RRB-\n\n", count: 20), to: "brackets.conll")
    let bracketModel = path("brackets.model")
    assertSucceeded(
      try trellis(
        ["train", "--train", brackets, "--model", bracketModel, "--quiet"]
          + Self.smallModelOptions))
    let split = try trellis(["eval", "--model", bracketModel, "--test", brackets])
    assertSucceeded(split)
    XCTAssertTrue(split.output.contains("-LRB-: precision"), split.output)
    XCTAssertFalse(split.output.contains(" LRB-: precision"), split.output)
  }

  /// `eval` reads tokens and gold labels from the columns the model was trained on unless
  /// told, saying so (it read the last column, and scored against the wrong one with FB1 0); a
  /// column given for one that the model's other takes is refused before any work.
  func testEvalReadsTheColumnsTheModelWasTrainedOn() throws {
    // A column after the labels: the labels in column 2 of 3.
    let extended = try String(contentsOfFile: PackagePaths.tiny("train"), encoding: .utf8)
      .split(separator: "\n", omittingEmptySubsequences: false)
      .map { $0.isEmpty ? "" : "\($0)\tX" }.joined(separator: "\n")
    let data = try write(extended, to: "extended.conll")
    let model = path("m")
    assertSucceeded(
      try trellis(
        ["train", "--train", data, "--model", model, "--label-column", "2", "--quiet"]
          + Self.smallModelOptions))
    let defaulted = try trellis(["eval", "--model", model, "--test", data])
    assertSucceeded(defaulted)
    XCTAssertTrue(
      defaulted.stderr.contains("note: reading with --label-column 2, as \(model) was trained"),
      defaulted.summary)
    let given = try trellis(["eval", "--model", model, "--test", data, "--label-column", "2"])
    assertSucceeded(given)
    XCTAssertFalse(given.stderr.contains("note:"), given.summary)
    XCTAssertEqual(defaulted.output, given.output)
    let labelsLast = try trellis(["eval", "--model", model, "--test", PackagePaths.tiny("train")])
    XCTAssertEqual(given.output, labelsLast.output)
    let last = try trellis(["eval", "--model", model, "--test", data, "--label-column", "3"])
    assertSucceeded(last)
    XCTAssertNotEqual(last.output, given.output)
    let clash = try trellis(["eval", "--model", model, "--test", data, "--token-column", "2"])
    XCTAssertEqual(clash.exitCode, 64, clash.summary)
    XCTAssertTrue(
      clash.stderr.hasPrefix(
        "Error: --label-column must be given too: \(model) was trained with --label-column 2, "
          + "the column --token-column names\nUsage: trellis eval "), clash.summary)
    // A label column given alone is checked against the model's token column, not column 1.
    let tokensSecond = try write(
      extended.split(separator: "\n", omittingEmptySubsequences: false)
        .map { line in
          let fields = line.split(separator: "\t")
          return fields.isEmpty ? "" : "\(fields[1])\t\(fields[0])\tX"
        }
        .joined(separator: "\n"), to: "tokens-second.conll")
    let swapped = path("swapped")
    assertSucceeded(
      try trellis(
        ["train", "--train", tokensSecond, "--model", swapped, "--token-column", "2"]
          + ["--label-column", "1", "--quiet"] + Self.smallModelOptions))
    assertSucceeded(
      try trellis(["eval", "--model", swapped, "--test", tokensSecond, "--label-column", "1"]))
    // Given alone for a model of tokens in column 1, it is checked against that column.
    let defaults = try trellis(["eval", "--model", model, "--test", data, "--label-column", "1"])
    XCTAssertEqual(defaults.exitCode, 64, defaults.summary)
    XCTAssertTrue(
      defaults.stderr.hasPrefix(
        "Error: --label-column must differ from --token-column (both 1)\nUsage: trellis eval "),
      defaults.summary)
  }

}
