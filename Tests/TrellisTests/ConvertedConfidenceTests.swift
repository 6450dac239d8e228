import XCTest

@testable import Trellis

/// Confidences of a model trained in another scheme than its data's are those of the labels
/// printed: a BIOES model answering in BIO prints B-a for its B-a and S-a alike, so the
/// printed label's probability is the sum of both marginals.
final class ConvertedConfidenceTests: XCTestCase {
  /// Against enumeration: with constraints every BIO sequence is one BIOES path, so the
  /// n-best list of a short sentence holds every printed sequence with its probability, and a
  /// token's confidence must be the total probability of the sequences printing its label.
  func testPrintedLabelsConfidenceIsTheirTotalProbability() throws {
    var configuration = TaggerConfiguration()
    (configuration.embeddingSize, configuration.hiddenSize) = (3, 2)
    configuration.scheme = .bio
    configuration.trainingScheme = .bioes
    for seed in 1...5 {
      var rng = SplitMix64(seed: UInt64(seed))
      let model = try TaggerModel(
        configuration: configuration, words: Vocabulary(["<pad>", "<unk>", "a", "b"]),
        labels: Vocabulary(["O", "B-a", "I-a", "E-a", "S-a", "B-b", "E-b", "S-b"]), rng: &rng)
      let analysis = model.analyze(
        [["a", "b", "a", "b"]], options: TaggingOptions(confidence: true, nbest: 1000))[0]
      XCTAssertFalse(analysis.alternativesTruncated)
      let total = analysis.alternatives.reduce(0) { $0 + ($1.probability ?? .nan) }
      XCTAssertEqual(total, 1, accuracy: 1e-9, "the list holds every sequence")
      let confidences = try XCTUnwrap(analysis.tokenConfidences)
      for (t, label) in analysis.labels.enumerated() {
        let printing = analysis.alternatives.filter { $0.labels[t] == label }
        let expected = printing.reduce(0) { $0 + ($1.probability ?? .nan) }
        XCTAssertEqual(confidences[t], expected, accuracy: 1e-9, "seed \(seed), token \(t)")
      }
    }
  }

  /// Only a conversion a token at a time groups labels; to IOB1 a printed label depends on
  /// the one before, and without a conversion each label is its own.
  func testOnlyBIOESToBIOGroupsLabels() throws {
    let labels = ["O", "B-a", "I-a", "E-a", "S-a"]
    let groups = try XCTUnwrap(TaggerModel.sameOutputGroups(labels: labels, from: .bioes, to: .bio))
    XCTAssertEqual(groups, [[0], [1, 4], [2, 3], [2, 3], [1, 4]])
    XCTAssertNil(TaggerModel.sameOutputGroups(labels: labels, from: .bioes, to: .iob1))
    XCTAssertNil(TaggerModel.sameOutputGroups(labels: labels, from: nil, to: .bioes))
    XCTAssertNil(TaggerModel.sameOutputGroups(labels: ["O", "B-a", "I-a"], from: .bio, to: .bioes))
  }
}
