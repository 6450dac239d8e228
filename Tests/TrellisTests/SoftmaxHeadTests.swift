import XCTest

@testable import Trellis

/// The softmax head's decoding and confidences on their own.
final class SoftmaxHeadTests: XCTestCase {
  /// Ties go to the lowest label id, as in Viterbi and the n-best list, so that an answer's
  /// labels are its first alternative's: each token's argmax against the first of the head's
  /// n-best list (list Viterbi over log-probabilities) on emissions full of ties.
  func testArgmaxBreaksTiesAsTheNBestListDoes() {
    let L = 4
    let head = SoftmaxHead(labelCount: L)
    // Rows with ties between labels 0 and 1, 1 and 3, 2 and 3, and all four.
    let emissions: [Float] = [1, 1, 0, 0, 0, 2, 1, 2, 0, 0, 3, 3, 5, 5, 5, 5]
    let T = emissions.count / L
    let none = UnsafeBufferPointer<Float>(start: nil, count: 0)
    emissions.withUnsafeBufferPointer { e in
      let view = MatrixView(base: e.baseAddress!, rows: T, columns: L)
      let decoded = head.decoder(parameters: none, constraints: nil).decode([view])[0]
      XCTAssertEqual(decoded, [0, 1, 2, 0])
      let first = head.nBest(1, emissions: view, parameters: none, constraints: nil)[0]
      XCTAssertEqual(decoded, first.path)
    }
  }

  /// With `sameOutput`, a token's confidence sums the probabilities of the labels printed as
  /// its own (softmax(e[t]) over the group); the sequence's stays its own path's.
  func testConfidencesSumTheLabelsPrintedAsTheTokensOwn() throws {
    let L = 5  // O B-a I-a E-a S-a, printed in BIO: B-a and S-a alike, I-a and E-a alike
    let groups = [[0], [1, 4], [2, 3], [2, 3], [1, 4]]
    var rng = SplitMix64(seed: 3)
    let T = 3
    let emissions = randomMatrix(rows: T, columns: L, scale: 2, rng: &rng)
    let path = [1, 3, 0]
    let confidence = try XCTUnwrap(
      emissions.withUnsafeBufferPointer { e in
        SoftmaxHead(labelCount: L).confidences(
          of: [path], emissions: [MatrixView(base: e.baseAddress!, rows: T, columns: L)],
          parameters: UnsafeBufferPointer(start: nil, count: 0), constraints: nil,
          sameOutput: groups)?.first
      })
    var sequence = 1.0
    for t in 0..<T {
      let row = (0..<L).map { exp(Double(emissions[t * L + $0])) }
      let total = row.reduce(0, +)
      XCTAssertEqual(
        confidence.tokens[t], groups[path[t]].reduce(0) { $0 + row[$1] } / total,
        accuracy: 1e-12, "token \(t)")
      sequence *= row[path[t]] / total
    }
    XCTAssertEqual(confidence.sequence, sequence, accuracy: 1e-12)
  }
}
