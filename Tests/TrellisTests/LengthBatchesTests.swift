import XCTest

@testable import Trellis

/// `lengthBatches` (how tagging cuts sentences sorted by length into batches) against every
/// way of cutting them: the fewest token-steps, batches within the maximum, in order; and
/// `tokenHalves` (how a batch's head and decoding are cut between two threads) against every
/// cut in two.
final class LengthBatchesTests: XCTestCase {
  /// The token-steps of batches: each runs its longest (last) sentence's steps for all.
  func tokenSteps(_ batches: [Range<Int>], _ lengths: [Int]) -> Int {
    batches.reduce(0) { $0 + lengths[$1.upperBound - 1] * $1.count }
  }

  /// Every cut of 0..<count into consecutive batches of at most `maximum`.
  func allCuts(count: Int, maximum: Int) -> [[Range<Int>]] {
    guard count > 0 else { return [[]] }
    return (1...min(maximum, count)).flatMap { last in
      allCuts(count: count - last, maximum: maximum).map { $0 + [count - last..<count] }
    }
  }

  func testFewestTokenStepsOfEveryCut() {
    var rng = SplitMix64(seed: 5)
    for _ in 0..<300 {
      let count = Int(rng.next() % 11)
      let maximum = 1 + Int(rng.next() % 4)
      let lengths = (0..<count).map { _ in 1 + Int(rng.next() % 6) }.sorted()
      let batches = lengthBatches(lengths, maximum: maximum)
      XCTAssertEqual(batches.flatMap { Array($0) }, Array(0..<count), "\(lengths)")
      XCTAssertTrue(batches.allSatisfy { !$0.isEmpty && $0.count <= maximum }, "\(batches)")
      let fewest = allCuts(count: count, maximum: maximum).map { tokenSteps($0, lengths) }.min()
      XCTAssertEqual(tokenSteps(batches, lengths), fewest, "\(lengths), maximum \(maximum)")
    }
  }

  /// Sentences of one length make full batches (the remainder first), as runs of the maximum
  /// did; lengths that straddle a run are cut apart.
  func testEqualLengthsMakeFullBatches() {
    XCTAssertEqual(
      lengthBatches(Array(repeating: 5, count: 70), maximum: 32), [0..<6, 6..<38, 38..<70])
    XCTAssertEqual(lengthBatches([1, 1, 1, 9, 9, 9], maximum: 4), [0..<3, 3..<6])
  }

  /// Against every cut in two: the first cut whose tokens before it are nearest half of all,
  /// both ranges non-empty from two sentences, all sentences in order.
  func testTokenHalvesAgainstEveryCut() {
    var rng = SplitMix64(seed: 6)
    for _ in 0..<300 {
      let count = Int(rng.next() % 9)
      let lengths = (0..<count).map { _ in 1 + Int(rng.next() % 12) }
      let halves = tokenHalves(of: lengths)
      XCTAssertEqual(halves.count, 2)
      XCTAssertEqual(halves.flatMap { Array($0) }, Array(0..<count), "\(lengths)")
      guard count >= 2 else { continue }
      let total = lengths.reduce(0, +)
      let imbalance = { (cut: Int) in abs(2 * lengths[..<cut].reduce(0, +) - total) }
      let best = (1..<count).min { (imbalance($0), $0) < (imbalance($1), $1) }!
      XCTAssertEqual(halves[0], 0..<best, "\(lengths)")
    }
    XCTAssertEqual(tokenHalves(of: [2, 3, 5, 9, 11]), [0..<4, 4..<5])
  }
}
