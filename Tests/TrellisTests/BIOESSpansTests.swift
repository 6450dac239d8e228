import XCTest

@testable import Trellis

/// A model of BIOES data answers in BIOES, and its spans are the scheme's: S-X and E-X end
/// one. Spans followed conlleval's rules, which know no S-, so "S-a S-a" was one span of two
/// tokens.
final class BIOESSpansTests: XCTestCase {
  func testSpansOfBIOESAnswersEndAtSAndE() throws {
    var configuration = TaggerConfiguration()
    (configuration.embeddingSize, configuration.hiddenSize) = (3, 2)
    (configuration.characterFilters, configuration.scheme) = (0, .bioes)
    let labels = ["O", "B-a", "I-a", "E-a", "S-a"]
    var rng = SplitMix64(seed: 1)
    let model = try TaggerModel(
      configuration: configuration, words: Vocabulary(["<pad>", "<unk>", "a", "b"]),
      labels: Vocabulary(labels), rng: &rng)
    let path = ["S-a", "S-a", "B-a", "E-a", "O", "S-a"].map { labels.firstIndex(of: $0)! }
    let analysis = model.analysis(
      of: ["a", "b", "a", "b", "a", "b"], TaggerModel.Prediction(path: path))
    XCTAssertEqual(
      analysis.spans.map { [$0.start, $0.end] }, [[0, 1], [1, 2], [2, 4], [5, 6]])
    XCTAssertEqual(analysis.spans.map(\.text), ["a", "b", "a b", "b"])
    XCTAssertEqual(Set(analysis.spans.map(\.label)), ["a"])
    // Counted as BIO, but for labels that are no chunk labels (gold labels the model never
    // answers), which stay as they are: read as "O", a predicted "O" matched a gold "MISC".
    XCTAssertEqual(
      model.countedLabels(["S-a", "B-a", "E-a", "MISC", "I-a", "E-a", "B-", "O", "S-b"]),
      ["B-a", "B-a", "I-a", "MISC", "B-a", "I-a", "B-", "O", "B-b"])
  }
}

/// A model of labels without chunk prefixes (part-of-speech tags) answers spans as its dev
/// score counts chunks, `conlleval -r`'s: each label but "O" a one-token span of the whole
/// label. By conlleval's own rules "VBZ" began a span labelled "" and "-LRB-" one labelled
/// "LRB-", and `spanLabels` said so.
final class RawLabelSpansTests: XCTestCase {
  func testSpansOfRawLabelsAreOneTokenEach() throws {
    let labels = ["O", "DT", "VBZ", "-LRB-"]
    let model = makeModel(labels: labels)
    XCTAssertTrue(model.labelsAreRaw)
    XCTAssertEqual(model.spanLabels, ["", "DT", "VBZ", "-LRB-"])
    let path = ["DT", "VBZ", "VBZ", "O", "-LRB-"].map { labels.firstIndex(of: $0)! }
    let analysis = model.analysis(
      of: ["w2", "w3", "w4", "w5", "w2"], TaggerModel.Prediction(path: path))
    XCTAssertEqual(
      analysis.spans.map { [$0.start, $0.end] }, [[0, 1], [1, 2], [2, 3], [4, 5]])
    XCTAssertEqual(analysis.spans.map(\.label), ["DT", "VBZ", "VBZ", "-LRB-"])
  }
}
