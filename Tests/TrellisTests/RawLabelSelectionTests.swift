import ConllEval
import XCTest

@testable import Trellis

/// Labels without chunk prefixes (part-of-speech tags, IO labels) have no chunks for
/// conlleval, so their dev F1 was 0 in every epoch and training kept the first epoch. They
/// are scored as `conlleval -r` scores them.
final class RawLabelSelectionTests: XCTestCase {
  /// Every label a one-token chunk: without "O", F1 is the token accuracy.
  func testRawLabelsScoreAsConllevalR() {
    var counts = ConllCounts()
    counts.add(
      gold: ["NN", "NN", "VB", "DT"], predicted: ["NN", "VB", "VB", "DT"], rawLabels: true)
    XCTAssertEqual(counts.accuracy, 75)
    XCTAssertEqual(counts.f1, 75, accuracy: 1e-9)
    var prefixed = ConllCounts()
    prefixed.add(gold: ["NN", "NN", "VB", "DT"], predicted: ["NN", "VB", "VB", "DT"])
    XCTAssertEqual(prefixed.f1, 0, "conlleval without -r finds no chunk")
  }

  /// A tagger of word lengths ("SHORT"/"LONG", no "O"): dev F1 is the accuracy, it rises, and
  /// a later epoch than the first is kept.
  func testTrainingSelectsOnRawLabels() throws {
    func relabelled(_ sentences: [Sentence]) -> [Sentence] {
      sentences.map { sentence in
        Sentence(
          fields: sentence.fields.map { [$0[0], $0[0].count > 4 ? "LONG" : "SHORT"] },
          firstLine: sentence.firstLine)
      }
    }
    let train = relabelled(try readLabelledCoNLL(path: "Corpora/tiny/train.conll"))
    let dev = relabelled(try readLabelledCoNLL(path: "Corpora/tiny/dev.conll"))
    var configuration = TaggerConfiguration()
    (configuration.embeddingSize, configuration.hiddenSize) = (8, 8)
    var options = TrainingOptions()
    (options.epochs, options.patience) = (6, 0)
    var reports: [EpochReport] = []
    let trainer = Trainer(configuration: configuration, options: options)
    trainer.onEpoch = { reports.append($0) }
    let model = try trainer.train(train: train, dev: dev)
    XCTAssertTrue(model.labelsAreRaw)
    for report in reports {
      XCTAssertEqual(report.devF1!, report.devAccuracy!, accuracy: 1e-9, "epoch \(report.epoch)")
    }
    XCTAssertGreaterThan(reports.last!.devF1!, reports.first!.devF1!)
    XCTAssertGreaterThan(reports.last { $0.isBest }!.epoch, 1, "the first epoch was kept")
  }
}
