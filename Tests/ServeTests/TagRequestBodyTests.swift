import XCTest

@testable import Trellis
@testable import TrellisServer

/// `--max-nbest-labels` counts the labels of the n-best lists as tagging makes them: a long
/// sentence's list is cut to fit the search's entries (`TaggingOptions.nbestEntryLimit`), so
/// `tag` and `Tagger` answer it, and the server must not refuse it for `nbest` times its tokens.
final class TagRequestBodyTests: XCTestCase {
  /// 1,100 tokens of a 40-label model: ⌊2²⁵ / (1,100 · 40)⌋ = 762 sequences of 1,100 labels,
  /// 838,200 labels, where `nbest` 1,000 times the tokens is 1,100,000.
  func testTheNBestLimitCountsTheListsAsTheyAreCut() throws {
    let model = try untrainedModel(labelCount: 40)
    let tokens = Array(repeating: #""a""#, count: 1100).joined(separator: ",")
    let body = tagBody([#"{"tokens": [\#(tokens)]}"#], extra: #", "nbest": 1000"#)
    var limits = ServerLimits()
    limits.maxNbestLabels = 838_200
    let read = try TagRequestBody(body: body, limits: limits, model: model)
    XCTAssertEqual(read.requests.map(\.tokens.count), [1100])
    limits.maxNbestLabels = 838_199
    XCTAssertThrowsError(try TagRequestBody(body: body, limits: limits, model: model)) { error in
      XCTAssertEqual(
        (error as? ServiceError)?.message,
        #""nbest" 1000 over 1100 tokens asks for up to 838200 labels; a request may ask for at "#
          + "most 838199 (lower nbest, or send fewer tokens)")
    }
  }
}

/// An untrained model of the word `a` and `labelCount` labels (`O`, `B-t1`, …), tiny sizes.
func untrainedModel(labelCount: Int) throws -> TaggerModel {
  var configuration = TaggerConfiguration()
  (configuration.embeddingSize, configuration.hiddenSize, configuration.characterFilters) = (
    2, 2, 0
  )
  var rng = SplitMix64(seed: 1)
  return try TaggerModel(
    configuration: configuration, words: Vocabulary(["<pad>", "<unk>", "a"]),
    labels: Vocabulary(["O"] + (1..<labelCount).map { "B-t\($0)" }), rng: &rng)
}
