import Foundation
import XCTest

@testable import Trellis

/// What the library's `Trainer` and `evaluate` refuse from a program, which the CLI's own
/// checks never see: settings out of range, no data, and sentences not laid out as the model
/// reads a line (token, features, label), each a thrown error before any work, not a trap or
/// a model trained on the wrong columns.
final class TrainerInputTests: XCTestCase {
  func smallConfiguration(featureColumns: [FeatureColumn] = []) -> TaggerConfiguration {
    var configuration = TaggerConfiguration()
    (configuration.embeddingSize, configuration.hiddenSize) = (4, 4)
    configuration.characterFilters = 0
    configuration.featureColumns = featureColumns
    return configuration
  }

  func oneEpoch() -> TrainingOptions {
    var options = TrainingOptions()
    options.epochs = 1
    return options
  }

  func message(_ work: () throws -> Any) -> String {
    do {
      _ = try work()
      return "no error"
    } catch {
      return "\(error)"
    }
  }

  /// A file read with its tokens from another column (`--token-column 2`) is scored as
  /// conlleval scores it: a line whose first field is `-X-` is a boundary, whatever its token.
  /// Training's dev score counted its tokens' column and found one gold chunk here, where
  /// conlleval and `trellis eval` find two.
  func testEvaluationTakesBoundariesFromTheFilesFirstColumn() throws {
    let path = temporaryPath("columns.conll")
    try Data("x\tw2\tB-a\n-X-\tw3\tI-a\nx\tw4\tI-a\n".utf8).write(
      to: URL(fileURLWithPath: path))
    let sentences = try readLabelledCoNLL(path: path, tokenColumn: 2)
    XCTAssertEqual(sentences[0].tokens, ["w2", "w3", "w4"])
    XCTAssertEqual(sentences[0].firstFields, ["x", "-X-", "x"])
    let model = makeModel()
    var expected = ConllCounts()
    expected.add(
      gold: sentences[0].labels, predicted: model.tag([sentences[0].tokens])[0],
      tokens: ["x", "-X-", "x"])
    XCTAssertEqual(expected.goldChunkCount, 2)
    XCTAssertEqual(try model.evaluate(sentences), expected)
  }

  /// On BIOES data the dev score counts BIOES chunks, as the model's spans have them:
  /// `S-a S-a` is two, where conlleval's rules, which know no S-, read one.
  func testEvaluationCountsBIOESChunks() throws {
    let model = makeModel(labels: ["O", "B-a", "I-a", "E-a", "S-a"], scheme: .bioes)
    let sentence = Sentence(
      tokens: ["w2", "w3", "w4", "w5"], labels: ["S-a", "S-a", "B-a", "E-a"])
    XCTAssertEqual(try model.evaluate([sentence]).goldChunkCount, 3)
  }

  /// A model takes a line's features by position: read with all its columns, a file's
  /// second field is a feature column other than the one configured, or with two columns its
  /// label, from which a model with a feature column learnt: its dev F1, measured with the
  /// label at hand, was far above what it scored tagging from tokens. Training and evaluation
  /// refuse such lines, and take the layout `readLabelledCoNLL(path:featureColumns:)` picks.
  func testLinesNotLaidOutForTheFeatureColumnsAreRefused() throws {
    let configuration = smallConfiguration(featureColumns: [FeatureColumn(column: 3, size: 2)])
    let trainer = Trainer(configuration: configuration, options: oneEpoch())
    let path = temporaryPath("features.conll")
    try Data("to\tx\tp\tO\nboston\ty\tq\tB-city\n\nfrom\tx\tp\tO\n".utf8).write(
      to: URL(fileURLWithPath: path))
    let whole = try readLabelledCoNLL(path: path)
    XCTAssertEqual(
      message { try trainer.train(train: whole, dev: []) },
      "training data:1: has 4 field(s); a model reads the token, the 1 feature column(s) and "
        + "the label, as readLabelledCoNLL(path:featureColumns:) picks them from a file's columns")
    let picked = try readLabelledCoNLL(path: path, featureColumns: [3])
    XCTAssertTrue(message { try trainer.train(train: picked, dev: whole) }.hasPrefix("dev data:1:"))
    let model = try trainer.train(train: picked, dev: [])
    XCTAssertTrue(message { try model.evaluate(whole) }.hasPrefix("evaluation data:1: has 4"))
    XCTAssertEqual(try model.evaluate(picked).tokenCount, picked.reduce(0) { $0 + $1.count })
    let plain = Trainer(configuration: smallConfiguration(), options: oneEpoch())
    let tokenOnly = Sentence(fields: [["a", "O"], ["b"]], firstLine: 7)
    XCTAssertEqual(
      message { try plain.train(train: [tokenOnly], dev: []) },
      "training data:8: has 1 field(s); a model reads a token and a label")
    // A program's label no CoNLL column can hold is refused before training: the model
    // would be refused at every load.
    for label in ["B-LOC city", "", "B-x\ty", "O\n"] {
      let sentence = Sentence(fields: [["a", "O"], ["b", label]], firstLine: 3)
      XCTAssertEqual(
        message { try plain.train(train: [sentence], dev: []) },
        "training data:4: has the label \(RawJSON.string(label)), which no CoNLL column can hold")
    }
  }

  func testSettingsOutOfRangeAndNoDataAreRefusedBeforeAnyWork() throws {
    let train = try readLabelledCoNLL(path: fixture("train.conll"))
    var options = oneEpoch()
    options.batchSize = 0
    XCTAssertTrue(
      message {
        try Trainer(configuration: smallConfiguration(), options: options).train(
          train: train, dev: [])
      }.contains("batch-size"))
    var configuration = smallConfiguration()
    configuration.hiddenSize = 0
    XCTAssertTrue(
      message {
        try Trainer(configuration: configuration, options: oneEpoch()).train(train: train, dev: [])
      }.contains("hidden-size"))
    XCTAssertEqual(
      message {
        try Trainer(configuration: smallConfiguration(), options: oneEpoch()).train(
          train: [], dev: [])
      }, "training data: contains no sentences")
  }

