import Foundation
import XCTest

@testable import Trellis

/// Pretrained vectors in training: which words they bring into the vocabulary (scope), the
/// lowercase fallback and its coverage counts, seeding, and freezing.
final class PretrainedEmbeddingsTests: XCTestCase {
  let train = [
    Sentence(tokens: ["Show", "flights", "to", "Boston"], labels: ["O", "O", "O", "B-city"]),
    Sentence(tokens: ["fares", "to", "Denver"], labels: ["O", "O", "B-city"]),
    Sentence(tokens: ["flights", "to", "Boston"], labels: ["O", "O", "B-city"]),
  ]
  let dev = [Sentence(tokens: ["flights", "to", "Atlanta"], labels: ["O", "O", "B-city"])]
  /// Words of the data with a vector: flights, boston, denver (training), atlanta (dev only);
  /// zzunseen is in no data file; `<unk>` is a reserved row the file must not overwrite.
  let vectorText =
    "boston 1 1 1 1\nflights 2 2 2 2\natlanta 3 3 3 3\nzzunseen 4 4 4 4\ndenver 5 5 5 5\n<unk> 9 9 9 9\n"
  let seededWords = ["flights", "boston", "denver", "atlanta"]

  func configuration() -> TaggerConfiguration {
    var configuration = TaggerConfiguration()
    configuration.embeddingSize = 4
    configuration.hiddenSize = 4
    return configuration
  }

  func options(epochs: Int = 3, freeze: Bool = false) -> TrainingOptions {
    var options = TrainingOptions()
    options.epochs = epochs
    options.freezeEmbeddings = freeze
    return options
  }

  func vectors(
    scope: EmbeddingScope = .data, normalization: TokenNormalization = TokenNormalization()
  ) throws
    -> PretrainedEmbeddings
  {
    let path = temporaryPath("pretrained.txt")
    try vectorText.write(toFile: path, atomically: true, encoding: .utf8)
    return try PretrainedEmbeddings(
      path: path, dimension: 4, normalization: normalization,
      dataWords: PretrainedEmbeddings.dataWords(of: train + dev, normalization: normalization),
      scope: scope)
  }

  func trainer(_ options: TrainingOptions, scope: EmbeddingScope = .data) throws -> Trainer {
    let trainer = Trainer(configuration: configuration(), options: options)
    trainer.pretrained = try vectors(scope: scope)
    return trainer
  }

  /// The embedding row of `word` in `model`.
  func row(_ model: TaggerModel, _ word: String) -> [Float] {
    let D = model.configuration.embeddingSize
    return Array(
      UnsafeBufferPointer(
        start: model.store.value(model.embedding.table) + model.wordId(for: word) * D, count: D))
  }

  func vector(_ word: String) -> [Float] {
    let line = vectorText.split(separator: "\n").first { $0.hasPrefix(word + " ") }!
    return line.split(separator: " ").dropFirst().map { Float($0)! }
  }

  /// A model that keeps case looks cased words up under their own key first, then lowercased.
  func testLowercaseFallbackAndCoverage() throws {
    let cased = try vectors(normalization: TokenNormalization(lowercase: false))
    // Data words: Show flights to Boston fares Denver Atlanta.
    XCTAssertEqual(cased.coverage, EmbeddingCoverage(exact: 1, lowercased: 3, missing: 3))
    XCTAssertEqual(cased.keys, ["flights", "Boston", "Denver", "Atlanta"])
    XCTAssertEqual(cased.vector(for: "Boston").map(Array.init), vector("boston"))
    XCTAssertNil(cased.vector(for: "zzunseen"), "not a data word: not kept")
    let lowered = try vectors()
    XCTAssertEqual(lowered.coverage, EmbeddingCoverage(exact: 4, lowercased: 0, missing: 3))
    XCTAssertEqual(lowered.keptVectorCount, 4)
  }

