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

  /// Every cut of 0..<count into consecutive batches of at most `maximum` sentences, each
  /// within `maximumTokenSteps` token-steps or of one sentence.
  func allCuts(_ lengths: [Int], count: Int, maximum: Int, maximumTokenSteps: Int)
    -> [[Range<Int>]]
  {
    guard count > 0 else { return [[]] }
    return (1...min(maximum, count)).filter { last in
      last == 1 || lengths[count - 1] * last <= maximumTokenSteps
    }.flatMap { last in
      allCuts(
        lengths, count: count - last, maximum: maximum, maximumTokenSteps: maximumTokenSteps
      ).map { $0 + [count - last..<count] }
    }
  }

  func testFewestTokenStepsOfEveryCut() {
    var rng = SplitMix64(seed: 5)
    for _ in 0..<600 {
      let count = Int(rng.next() % 11)
      let maximum = 1 + Int(rng.next() % 4)
      // Half the cases without a binding token-step limit, half with one of 1–24.
      let maximumTokenSteps = rng.next() % 2 == 0 ? 24 * maximum : 1 + Int(rng.next() % 24)
      let lengths = (0..<count).map { _ in 1 + Int(rng.next() % 6) }.sorted()
      let batches = lengthBatches(
        lengths, maximum: maximum, maximumTokenSteps: maximumTokenSteps)
      let context = "\(lengths), maximum \(maximum), \(maximumTokenSteps) token-steps"
      XCTAssertEqual(batches.flatMap { Array($0) }, Array(0..<count), context)
      XCTAssertTrue(
        batches.allSatisfy {
          !$0.isEmpty && $0.count <= maximum
            && ($0.count == 1 || lengths[$0.upperBound - 1] * $0.count <= maximumTokenSteps)
        }, "\(batches), \(context)")
      let fewest = allCuts(
        lengths, count: count, maximum: maximum, maximumTokenSteps: maximumTokenSteps
      ).map { tokenSteps($0, lengths) }.min()
      XCTAssertEqual(tokenSteps(batches, lengths), fewest, context)
    }
  }

  /// Long sentences make batches of fewer than the maximum, within the default token-step
  /// limit, and one longer than the limit is tagged alone.
  func testLongSentencesMakeSmallBatches() {
    let limit = TaggerModel.batchTokenStepLimit
    XCTAssertEqual(
      lengthBatches(Array(repeating: limit / 4, count: 10), maximum: 32),
      [0..<2, 2..<6, 6..<10])
    XCTAssertEqual(
      lengthBatches([3, 3, limit + 1, limit + 1], maximum: 32), [0..<2, 2..<3, 3..<4])
    XCTAssertEqual(lengthBatches(Array(repeating: 12, count: 64), maximum: 32), [0..<32, 32..<64])
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
