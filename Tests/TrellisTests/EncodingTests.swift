import XCTest

@testable import Trellis

/// How a sentence becomes ids (`TaggerModel.encode`): what training never saw reads as
/// `<unk>` (id 1), never as `<pad>` (id 0), whose row stands for positions outside the sentence.
final class EncodingTests: XCTestCase {
  func testUnseenWordsAndFeatureValuesReadAsUnknown() {
    var configuration = TaggerConfiguration()
    (configuration.embeddingSize, configuration.hiddenSize) = (3, 2)
    configuration.featureColumns = [FeatureColumn(column: 2, size: 2)]
    var rng = SplitMix64(seed: 3)
    let model = TaggerModel(
      configuration: configuration, words: Vocabulary(["<pad>", "<unk>", "a", "b"]),
      labels: Vocabulary(["O"]), featureVocabularies: [Vocabulary(["<pad>", "<unk>", "x", "y"])],
      rng: &rng)
    let tokens = ["a", "never", "b"]
    let full = model.encode(TokenInput(tokens: tokens, features: [["x", "never", "y"]]))
    XCTAssertEqual(full.words, [2, 1, 3])
    XCTAssertEqual(full.features, [[2, 1, 3]])
    // A column shorter than the sentence, or missing, reads as <unk> where it has no value.
    let short = model.encode(TokenInput(tokens: tokens, features: [["y"]]))
    XCTAssertEqual(short.features, [[3, 1, 1]])
    XCTAssertEqual(model.encode(TokenInput(tokens: tokens)).features, [[1, 1, 1]])
  }
}
