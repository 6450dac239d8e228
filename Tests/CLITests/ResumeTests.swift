import Foundation
import XCTest

/// Interrupted training: a run killed mid-way (SIGKILL, no chance to clean up) and resumed
/// from its last checkpoint ends with the same model file, byte for byte, as a run that was
/// never interrupted.
final class ResumeTests: CLITestCase {
  func testKilledRunResumesToTheSameModel() throws {
    let common = [
      "--train", PackagePaths.tiny("train"), "--dev", PackagePaths.tiny("dev"), "--epochs", "30",
      "--embedding-size", "16", "--hidden-size", "16", "--patience", "0", "--seed", "5", "--quiet",
      // Annealing depends on the dev history, so the resumed run must anneal as this one.
      "--anneal-factor", "0.5", "--anneal-patience", "2",
    ]
    let reference = path("reference.model")
    let resumed = path("resumed.model")
    assertSucceeded(try trellis(["train", "--model", reference] + common))

    try killMidway(["train", "--model", resumed] + common, checkpoint: resumed + ".checkpoint")
    // The best model so far is written after every improving epoch: a killed run leaves it.
    let left = try trellis(["tag", "--model", resumed, PackagePaths.tiny("test")])
    assertSucceeded(left)

    assertSucceeded(try trellis(["train", "--model", resumed, "--resume"] + common))
    XCTAssertEqual(
      FileManager.default.contents(atPath: resumed),
      FileManager.default.contents(atPath: reference),
      "resumed model differs from the uninterrupted one")
  }

  /// Runs `trellis arguments` and kills it (SIGKILL) mid-epoch, once its first checkpoint
  /// exists and a little more has run.
  private func killMidway(_ arguments: [String], checkpoint: String) throws {
    let process = Process()
    process.executableURL = try PackagePaths.executable()
    process.arguments = arguments
    process.standardError = FileHandle.nullDevice
    try process.run()
    let deadline = Date().addingTimeInterval(120)
    while !FileManager.default.fileExists(atPath: checkpoint), process.isRunning, Date() < deadline
    {
      usleep(5_000)
    }
    usleep(150_000)
    kill(process.processIdentifier, SIGKILL)
    process.waitUntilExit()
    XCTAssertEqual(
      process.terminationReason, .uncaughtSignal, "training finished before it could be killed")
  }

