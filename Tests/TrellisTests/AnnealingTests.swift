import XCTest

@testable import Trellis

/// The learning rate: decayed epoch by epoch (`TrainingOptions.learningRateDecay`) and
/// annealed on a dev plateau (`TrainingOptions.annealFactor`).
final class AnnealingTests: XCTestCase {
  /// The count from a dev history against another reading of the rule: each maximal run of
  /// epochs without a better dev F1 anneals once for every whole `patience` epochs in it that
  /// come after the first `epochsBeforeStopping`, and every epoch is better than a best of 0.
  func testAnnealingsCountWholePatiencesInEveryPlateau() {
    let plateaus: [Double] = [90, 91, 91, 90, 89, 92, 92, 92, 92, 92, 92]
    XCTAssertEqual(
      TrainingState.annealings(devF1History: plateaus, patience: 3, epochsBeforeStopping: 0), 2)
    XCTAssertEqual(
      TrainingState.annealings(devF1History: plateaus, patience: 3, epochsBeforeStopping: 8), 1)
    var rng = SplitMix64(seed: 3)
    for _ in 0..<2000 {
      let history = (0..<Int(rng.next() % 40)).map { _ in Double(rng.next() % 6) }
      let patience = 1 + Int(rng.next() % 5)
      let floor = Int(rng.next() % 10)
      var (expected, plateau, best) = (0, 0, -Double.infinity)
      for (epoch, f1) in zip(1..., history) {
        if f1 > best || best == 0 {
          (expected, plateau, best) = (expected + plateau / patience, 0, f1)
        } else if epoch > floor {
          plateau += 1
        }
      }
      expected += plateau / patience
      XCTAssertEqual(
        TrainingState.annealings(
          devF1History: history, patience: patience, epochsBeforeStopping: floor), expected,
        "\(history), patience \(patience), floor \(floor)")
    }
  }

  /// Epoch e (from 0) trains at η₀ / (1 + decay·e): the first at η₀ itself.
  func testEpochsTrainAtTheDecayedRate() throws {
    let train = try readLabelledCoNLL(path: "Corpora/tiny/train.conll")
    var configuration = TaggerConfiguration()
    (configuration.embeddingSize, configuration.hiddenSize) = (8, 8)
    configuration.characterFilters = 0
    var options = TrainingOptions()
    (options.epochs, options.optimizer, options.learningRateDecay) = (3, .sgd, 0.5)
    var reports: [EpochReport] = []
    let trainer = Trainer(configuration: configuration, options: options)
    trainer.onEpoch = { reports.append($0) }
    _ = try trainer.train(train: train, dev: [])
    let η0 = options.initialLearningRate
    XCTAssertEqual(reports.map(\.learningRate), [η0, η0 / 1.5, η0 / 2])
  }

  /// Corpora/tiny's training and dev sentences, and a BiLSTM-CRF 8 wide without characters.
  private func tinyCorpusAndConfiguration() throws -> (
    train: [Sentence], dev: [Sentence], configuration: TaggerConfiguration
  ) {
    var configuration = TaggerConfiguration()
    (configuration.embeddingSize, configuration.hiddenSize) = (8, 8)
    configuration.characterFilters = 0
    return (
      try readLabelledCoNLL(path: "Corpora/tiny/train.conll"),
      try readLabelledCoNLL(path: "Corpora/tiny/dev.conll"), configuration
    )
  }

