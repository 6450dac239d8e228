import XCTest

@testable import Trellis

/// How a sentence becomes ids (`TaggerModel.encode`): what training never saw reads as
/// `<unk>` (id 1), never as `<pad>` (id 0), whose row stands for positions outside the sentence.
final class EncodingTests: XCTestCase {
  func testUnseenWordsAndFeatureValuesReadAsUnknown() throws {
    var configuration = TaggerConfiguration()
    (configuration.embeddingSize, configuration.hiddenSize) = (3, 2)
    configuration.featureColumns = [FeatureColumn(column: 2, size: 2)]
    var rng = SplitMix64(seed: 3)
    let model = try TaggerModel(
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
    // Input of tokens alone cannot carry the feature: refused where only such input comes.
    let missing = FeatureColumnsMissing(columns: [2])
    XCTAssertThrowsError(try model.checkReadsTokensAlone()) {
      XCTAssertEqual($0 as? FeatureColumnsMissing, missing)
    }
    XCTAssertThrowsError(
      try model.tagJSONLines([#"{"tokens": ["a"]}"#])
    ) { XCTAssertEqual($0 as? FeatureColumnsMissing, missing) }
    XCTAssertEqual(missing.description, "reads feature columns 2, which only CoNLL input carries")
  }

  /// A feature value that training never saw reads the feature table's `<unk>` row, which no
  /// training token reads: it starts at zero and stays there, so such a value adds nothing
  /// to the encoder's input (it kept its random draw, as large as a trained embedding).
  func testAFeatureTablesUnknownRowIsZeroAndStaysSo() throws {
    var configuration = TaggerConfiguration()
    (configuration.embeddingSize, configuration.hiddenSize) = (3, 2)
    configuration.characterFilters = 0
    configuration.featureColumns = [FeatureColumn(column: 2, size: 2)]
    let train = (0..<8).map { n in
      Sentence(fields: [["a", "x", "B-t"], ["b", n % 2 == 0 ? "y" : "x", "O"]])
    }
    var options = TrainingOptions()
    options.epochs = 2
    let model = try Trainer(configuration: configuration, options: options).train(
      train: train, dev: [])
    let table = model.embedding.tables[1]
    let rows = UnsafeBufferPointer(start: model.store.value(table), count: table.count)
    let unknown = ReservedWord.unknownId * table.columns
    XCTAssertEqual(Array(rows[unknown..<unknown + table.columns]), [0, 0])
    XCTAssertTrue(rows[(unknown + table.columns)...].contains { $0 != 0 }, "the values train")
  }

  /// A sentence without the fields a model's feature columns read is an error at its line:
  /// it stopped the program (an index out of range) for a short line of unlabelled CoNLL.
  func testAShortLineForFeatureColumnsIsAnError() throws {
    let sentence = Sentence(fields: [["flights", "NNS"], ["boston"]], firstLine: 7)
    XCTAssertThrowsError(try TokenInput(sentence, featureCount: 1, file: "in.conll")) {
      XCTAssertEqual(
        $0 as? TrellisError,
        TrellisError(
          file: "in.conll", line: 8,
          "has 1 field(s); a model of 1 feature column(s) reads the token and 1 field(s) after it"))
    }
    XCTAssertThrowsError(try TokenInput(sentence, featureCount: -1)) {
      XCTAssertEqual(($0 as? OptionError)?.option, "featureCount")
    }
    let laidOut = Sentence(fields: [["flights", "NNS"], ["boston", "NNP"]])
    XCTAssertEqual(try TokenInput(laidOut, featureCount: 1).features, [["NNS", "NNP"]])
    XCTAssertEqual(try TokenInput(sentence, featureCount: 0).tokens, ["flights", "boston"])
  }
}
