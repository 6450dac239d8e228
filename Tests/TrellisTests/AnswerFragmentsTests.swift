import ConllEval
import XCTest

@testable import Trellis

/// `labelsOnlyAnswerLine`, which writes JSON-lines answers from label ids, against the general
/// path (`TaggingResponse(request:analysis:).jsonLine()` of `analysis(of:_:)`): the same bytes
/// for random label paths over labels and tokens that need escaping, with and without ids and
/// passthrough fields; and no fast answer where it does not apply.
final class AnswerFragmentsTests: XCTestCase {
  let labels = [
    "O", "B-a\"b", "I-a\"b", "B-c\\d", "I-c\\d", "B-é/x", "I-é/x", "B-\u{1}t", "I-\u{1}t",
    "E-a\"b", "S-c\\d", "B-fromloc.city_name", "I-fromloc.city_name",
  ]
  let pieces = ["a", "\"", "\\", "/", "é", "日本", "😀", "\u{2028}", "\u{7F}", "\u{1}", "\t", "x"]

  func randomToken(_ rng: inout SplitMix64) -> String {
    (0..<1 + Int(rng.next() % 3)).map { _ in pieces[Int(rng.next() % UInt64(pieces.count))] }
      .joined()
  }

  func testLabelsOnlyAnswersAreTheGeneralAnswers() throws {
    let model = makeModel(labels: labels)
    var rng = SplitMix64(seed: 17)
    for iteration in 0..<500 {
      let tokens = (0..<Int(rng.next() % 9)).map { _ in randomToken(&rng) }
      let path = tokens.map { _ in Int(rng.next() % UInt64(labels.count)) }
      var members = ["\"tokens\":[" + tokens.map(jsonString).joined(separator: ",") + "]"]
      if rng.next() % 2 == 0 { members.insert("\"id\":\(iteration)", at: 0) }
      if rng.next() % 2 == 0 { members.append("\"source\":{\"page\":[1,\"\\u00e9\"]}") }
      let request = try TaggingRequest(jsonLine: "{" + members.joined(separator: ",") + "}")
      let general = try TaggingResponse(
        request: request, analysis: model.analysis(of: tokens, TaggerModel.Prediction(path: path))
      ).jsonLine()
      let fast = try XCTUnwrap(
        model.labelsOnlyAnswerLine(to: request, path: path, options: TaggingOptions()))
      XCTAssertEqual(Array(fast.utf8), Array(general.utf8), "request \(iteration)")
    }
  }

  /// Confidences, n-best lists and text requests take the general path.
  func testAnswersWithMoreThanLabelsAreLeftToTheGeneralPath() throws {
    let model = makeModel(labels: labels)
    let tokens = try TaggingRequest(jsonLine: "{\"tokens\":[\"a\",\"b\"]}")
    var confidence = TaggingOptions()
    confidence.confidence = true
    var nbest = TaggingOptions()
    nbest.nbest = 2
    XCTAssertNil(model.labelsOnlyAnswerLine(to: tokens, path: [1, 2], options: confidence))
    XCTAssertNil(model.labelsOnlyAnswerLine(to: tokens, path: [1, 2], options: nbest))
    let text = try TaggingRequest(jsonLine: "{\"text\":\"a b\"}")
    XCTAssertNil(model.labelsOnlyAnswerLine(to: text, path: [1, 2], options: TaggingOptions()))
    XCTAssertNotNil(
      model.labelsOnlyAnswerLine(to: tokens, path: [1, 2], options: TaggingOptions()))
  }
}
