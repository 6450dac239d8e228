import XCTest

@testable import Trellis

/// `LinearChain.scaledRecursionsFit`, which sends confidences to the log-space recursions: by
/// its documented bound, the scaled recursions in Double are trusted while
/// 2 · spread + log L < −log m − 64, m Double's least normal (−log m ≈ 708.40), the spread the
/// widest of the allowed transition, start and end scores (each table's largest less its
/// smallest). For L = 3 the bound falls between spreads of 321 (2·321 + log 3 ≈ 643.10) and
/// 322 (645.10) against −log m − 64 ≈ 644.40.
final class ScaledRecursionsFitTests: XCTestCase {
  func testTheBoundHoldsForEachTableAndCountsOnlyAllowedScores() {
    let L = 3
    let chain = LinearChain(labelCount: L)
    XCTAssertEqual(-log(Double.leastNormalMagnitude) - 64, 644.40, accuracy: 0.01)
    func fits(_ offset: Int, spread: Float, constraints: TransitionConstraints? = nil) -> Bool {
      var θ = [Float](repeating: 0, count: chain.parameterCount)
      θ[offset] = spread
      return θ.withUnsafeBufferPointer {
        chain.scaledRecursionsFit(parameters: $0, constraints: constraints)
      }
    }
    for (table, offset) in [
      ("transition", 1 * L + 2), ("start", chain.startOffset + 1),
      ("end", chain.endOffset + 2),
    ] {
      XCTAssertTrue(fits(offset, spread: 321), "\(table) spread 321")
      XCTAssertFalse(fits(offset, spread: 322), "\(table) spread 322")
      XCTAssertFalse(fits(offset, spread: -322), "\(table) spread 322 below")
    }
    // Under BIO, O → I-a and a start with I-a are forbidden: their scores, however far apart
    // from the rest, are no part of the spread.
    let bio = TransitionConstraints(labels: ["O", "B-a", "I-a"], scheme: .bio)
    for offset in [0 * L + 2, chain.startOffset + 2] {
      XCTAssertFalse(fits(offset, spread: 1000), "without constraints")
      XCTAssertTrue(fits(offset, spread: 1000, constraints: bio), "forbidden score \(offset)")
    }
    XCTAssertFalse(fits(1 * L + 2, spread: 1000, constraints: bio), "B-a → I-a is allowed")
  }
}
