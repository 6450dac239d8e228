import XCTest

@testable import Trellis

/// A sentence's cost to tag grows with tokens × labels (back-pointers, the confidences'
/// recursions): a model of many labels takes fewer tokens a sentence
/// (`TaggerModel.sentenceTokenLimit`), so no sentence an input may hold needs gigabytes.
final class SentenceTokenLimitTests: XCTestCase {
  /// A model of `labelCount` labels (O and B- labels) over the words "a" and "b".
  static func model(labelCount: Int) throws -> TaggerModel {
    var configuration = TaggerConfiguration()
    (configuration.embeddingSize, configuration.hiddenSize, configuration.characterFilters) = (
      2, 2, 0
    )
    var rng = SplitMix64(seed: 1)
    return try TaggerModel(
      configuration: configuration, words: Vocabulary(["<pad>", "<unk>", "a", "b"]),
      labels: Vocabulary(["O"] + (1..<labelCount).map { "B-t\($0)" }), rng: &rng)
  }

  func testTheLimitFollowsTheLabelCount() throws {
    let few = try Self.model(labelCount: 3)
    XCTAssertEqual(few.sentenceTokenLimit, Sentence.tokenLimit)
    XCTAssertNil(few.tokenLimitError(count: Sentence.tokenLimit))
    XCTAssertEqual(
      few.tokenLimitError(count: Sentence.tokenLimit + 1),
      Sentence.tokenLimitError(count: Sentence.tokenLimit + 1))
    let many = try Self.model(labelCount: 1024)
    XCTAssertEqual(many.sentenceTokenLimit, TaggerModel.sentenceEntryLimit / 1024)
    XCTAssertNil(many.tokenLimitError(count: many.sentenceTokenLimit))
    XCTAssertEqual(
      many.tokenLimitError(count: 16_385),
      "16385 tokens, more than the 16384 a sentence may hold for this model's 1024 labels "
        + "(tokens × labels at most 16777216)")
  }

  /// Training holds (tokens, labels) arrays a sentence too: training and dev data are checked
  /// against the limit of a model of the training data's labels, at the sentence's first line.
  func testTrainingRefusesASentencePastTheLimitOfItsLabels() throws {
    let labels = ["O"] + (1..<1024).map { "B-t\($0)" }
    let train = labels.enumerated().map { index, label in
      Sentence(fields: [["a", label]], firstLine: 2 * index + 1)
    }
    let long = Sentence(
      fields: Array(repeating: ["a", "O"], count: 16_385), firstLine: 7)
    XCTAssertNoThrow(
      try TrainingData.check(
        train: train, file: "train.conll", dev: [], file: "dev.conll",
        configuration: TaggerConfiguration()))
    XCTAssertThrowsError(
      try TrainingData.check(
        train: train, file: "train.conll", dev: [long], file: "dev.conll",
        configuration: TaggerConfiguration())
    ) {
      XCTAssertEqual(
        $0 as? TrellisError,
        TrellisError(
          file: "dev.conll", line: 7,
          TaggerModel.tokenLimitError(count: 16_385, labelCount: 1024)!))
    }
    let trainer = Trainer(configuration: TaggerConfiguration(), options: TrainingOptions())
    XCTAssertThrowsError(try trainer.train(train: train + [long], dev: [])) {
      XCTAssertEqual(($0 as? TrellisError)?.file, "training data")
      XCTAssertEqual(($0 as? TrellisError)?.line, 7)
    }
  }

  /// JSON lines (the CLI's `--input jsonl`, the C ABI, Python) answer a sentence past the
  /// model's limit with an error and tag the others.
  func testJSONLinesRefuseASentencePastTheModelsLimit() throws {
    let model = try Self.model(labelCount: 1024)
    let long = Array(repeating: "\"a\"", count: 16_385).joined(separator: ",")
    let answers = try model.tagJSONLines(
      [#"{"id":7,"tokens":[\#(long)]}"#, #"{"tokens":["a","b"]}"#], options: TaggingOptions())
    XCTAssertEqual(
      answers[0].error, try XCTUnwrap(model.tokenLimitError(count: 16_385)), answers[0].line)
    XCTAssertTrue(answers[0].line.hasPrefix(#"{"id":7,"error":"#), answers[0].line)
    XCTAssertNil(answers[1].error, answers[1].line)
  }
}