  /// A program's output paths are checked as `trellis train` checks them: a CoNLL file given
  /// as the checkpoint or the best model was replaced (the checkpoint then removed at the end).
  func testOutputPathsHoldingOtherFilesAreRefusedBeforeAnyWork() throws {
    let train = try readLabelledCoNLL(path: fixture("train.conll"))
    let data = temporaryPath("data.conll")
    try Data("to\tO\n".utf8).write(to: URL(fileURLWithPath: data))
    let trainer = Trainer(configuration: smallConfiguration(), options: oneEpoch())
    XCTAssertEqual(
      message { try trainer.train(train: train, dev: [], checkpoint: data) },
      "\(data): is not a Trellis checkpoint; refusing to replace it (checkpoint): remove it, or "
        + "name another file")
    XCTAssertEqual(
      message { try trainer.train(train: train, dev: [], bestModel: data) },
      "\(data): is not a Trellis model; refusing to replace it (bestModel): remove it, or name "
        + "another file")
    XCTAssertEqual(FileManager.default.contents(atPath: data), Data("to\tO\n".utf8))
  }

  /// An embedding size out of range is a thrown error: -1 indexed past a record's fields and
  /// 2⁶⁰ overflowed the reader's line limit, two traps.
  func testVectorsOfAnEmbeddingSizeOutOfRangeAreRefused() throws {
    let path = temporaryPath("vectors.txt")
    try Data("to 1 2\nboston 3 4\n".utf8).write(to: URL(fileURLWithPath: path))
    for dimension in [-1, 0, 1 << 60] {
      XCTAssertThrowsError(
        try PretrainedEmbeddings(
          path: path, dimension: dimension, normalization: TokenNormalization(), dataWords: [])
      ) {
        XCTAssertEqual(($0 as? OptionError)?.option, "embedding-size", "\(dimension)")
      }
    }
  }

  /// What the command line refuses as idle is refused from a program too: frozen embeddings
  /// without vectors trained as if unset.
  func testFreezingEmbeddingsWithoutVectorsIsRefused() throws {
    let train = try readLabelledCoNLL(path: fixture("train.conll"))
    var options = oneEpoch()
    options.freezeEmbeddings = true
    XCTAssertTrue(
      message {
        try Trainer(configuration: smallConfiguration(), options: options).train(
          train: train, dev: [])
      }.hasPrefix("--freeze-embeddings needs --embeddings"))
  }

  /// The settings the recipe refuses as idle are refused by `Trainer` too (four of the seven
  /// here; the same function decides all), before any work: a
  /// CRF trained with the SSVM's `l2` recorded it, and the model's own recipe was then refused
  /// (`trellis info M --config` into `trellis train --config`, exit 64).
  func testSettingsThatActOnNothingTheRunHasAreRefused() throws {
    let train = try readLabelledCoNLL(path: fixture("train.conll"))
    var l2 = smallConfiguration()
    l2.headOptions.l2 = 0.5
    var cost = smallConfiguration()
    cost.headOptions.costWeight = 2
    var annealing = oneEpoch()
    annealing.annealPatience += 1
    var dropout = oneEpoch()
    (dropout.dropout, dropout.variationalDropout) = (0, true)
    for (configuration, options, expected) in [
      (l2, oneEpoch(), "--l2 acts on the SSVM head alone"),
      (cost, oneEpoch(), "--cost-weight acts on the SSVM head alone"),
      (smallConfiguration(), annealing, "--anneal-patience acts on annealing"),
      (smallConfiguration(), dropout, "--variational-dropout acts on dropout"),
    ] {
      let refusal = message {
        try Trainer(configuration: configuration, options: options).train(train: train, dev: [])
      }
      XCTAssertTrue(refusal.hasPrefix(expected), refusal)
    }
  }

  /// The recipe a model records (and `onStart` is told) holds the architecture the run
  /// trained, whatever the program's provenance said: a default recipe's 100 hidden units
  /// were recorded for a model of 4.
  func testTheRecordedRecipeHoldsTheRunsArchitecture() throws {
    let train = try readLabelledCoNLL(path: fixture("train.conll"))
    let trainer = Trainer(configuration: smallConfiguration(), options: oneEpoch())
    trainer.provenance = Provenance(recipe: TrainingRecipe(), inputs: [])
    var told: TrainingRecipe?
    trainer.onStart = { told = $0 }
    let model = try trainer.train(train: train, dev: [])
    XCTAssertEqual(told?.configuration.hiddenSize, 4)
    XCTAssertEqual(model.provenance?.recipe.configuration, model.configuration)
  }

  /// A NUL ends the name open(2) is given: `a\0b.model` was written as `a%00b.model`.
  func testAModelPathHoldingNULIsRefused() throws {
    let train = try readLabelledCoNLL(path: fixture("train.conll"))
    let model = try Trainer(configuration: smallConfiguration(), options: oneEpoch()).train(
      train: train, dev: [])
    let directory = temporaryPath("nul")
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    XCTAssertTrue(
      message { try ModelFile.write(model, to: directory + "/a\u{0}b.model") }
        .hasSuffix("names a path with a NUL character, which no file name can hold"))
    XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory), [])
  }

  func testBLASThreadCountsOutOfRangeAreRefused() {
    for count in [0, -1, 1 << 40] {
      XCTAssertThrowsError(try setBLASThreadCount(count), "\(count)")
    }
  }
}