  /// A retrain into a finished model, interrupted, leaves that model as it was (its first
  /// selected epoch replaced it with a partly trained one); resumed, it ends as an
  /// uninterrupted run does.
  func testAnInterruptedRetrainLeavesTheModelThere() throws {
    let model = try trainModel("m")
    let finished = try Data(contentsOf: URL(fileURLWithPath: model))
    let retrain = [
      "train", "--train", PackagePaths.tiny("train"), "--dev", PackagePaths.tiny("dev"),
      "--epochs", "30", "--embedding-size", "16", "--hidden-size", "16", "--patience", "0",
      "--seed", "5", "--quiet",
    ]
    try killMidway(retrain + ["--model", model], checkpoint: model + ".checkpoint")
    XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: model)), finished)
    assertSucceeded(try trellis(retrain + ["--model", model, "--resume"]))
    assertSucceeded(try trellis(retrain + ["--model", path("uninterrupted")]))
    XCTAssertEqual(
      FileManager.default.contents(atPath: model),
      FileManager.default.contents(atPath: path("uninterrupted")))
  }

  /// A resumed run keeps the checkpoint's settings: the command line's other values are
  /// named on standard error, even with --quiet, and the model's recipe records the settings
  /// it was trained with (it recorded the command line's, so `info` showed a hidden size the
  /// model did not have). So does `--log`'s first line, which was this command's recipe.
  func testResumeNamesTheSettingsItKeepsAndRecordsThem() throws {
    let model = try trainModel(options: ["--epochs", "1", "--keep-checkpoint"])
    let log = path("resumed.jsonl")
    let resumed = try trellis(
      [
        "train", "--train", PackagePaths.tiny("train"), "--dev", PackagePaths.tiny("dev"),
        "--model", model, "--resume", "--quiet", "--epochs", "2", "--seed", "1",
        "--learning-rate", "0.5", "--log", log,
      ] + Self.smallModelOptions.map { $0 == "16" ? "24" : $0 })
    assertSucceeded(resumed)
    XCTAssertTrue(resumed.stderr.contains("hiddenSize 16 (not 24)"), resumed.stderr)
    XCTAssertTrue(resumed.stderr.contains("learningRate default (not 0.5)"), resumed.stderr)
    let info = try trellis(["info", "--json", model])
    assertSucceeded(info)
    let record = try XCTUnwrap(
      JSONSerialization.jsonObject(with: info.stdout) as? [String: Any])
    let recipe = try XCTUnwrap(
      (record["provenance"] as? [String: Any])?["recipe"] as? [String: Any])
    let configuration = try XCTUnwrap(recipe["configuration"] as? [String: Any])
    let options = try XCTUnwrap(recipe["options"] as? [String: Any])
    XCTAssertEqual(configuration["hiddenSize"] as? Int, 16)
    XCTAssertEqual((record["configuration"] as? [String: Any])?["hiddenSize"] as? Int, 16)
    XCTAssertNil(options["learningRate"], "the optimiser's default, as in the checkpoint")
    XCTAssertEqual(options["epochs"] as? Int, 2)
    let logged = try XCTUnwrap(try contents(of: log).split(separator: "\n").first)
    let loggedRecipe = try XCTUnwrap(
      (try JSONSerialization.jsonObject(with: Data(logged.utf8)) as? [String: Any])?["recipe"]
        as? [String: Any])
    XCTAssertEqual((loggedRecipe["configuration"] as? [String: Any])?["hidden_size"] as? Int, 16)
    XCTAssertNil((loggedRecipe["options"] as? [String: Any])?["learning_rate"], String(logged))
  }

  /// A run given again without --resume replaced the checkpoint of the one before after its
  /// first epoch, and removed it at the end: an interrupted run's epochs were lost without a
  /// word. It is refused before it trains, and the checkpoint kept.
  func testAFreshRunRefusesAnEarlierRunsCheckpoint() throws {
    let model = try trainModel(options: ["--epochs", "1", "--keep-checkpoint"])
    let checkpoint = try Data(contentsOf: URL(fileURLWithPath: model + ".checkpoint"))
    let again = try trellis(
      ["train", "--train", PackagePaths.tiny("train"), "--model", model, "--quiet"]
        + Self.smallModelOptions)
    assertFailed(
      again,
      mentioning: [
        "\(model).checkpoint: holds an earlier run's checkpoint (interrupted, or kept); resume "
          + "it (--resume), or remove it to train afresh"
      ])
    XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: model + ".checkpoint")), checkpoint)
  }

  /// A resumed run adds to its log: it replaced the interrupted run's lines with its own. A
  /// record the interruption left torn (a full disk) goes: the resumed run's first record
  /// was joined to it, and the log was no longer JSON lines.
  func testAResumedRunAddsToItsLog() throws {
    let log = path("run.jsonl")
    let model = try trainModel(options: ["--epochs", "1", "--keep-checkpoint", "--log", log])
    let handle = try XCTUnwrap(FileHandle(forWritingAtPath: log))
    try handle.seekToEnd()
    try handle.write(contentsOf: Data(#"{"epoch":2,"gradi"#.utf8))
    try handle.close()
    let resumed = try trellis(
      [
        "train", "--train", PackagePaths.tiny("train"), "--dev", PackagePaths.tiny("dev"),
        "--model", model, "--epochs", "2", "--resume", "--quiet", "--log", log,
      ] + Self.smallModelOptions)
    assertSucceeded(resumed)
    let records = try contents(of: log).split(separator: "\n").map {
      try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any], "\($0)")
    }
    XCTAssertEqual(records.compactMap { $0["epoch"] as? Int }, [1, 2])
  }

  /// A resumed run keeps the checkpoint's `--note` and `--test` (whose words the embedding
  /// rows were made for) and ends with the uninterrupted run's file: resumed without them the
  /// note was dropped and the recipe lost the test file, so retraining from it gave another
  /// model; another note or test file given to it is named, and not used.
  func testAResumedRunKeepsTheNoteAndTestFileOfItsCheckpoint() throws {
    let common = [
      "train", "--train", PackagePaths.tiny("train"), "--dev", PackagePaths.tiny("dev"),
      "--embedding-size", "4", "--hidden-size", "4", "--character-filters", "0", "--quiet",
    ]
    let vectors = try write("flights 1 1 1 1\nboston 2 2 2 2\n", to: "vectors.txt")
    let recorded = ["--note", "experiment 7", "--test", PackagePaths.tiny("test")]
    let fresh = ["--embeddings", vectors] + recorded
    assertSucceeded(try trellis(common + fresh + ["--model", path("whole"), "--epochs", "2"]))
    assertSucceeded(
      try trellis(common + fresh + ["--model", path("m"), "--epochs", "1", "--keep-checkpoint"]))
    let resumed = try trellis(
      common + ["--embeddings", vectors, "--model", path("m"), "--epochs", "2", "--resume"])
    assertSucceeded(resumed)
    XCTAssertFalse(resumed.stderr.contains("note: --resume"), resumed.stderr)
    XCTAssertEqual(
      FileManager.default.contents(atPath: path("m")),
      FileManager.default.contents(atPath: path("whole")))
    assertSucceeded(
      try trellis(common + fresh + ["--model", path("m"), "--epochs", "1", "--keep-checkpoint"]))
    let other = try trellis(
      common + [
        "--embeddings", vectors, "--model", path("m"), "--epochs", "2", "--resume", "--note", "x",
        "--test", PackagePaths.tiny("dev"),
      ])
    assertSucceeded(other)
    XCTAssertTrue(
      other.stderr.contains("test \(PackagePaths.tiny("test")) (not \(PackagePaths.tiny("dev")))")
        && other.stderr.contains("note experiment 7 (not x)"), other.stderr)
    XCTAssertEqual(
      FileManager.default.contents(atPath: path("m")),
      FileManager.default.contents(atPath: path("whole")))
  }

  /// The note names only settings this command sets: resuming with the data and --epochs
  /// alone overrides nothing the user asked for, whatever the checkpoint's sizes.
  func testResumeWithoutSettingsNamesNone() throws {
    let model = try trainModel(options: ["--epochs", "1", "--keep-checkpoint"])
    let resumed = try trellis([
      "train", "--train", PackagePaths.tiny("train"), "--dev", PackagePaths.tiny("dev"),
      "--model", model, "--resume", "--epochs", "2",
    ])
    assertSucceeded(resumed)
    XCTAssertFalse(resumed.stderr.contains("note: --resume"), resumed.stderr)
  }

  /// A flag typed with its default value is a setting too: `--seed 1 --hidden-size 100`
  /// against a checkpoint of seed 7 and 16 hidden units went unnamed, since neither differs
  /// from its default, and the run quietly kept the checkpoint's.
  func testResumeNamesFlagsTypedWithTheirDefaults() throws {
    let model = try trainModel(seed: 7, options: ["--epochs", "1", "--keep-checkpoint"])
    let resumed = try trellis(
      [
        "train", "--train", PackagePaths.tiny("train"), "--dev", PackagePaths.tiny("dev"),
        "--model", model, "--resume", "--quiet", "--seed", "1",
      ] + Self.smallModelOptions.map { $0 == "16" ? "100" : $0 })
    assertSucceeded(resumed)
    XCTAssertTrue(
      resumed.stderr.contains("hiddenSize 16 (not 100)")
        && resumed.stderr.contains("seed 7 (not 1)"), resumed.stderr)
    XCTAssertFalse(resumed.stderr.contains("epochs"), resumed.stderr)
    let vectors = try write("flights 1 1 1 1\nboston 2 2 2 2\n", to: "vectors.txt")
    let withVectors = [
      "train", "--train", PackagePaths.tiny("train"), "--dev", PackagePaths.tiny("dev"),
      "--embedding-size", "4", "--hidden-size", "4", "--character-filters", "0", "--quiet",
      "--embeddings", vectors, "--model", path("v"),
    ]
    assertSucceeded(
      try trellis(
        withVectors + ["--epochs", "1", "--keep-checkpoint", "--embeddings-scope", "all"]))
    let scoped = try trellis(
      withVectors + ["--epochs", "2", "--resume", "--embeddings-scope", "data"])
    assertSucceeded(scoped)
    XCTAssertTrue(scoped.stderr.contains("embeddingsScope all (not data)"), scoped.stderr)
  }

  /// The best epoch and the patience count were measured on the checkpoint's dev sentences:
  /// a resumed run on others, or on none, is refused (its model would record the new file
  /// beside scores of the old).
  func testResumeRefusesOtherDevSentences() throws {
    let model = try trainModel(options: ["--epochs", "1", "--keep-checkpoint"])
    let checkpoint = try Data(contentsOf: URL(fileURLWithPath: model + ".checkpoint"))
    let resume = [
      "train", "--train", PackagePaths.tiny("train"), "--model", model, "--resume", "--quiet",
    ]
    let otherDev = try write(
      String(try contents(of: PackagePaths.tiny("dev")).split(separator: "\n\n")[0]) + "\n",
      to: "other-dev.conll")
    for (dev, message) in [
      (["--dev", otherDev], "other dev sentences than the --dev file given"),
      ([], "give the same --dev file again"),
    ] {
      assertFailed(try trellis(resume + dev + ["--epochs", "2"]), mentioning: [message])
      XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: model + ".checkpoint")), checkpoint)
    }
    // The same sentences in a file spaced otherwise are the same dev sentences.
    let respaced = try write(
      try contents(of: PackagePaths.tiny("dev")).replacingOccurrences(of: "\t", with: "  "),
      to: "respaced-dev.conll")
    assertSucceeded(try trellis(resume + ["--dev", respaced, "--epochs", "2"]))
  }

  /// Epochs a checkpoint has run cannot be undone: a resume whose --epochs or --patience
  /// would have stopped an uninterrupted run before them is refused, before it writes anything
  /// (it ended with the checkpoint's model and recorded "5 run of 3"); limits that stop it
  /// where it is are kept.
  func testResumeRefusesLimitsThatWouldHaveStoppedTheRunSooner() throws {
    // A rate too small to change a weight: no epoch after the first betters its dev F1 (4.62
    // from seed 2's initial weights; one of 0 would not count against --patience). Batches of
    // one sentence: 40 updates an epoch, so patience may end the run after 25 epochs
    // (`TrainingOptions.updatesBeforeStopping`).
    let model = try trainModel(
      seed: 2,
      options: [
        "--epochs", "28", "--patience", "0", "--learning-rate", "1e-30", "--batch-size", "1",
        "--keep-checkpoint",
      ])
    let checkpoint = model + ".checkpoint"
    let files = try [model, checkpoint].map { try Data(contentsOf: URL(fileURLWithPath: $0)) }
    let resume = [
      "train", "--train", PackagePaths.tiny("train"), "--dev", PackagePaths.tiny("dev"),
      "--model", model, "--resume", "--quiet",
    ]
    for (limits, message) in [
      (["--epochs", "2"], "--epochs 2 would have stopped an uninterrupted run after epoch 2"),
      (
        ["--epochs", "30", "--patience", "2"],
        "--patience 2 (2 epochs without a better dev F1, acting once the run has made 1000 "
          + "updates) would have stopped an uninterrupted run after epoch 25"
      ),
    ] {
      assertFailed(
        try trellis(resume + limits),
        mentioning: [
          "\(checkpoint): has run 28 epochs, but \(message)", "remove it to start afresh",
          "--epochs 28 --patience 0",
        ])
      XCTAssertEqual(
        try [model, checkpoint].map { try Data(contentsOf: URL(fileURLWithPath: $0)) }, files)
    }
    assertSucceeded(try trellis(resume + ["--epochs", "28", "--patience", "27"]))
    let info = try trellis(["info", model])
    XCTAssertTrue(info.output.contains("epochs 28 run of 28, selected epoch 1"), info.output)
  }

  func testResumeRefusesOtherData() throws {
    let model = try trainModel(options: ["--keep-checkpoint"])
    let result = try trellis(
      ["train", "--train", PackagePaths.tiny("overfit"), "--model", model, "--resume", "--quiet"])
    assertFailed(result, mentioning: ["other data"])
  }

  /// Other columns of the same file are named as such: the refusal said "other data".
  func testResumeRefusesOtherColumnsNamingThem() throws {
    let data = try write(
      String(repeating: "O flights NN\nO to IN\nB-city boston NNP\n\n", count: 10),
      to: "columns.conll")
    let common = ["train", "--train", data, "--model", path("m"), "--quiet", "--token-column", "2"]
    assertSucceeded(
      try trellis(
        common + ["--label-column", "1", "--epochs", "1", "--keep-checkpoint"]
          + Self.smallModelOptions))
    assertFailed(
      try trellis(common + ["--epochs", "2", "--resume"]),
      mentioning: [
        "m.checkpoint: was trained on --token-column 2 and --label-column 1, but this run reads "
          + "--token-column 2 and the last column's labels; resume with the checkpoint's columns"
      ])
    // Feature columns too: left out on resume, the data was read without them, and the
    // refusal blamed the data ("trained on other data than the --train file given").
    try FileManager.default.removeItem(atPath: path("m.checkpoint"))
    assertSucceeded(
      try trellis(
        common + [
          "--label-column", "1", "--feature-column", "3", "--epochs", "1", "--keep-checkpoint",
        ] + Self.smallModelOptions))
    assertFailed(
      try trellis(common + ["--label-column", "1", "--epochs", "2", "--resume"]),
      mentioning: [
        "was trained on --token-column 2, --feature-column 3 and --label-column 1, but this run "
          + "reads --token-column 2 and --label-column 1"
      ])
  }

  /// More sentences of the same words and labels leave the vocabularies as they were: the
  /// sentences' digest tells them apart (the resumed run trained on both, and its model's
  /// provenance named only the second).
  func testResumeRefusesMoreSentencesOfTheSameWords() throws {
    let model = try trainModel(options: ["--epochs", "1", "--keep-checkpoint"])
    let train = try String(contentsOfFile: PackagePaths.tiny("train"), encoding: .utf8)
    let doubled = try write(train + "\n" + train, to: "doubled.conll")
    let result = try trellis(
      [
        "train", "--train", doubled, "--dev", PackagePaths.tiny("dev"), "--model", model,
        "--epochs", "2", "--resume", "--quiet",
      ] + Self.smallModelOptions)
    assertFailed(result, mentioning: ["was trained on other data than the --train file given"])
  }

  /// The scheme a run trains in unless told (BIO for IOB1 data) is a default, not a setting
  /// the command gives: resuming IOB1 data trained `--scheme iob1` without --scheme named
  /// `trainingScheme iob1 (not "bio")`, a setting the user had not given.
  func testResumeOfIOB1DataNamesNoSchemeNotGiven() throws {
    let iob1 = try write(
      String(repeating: "Ann I-PER\nmet O\nBob I-PER\nCarl B-PER\n\n", count: 20),
      to: "iob1.conll")
    let model = path("iob1.model")
    assertSucceeded(
      try trellis(
        [
          "train", "--train", iob1, "--model", model, "--epochs", "1", "--scheme", "iob1",
          "--keep-checkpoint", "--quiet",
        ] + Self.smallModelOptions))
    let resumed = try trellis(
      ["train", "--train", iob1, "--model", model, "--epochs", "2", "--resume", "--quiet"]
        + Self.smallModelOptions)
    assertSucceeded(resumed)
    XCTAssertFalse(resumed.stderr.contains("note: --resume"), resumed.summary)
  }
}