  /// A data file holding the reserved tokens (a corpus preprocessed with `<unk>`) neither
  /// covers them by the file's `<unk>` vector nor lists them to seed.
  func testReservedTokensInTheDataAreNotCoverage() throws {
    let path = temporaryPath("pretrained.txt")
    try vectorText.write(toFile: path, atomically: true, encoding: .utf8)
    let data = [
      Sentence(tokens: ["<unk>", "to", "<pad>", "Boston"], labels: ["O", "O", "O", "O"])
    ]
    for scope in [EmbeddingScope.data, .all] {
      let embeddings = try PretrainedEmbeddings(
        path: path, dimension: 4, normalization: TokenNormalization(),
        dataWords: PretrainedEmbeddings.dataWords(of: data, normalization: TokenNormalization()),
        scope: scope)
      XCTAssertEqual(
        embeddings.coverage, EmbeddingCoverage(exact: 1, lowercased: 0, missing: 1), "\(scope)")
      XCTAssertFalse(embeddings.keys.contains(ReservedWord.unknown), "\(scope)")
    }
  }

  /// Normalisation can merge a file's words ("Boston" and "boston" for a lowercasing model):
  /// a record whose word is the key itself is its vector wherever it stands in the file (an
  /// earlier "Boston" loses to "boston"), else the first record of the key ("To" before "TO");
  /// each key is one row and listed once, for scope `data` and `all` alike.
  func testTheKeysOwnRecordElseTheFirstIsAMergedKeysVector() throws {
    let path = temporaryPath("merged.txt")
    try ("Boston 7 7 7 7\nTo 6 6 6 6\n" + vectorText + "ZZUNSEEN 8 8 8 8\nTO 5 5 5 5\n").write(
      toFile: path, atomically: true, encoding: .utf8)
    let normalization = TokenNormalization()
    for scope in EmbeddingScope.allCases {
      let merged = try PretrainedEmbeddings(
        path: path, dimension: 4, normalization: normalization,
        dataWords: PretrainedEmbeddings.dataWords(of: train + dev, normalization: normalization),
        scope: scope)
      XCTAssertEqual(merged.vector(for: "boston").map(Array.init), vector("boston"), "\(scope)")
      XCTAssertEqual(merged.vector(for: "to").map(Array.init), [6, 6, 6, 6], "\(scope)")
      XCTAssertEqual(merged.fileVectorCount, 10)
      switch scope {
      case .data:
        XCTAssertEqual(merged.keptVectorCount, 5)
        XCTAssertEqual(merged.keys, ["flights", "to", "boston", "denver", "atlanta"])
      case .all:
        XCTAssertEqual(merged.vector(for: "zzunseen").map(Array.init), vector("zzunseen"))
        XCTAssertEqual(merged.keptVectorCount, 6, "the file's `<unk>` neither kept nor counted")
        XCTAssertEqual(
          merged.keys, ["flights", "to", "boston", "denver", "atlanta", "zzunseen"],
          "the data's words, then the file's other keys in file order, each once, `<unk>` aside")
      }
    }
  }

  /// Scope `data`: the vocabulary is the training words plus the dev words that have a vector;
  /// scope `all` adds every word of the file. Vectors seed their rows; the rest is random.
  func testScopeDecidesTheVocabulary() throws {
    var reported: (seeded: Int, added: Int)?
    let dataTrainer = try trainer(options(epochs: 1))
    dataTrainer.onPretrainedVocabulary = { reported = ($0, $1) }
    let data = try dataTrainer.fresh(train: train).model
    XCTAssertEqual(
      data.words.strings,
      ["<pad>", "<unk>", "show", "flights", "to", "boston", "fares", "denver", "atlanta"])
    XCTAssertEqual(reported?.seeded, 4)
    XCTAssertEqual(reported?.added, 1)
    for word in seededWords { XCTAssertEqual(row(data, word), vector(word), word) }

    let all = try trainer(options(epochs: 1), scope: .all).fresh(train: train).model
    XCTAssertEqual(Array(all.words.strings.suffix(2)), ["atlanta", "zzunseen"])
    XCTAssertEqual(row(all, "zzunseen"), vector("zzunseen"))
    XCTAssertNotEqual(row(all, "<unk>"), vector("<unk>"), "<unk> keeps its own row")
    XCTAssertEqual(all.store.count - data.store.count, 4, "one more row of D = 4")

    let plain = try Trainer(configuration: configuration(), options: options(epochs: 1)).fresh(
      train: train
    ).model
    XCTAssertEqual(data.store.count - plain.store.count, 4, "atlanta's row")
  }

