import Foundation
import XCTest

/// The conlleval reports of `eval` and `score`, as text and as JSON.
final class ReportTests: CLITestCase {
  func testEvalReportCountsEveryTokenLine() throws {
    let test = PackagePaths.tiny("test")
    let eval = try trellis(["eval", "--model", try sharedModel(), "--test", test])
    assertSucceeded(eval)
    let summary = try XCTUnwrap(ReportSummary(eval.output), "unexpected report:\n\(eval.output)")
    XCTAssertEqual(summary.tokens, try tokenLineCount(of: test))
    XCTAssertEqual(summary.phrases, try goldChunkCount(of: test))
  }

  func testEvalJSONHasTheTextReportsNumbers() throws {
    let model = try sharedModel()
    let test = PackagePaths.tiny("test")
    let text = try trellis(["eval", "--model", model, "--test", test])
    let json = try trellis(["eval", "--model", model, "--test", test, "--json"])
    assertSucceeded(text)
    assertSucceeded(json)
    let object = try XCTUnwrap(
      try JSONSerialization.jsonObject(with: json.stdout) as? [String: Any],
      "not a JSON object:\n\(json.output)")
    let fromText = try XCTUnwrap(ReportSummary(text.output), text.output)
    let fromJSON = try XCTUnwrap(ReportSummary(json: object), json.output)
    XCTAssertEqual(fromJSON.fb1, fromText.fb1, "f1 differs from FB1")
    XCTAssertEqual(fromJSON, fromText)
  }

  func testScoreReadsFileAndStandardInputAlike() throws {
    let tagged = try write(
      try tag(PackagePaths.tiny("test"), model: try sharedModel()), to: "tagged.conll")
    let fromFile = try trellis(["score", tagged])
    assertSucceeded(fromFile)
    XCTAssertNotNil(ReportSummary(fromFile.output), fromFile.output)
    for stdinArguments in [["-"], []] {
      let fromStdin = try trellis(["score"] + stdinArguments, stdin: try contents(of: tagged))
      assertSucceeded(fromStdin)
      XCTAssertEqual(fromStdin.output, fromFile.output, "score \(stdinArguments) on standard input")
    }
  }

  func testScoreOfTagOutputEqualsEval() throws {
    let model = try sharedModel()
    let test = PackagePaths.tiny("test")
    let tagged = try write(try tag(test, model: model), to: "tagged.conll")
    for format in [[], ["--json"]] {
      let score = try trellis(["score", tagged] + format)
      let eval = try trellis(["eval", "--model", model, "--test", test] + format)
      assertSucceeded(score)
      assertSucceeded(eval)
      XCTAssertEqual(
        score.output, eval.output, "score \(format) of tag's output differs from eval \(format)")
    }
  }

  /// The number of gold chunks of a valid BIO-labelled CoNLL file: its `B-` labels.
  private func goldChunkCount(of path: String) throws -> Int {
    let text = try contents(of: path)
    XCTAssertEqual(invalidBIOTransitions(in: text), [], "\(path) has chunks that start with I-")
    return conllRows(text).filter { $0.last?.hasPrefix("B-") == true }.count
  }
}