  /// Each epoch of a run trains at η₀ · factor^k, k from the dev F1s of the epochs before it;
  /// factor 1 trains at η₀ throughout.
  func testEpochsTrainAtTheAnnealedRate() throws {
    let (train, dev, configuration) = try tinyCorpusAndConfiguration()
    for factor in [1.0, 0.5] {
      var options = TrainingOptions()
      (options.epochs, options.patience) = (30, 0)
      // Factor 1 turns annealing off, and its patience is then left at the default: set, it is
      // a setting that does nothing, which `Trainer` refuses.
      options.annealFactor = factor
      if factor != 1 { options.annealPatience = 1 }
      // Batches of one sentence: 40 updates an epoch, so annealing acts after 25 epochs
      // (`TrainingOptions.updatesBeforeStopping`); at this rate dev F1 falls back after epoch
      // 26.
      (options.batchSize, options.learningRate) = (1, 0.005)
      let floor = TrainingState.epochsBeforeStopping(sentences: train.count, batchSize: 1)
      XCTAssertEqual(floor, 25)
      var reports: [EpochReport] = []
      let trainer = Trainer(configuration: configuration, options: options)
      trainer.onEpoch = { reports.append($0) }
      _ = try trainer.train(train: train, dev: dev)
      XCTAssertEqual(reports.count, 30)
      let history = reports.map { $0.devF1! }
      for (epoch, report) in reports.enumerated() {
        let annealings = TrainingState.annealings(
          devF1History: Array(history[..<epoch]), patience: 1, epochsBeforeStopping: floor)
        XCTAssertEqual(
          report.learningRate, options.initialLearningRate * pow(factor, Double(annealings)),
          "factor \(factor), epoch \(epoch + 1)")
      }
      if factor < 1 {
        XCTAssertLessThan(reports.last!.learningRate, options.initialLearningRate, "never annealed")
      }
    }
  }

  /// A checkpoint of a version whose patience and annealing did not wait for
  /// `TrainingOptions.updatesBeforeStopping` updates (0.6.0) is refused where its run would
  /// already have gone otherwise: one that had halved its rate twice resumed at the full rate.
  /// Where the rules agree on its epochs (nothing anneals, nothing stops), it resumes.
  func testACheckpointOfAVersionThatDidNotWaitIsRefusedWhereItsRunWouldDiffer() throws {
    let (train, dev, configuration) = try tinyCorpusAndConfiguration()
    let checkpoint = FileManager.default.temporaryDirectory
      .appendingPathComponent("annealing-\(UUID().uuidString).checkpoint").path
    defer { try? FileManager.default.removeItem(atPath: checkpoint) }
    // (anneal factor, updates the checkpoint's version waited for, patience, refused): with
    // patience 1 the earlier rule had stopped the run after epoch 2.
    for (factor, updates, patience, refused) in [
      (0.5, 0, 0, true), (0.5, 1_000, 0, false), (1.0, 0, 0, false), (1.0, 0, 1, true),
    ] {
      var options = TrainingOptions()
      (options.epochs, options.patience, options.batchSize) = (3, patience, 1)
      // Factor 1 turns annealing off, and its patience is then left at the default: set, it is
      // a setting that does nothing, which `Trainer` refuses.
      options.annealFactor = factor
      if factor != 1 { options.annealPatience = 1 }
      let trainer = Trainer(configuration: configuration, options: options)
      try? FileManager.default.removeItem(atPath: checkpoint)
      _ = try trainer.train(train: train, dev: dev, checkpoint: checkpoint)
      // Epochs 2 and 3 without a better dev F1: the earlier rule annealed after each.
      var (model, state, written) = try Checkpoint.read(from: checkpoint)
      state.record.devF1History = [50, 40, 40]
      (state.record.selectedEpoch, state.epochsWithoutImprovement, state.bestF1) = (1, 2, 50)
      state.updatesBeforeStopping = updates
      try Checkpoint.write(model: model, state: state, options: written, to: checkpoint)
      let resume = {
        try trainer.train(train: train, dev: dev, checkpoint: checkpoint, resume: true)
      }
      guard refused else {
        XCTAssertNoThrow(try resume(), "factor \(factor), \(updates) updates, \(patience)")
        continue
      }
      XCTAssertThrowsError(try resume()) {
        XCTAssertTrue(
          "\($0)".contains(
            "was written by a version whose patience and annealing acted from the first "
              + "epoch, where this one's wait for 1000 updates (epoch 25)"), "\($0)")
      }
    }
  }
}
