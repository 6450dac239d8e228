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

  /// A request the command answers is one the service answers: an id nested 510 to 512 levels
  /// deep was answered by `trellis tag` and refused by the service, which counted the body's
  /// object, its `sentences` array and the request's object as levels of the request's
  /// nesting. One level more is refused by both.
  func testRequestsAreNestedAsDeepAsTheCommandReadsThem() throws {
    let model = try untrainedModel(labelCount: 3)
    for depth in [510, 512, 513] {
      let id = String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
      let line = #"{"tokens": ["a"], "id": \#(id)}"#
      let answered = try model.tagJSONLines([line], options: TaggingOptions())[0].error == nil
      XCTAssertEqual(answered, depth <= 512, "trellis tag at \(depth)")
      let body = tagBody([line])
      if answered {
        XCTAssertNoThrow(try TagRequestBody(body: body, limits: ServerLimits(), model: model))
      } else {
        XCTAssertThrowsError(try TagRequestBody(body: body, limits: ServerLimits(), model: model))
      }
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
