import Foundation
import XCTest

@testable import Trellis

/// Models written by an earlier release load and answer as that release did: the same labels,
/// spans and n-best sequences, and numbers within `TaggingOptions.confidenceBatchTolerance`
/// (the kernels have changed the order of sums since; sequence probabilities as logarithms).
/// The models and their answers, and how they were made, are in `Releases/<version>/`.
final class ReleaseCompatibilityTests: XCTestCase {
  func testRelease030ModelsAnswerAsTheyDid() throws {
    let folder = try XCTUnwrap(Bundle.module.url(forResource: "Releases", withExtension: nil))
      .appendingPathComponent("0.3.0")
    // The softmax head's confidences of BIOES labels printed in BIO changed on purpose after
    // 0.3.0 (a printed label's probability, not its own label's: CHANGELOG, Fixed), so only
    // its sequences' numbers are compared.
    for (name, comparesTokenConfidences) in [("bilstm-crf", true), ("gru-softmax-bioes", false)] {
      let model = try ModelFile.read(from: folder.appendingPathComponent("\(name).model").path)
      let answers = try String(
        contentsOf: folder.appendingPathComponent("\(name).jsonl"), encoding: .utf8
      ).split(separator: "\n").map {
        try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
      }
      XCTAssertGreaterThan(answers.count, 20, name)
      let tokens = try answers.map { try XCTUnwrap($0["tokens"] as? [String]) }
      let analyses = model.analyze(tokens, options: TaggingOptions(confidence: true, nbest: 2))
      let tolerance = TaggingOptions.confidenceBatchTolerance
      for (s, (answer, analysis)) in zip(answers, analyses).enumerated() {
        let context = "\(name), sentence \(s)"
        XCTAssertEqual(analysis.labels, answer["labels"] as? [String], context)
        let spans = try XCTUnwrap(answer["spans"] as? [[String: Any]])
        XCTAssertEqual(analysis.spans.map(\.label), spans.map { $0["label"] as? String }, context)
        XCTAssertEqual(analysis.spans.map(\.start), spans.map { $0["start"] as? Int }, context)
        XCTAssertEqual(analysis.spans.map(\.end), spans.map { $0["end"] as? Int }, context)
        // Compared as logarithms: a sequence's probability can be far below the tolerance.
        try XCTAssertEqual(
          log(XCTUnwrap(analysis.sequenceProbability)),
          log(XCTUnwrap(answer["probability"] as? Double)), accuracy: tolerance, context)
        if comparesTokenConfidences {
          let expected = try XCTUnwrap(answer["confidences"] as? [Double])
          let confidences = try XCTUnwrap(analysis.tokenConfidences)
          XCTAssertEqual(confidences.count, expected.count, context)
          for (got, wanted) in zip(confidences, expected) {
            XCTAssertEqual(got, wanted, accuracy: tolerance, context)
          }
        }
        let nbest = try XCTUnwrap(answer["nbest"] as? [[String: Any]])
        XCTAssertEqual(
          analysis.alternatives.map(\.labels), nbest.map { $0["labels"] as? [String] }, context)
        for (alternative, wanted) in zip(analysis.alternatives, nbest) {
          try XCTAssertEqual(
            alternative.score, XCTUnwrap(wanted["score"] as? Double), accuracy: tolerance, context)
        }
      }
    }
  }
}