  /// Frozen rows keep their vectors exactly through training and a checkpoint resume, while
  /// the rows of words without a vector train; without freezing the vectors move too.
  func testFreezeKeepsTheVectorsAndTrainsTheOtherRows() throws {
    let checkpoint = temporaryPath("frozen.checkpoint")
    try? FileManager.default.removeItem(atPath: checkpoint)
    let frozenTrainer = try trainer(options(epochs: 2, freeze: true))
    let initial = try frozenTrainer.fresh(train: train).model
    _ = try frozenTrainer.train(train: train, dev: dev, checkpoint: checkpoint)
    let (_, state, _) = try Checkpoint.read(from: checkpoint)
    XCTAssertEqual(state.frozenEmbeddingRows, seededWords.map(initial.wordId(for:)).sorted())
    let resumed = try trainer(options(epochs: 4, freeze: true)).train(
      train: train, dev: dev, checkpoint: checkpoint, resume: true)
    for word in seededWords { XCTAssertEqual(row(resumed, word), vector(word), word) }
    XCTAssertNotEqual(row(resumed, "to"), row(initial, "to"), "a word without a vector trains")

    let fineTuned = try trainer(options(epochs: 4)).train(train: train, dev: dev)
    XCTAssertNotEqual(
      row(fineTuned, "flights"), vector("flights"), "seen twice: never read as <unk>")
  }

  /// With averaging, the saved model is the weights' average, which starts from the weights
  /// as the vectors left them: a frozen row, and the row of a word no training sentence holds
  /// (scope `all`), keep their vectors exactly. The average once started from the random rows
  /// and never reached the vectors.
  func testAveragingKeepsTheVectorsOfRowsNoStepChanges() throws {
    var averaged = options(epochs: 2, freeze: true)
    averaged.average = true
    let model = try trainer(averaged, scope: .all).train(train: train, dev: dev)
    for word in seededWords + ["zzunseen"] { XCTAssertEqual(row(model, word), vector(word), word) }
  }

  /// `train` refuses, by throwing before any work, what it used to stop the process for:
  /// vectors of another size than the embeddings, and training sentences of no tokens (a model
  /// of no labels); and `resume` without a checkpoint, which trained afresh.
  func testTrainRefusesWhatItCannotUse() throws {
    var wide = configuration()
    wide.embeddingSize = 5
    let mismatched = Trainer(configuration: wide, options: options(epochs: 1))
    mismatched.pretrained = try vectors()
    XCTAssertThrowsError(try mismatched.train(train: train, dev: [])) {
      XCTAssertEqual(
        ($0 as? OptionError)?.description,
        "--embedding-size is 5, but the pretrained vectors have 4 dimensions")
    }
    let plain = Trainer(configuration: configuration(), options: options(epochs: 1))
    XCTAssertThrowsError(try plain.train(train: [Sentence(fields: [])], dev: dev)) {
      XCTAssertEqual(($0 as? TrellisError)?.description, "training data: contains no tokens")
    }
    XCTAssertThrowsError(try plain.train(train: train, dev: [], resume: true)) {
      XCTAssertEqual(($0 as? OptionError)?.option, "resume")
    }
  }

  func testSameSeedAndVectorsGiveTheSameModel() throws {
    let first = try trainer(options(epochs: 2)).train(train: train, dev: dev)
    let second = try trainer(options(epochs: 2)).train(train: train, dev: dev)
    XCTAssertEqual(
      try ModelFile.encode(first, name: "first"), try ModelFile.encode(second, name: "second"))
  }
}
