import ConllEval
import Foundation
import XCTest

@testable import Trellis

/// Training in another tag scheme, and decoding constraints (pretrained vectors:
/// PretrainedEmbeddingsTests).
final class FeatureTests: XCTestCase {
  func tinyTrain() throws -> [Sentence] { try readLabelledCoNLL(path: fixture("train.conll")) }

  func smallOptions(epochs: Int = 2) -> TrainingOptions {
    var options = TrainingOptions()
    options.epochs = epochs
    return options
  }

  func smallConfiguration() -> TaggerConfiguration {
    var configuration = TaggerConfiguration()
    configuration.embeddingSize = 4
    configuration.hiddenSize = 8
    return configuration
  }

  /// A model trained in BIOES keeps BIOES labels inside and answers in the data's BIO.
  func testTrainingInBIOESAnswersInTheDataScheme() throws {
    var configuration = smallConfiguration()
    configuration.trainingScheme = .bioes
    let model = try Trainer(configuration: configuration, options: smallOptions()).train(
      train: try tinyTrain(), dev: [])
    XCTAssertEqual(model.configuration.scheme, .bio)
    XCTAssertTrue(model.labels.strings.contains { $0.hasPrefix("S-") || $0.hasPrefix("E-") })
    let tagged = model.tag(try readLabelledCoNLL(path: fixture("test.conll")).map(\.tokens))
    for labels in tagged {
      XCTAssertFalse(labels.contains { $0.hasPrefix("S-") || $0.hasPrefix("E-") })
      XCTAssertEqual(invalidTransitionCount(labels, scheme: .bio), 0)
    }
  }

  /// Constrained decoding never outputs a sequence the scheme forbids, even from a model whose
  /// emissions favour one; without constraints the same model does.
  func testConstrainedDecodingNeverBreaksTheScheme() throws {
    let labels = ["O", "B-a", "I-a", "B-b", "I-b"]
    let unconstrained = makeModel(labels: labels, seed: 3)
    let sentences = (0..<40).map { n in (0..<(1 + n % 7)).map { "w\(2 + ($0 + n) % 4)" } }
    var constrainedConfiguration = unconstrained.configuration
    constrainedConfiguration.constrainedDecoding = true
    let constrained = try TaggerModel(
      configuration: constrainedConfiguration, words: unconstrained.words,
      labels: unconstrained.labels)
    constrained.store.restore(unconstrained.store.snapshot())
    // Push I- labels up so an unconstrained decoder starts spans with them.
    for k in 0..<constrained.output.bias.count where labels[k].hasPrefix("I-") {
      constrained.store.value(constrained.output.bias)[k] += 3
      unconstrained.store.value(unconstrained.output.bias)[k] += 3
    }
    let invalid = { (model: TaggerModel) in
      model.tag(sentences).map { invalidTransitionCount($0, scheme: .bio) }.reduce(0, +)
    }
    XCTAssertGreaterThan(invalid(unconstrained), 0)
    XCTAssertEqual(invalid(constrained), 0)
  }

  /// Label sets that are not chunk labels (e.g. part-of-speech tags) get no constraints.
  func testNonChunkLabelsAreNotConstrained() throws {
    var configuration = TaggerConfiguration()
    configuration.embeddingSize = 3
    configuration.hiddenSize = 2
    var rng = SplitMix64(seed: 1)
    let model = try TaggerModel(
      configuration: configuration, words: Vocabulary(["<pad>", "<unk>"]),
      labels: Vocabulary(["DT", "NN", "VBZ"]),
      rng: &rng)
    XCTAssertNil(model.schemeConstraints)
    XCTAssertTrue(isChunkLabel("B-toloc.city_name"))
    XCTAssertFalse(isChunkLabel("NN"))
  }
}
