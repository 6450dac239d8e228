import XCTest

@testable import Trellis

/// An epoch's batches (`Trainer.batches`): the sentences shuffled, each pool of 20 batches'
/// worth sorted by length (ties by index) and cut into batches, and the batches' order
/// shuffled, all from the run's generator.
final class TrainingBatchesTests: XCTestCase {
  /// `count` sentences with lengths a seeded permutation of 1...count (every length
  /// different, so a batch's lengths tell its place in a sort).
  func lengths(_ count: Int) -> [Int] {
    var rng = SplitMix64(seed: 21)
    return Array(1...count).shuffled(using: &rng)
  }

  func batches(
    _ lengths: [Int], size: Int, maximumTokenSteps: Int = TaggerModel.batchTokenStepLimit,
    seed: UInt64 = 5
  ) -> [[Int]] {
    var rng = SplitMix64(seed: seed)
    return Trainer.batches(
      count: lengths.count, lengths: lengths, size: size, maximumTokenSteps: maximumTokenSteps,
      rng: &rng)
  }

  /// Long sentences make short batches: within the token-step limit unless one sentence alone
  /// is past it. The limit changes no batch it does not bind.
  func testBatchesOfLongSentencesStayWithinTheTokenStepLimit() {
    let (count, size, limit) = (400, 8, 60)
    let lengths = lengths(count).map { $0 / 5 }  // 0...80, ties included
    let epoch = batches(lengths, size: size, maximumTokenSteps: limit)
    XCTAssertEqual(epoch.flatMap { $0 }.sorted(), Array(0..<count))
    let longest = { (batch: [Int]) in batch.map { lengths[$0] }.max()! }
    for batch in epoch {
      XCTAssertLessThanOrEqual(batch.count, size)
      XCTAssertTrue(batch.count == 1 || longest(batch) * batch.count <= limit, "\(batch)")
    }
    XCTAssertTrue(epoch.contains { $0.count == 1 && longest($0) > limit })
    XCTAssertTrue(epoch.contains { $0.count > 1 && $0.count < size })
    XCTAssertEqual(
      batches(lengths, size: size, maximumTokenSteps: 80 * size), batches(lengths, size: size))
  }

  /// Every sentence once, each batch at most `size` and ascending in length, and at most one
  /// short batch per pool.
  func testBatchesPartitionTheSentencesInAscendingLength() {
    let (count, size) = (1_000, 8)
    let lengths = lengths(count)
    let epoch = batches(lengths, size: size)
    XCTAssertEqual(epoch.flatMap { $0 }.sorted(), Array(0..<count))
    for batch in epoch {
      XCTAssertLessThanOrEqual(batch.count, size)
      XCTAssertEqual(batch.map { lengths[$0] }, batch.map { lengths[$0] }.sorted())
    }
    let pools = (count + 20 * size - 1) / (20 * size)
    XCTAssertLessThanOrEqual(epoch.filter { $0.count < size }.count, pools)
    // A pool is drawn from the shuffled sentences, not the file's order: some batch holds
    // sentences from two blocks of 20·size consecutive ones.
    let block = 20 * size
    XCTAssertTrue(epoch.contains { batch in Set(batch.map { $0 / block }).count > 1 })
  }

  /// The batches of `lengths` put back in order of their shortest sentence, and the
  /// sentences sorted by length cut into batches of `size`: the same when they were one pool.
  func sortedBack(_ epoch: [[Int]], _ lengths: [Int], size: Int) -> (
    batches: [[Int]], cut: [[Int]]
  ) {
    let byLength = Array(lengths.indices).sorted { lengths[$0] < lengths[$1] }
    let cut = stride(from: 0, to: byLength.count, by: size).map {
      Array(byLength[$0..<min($0 + size, byLength.count)])
    }
    return (epoch.sorted { lengths[$0[0]] < lengths[$1[0]] }, cut)
  }

  /// 20 batches' worth of sentences are one pool, sorted as a whole; 21 batches' worth are
  /// two pools. The batches themselves come in shuffled order.
  func testAPoolHoldsTwentyBatchesAndTheBatchOrderIsShuffled() {
    let size = 4
    let onePool = lengths(20 * size)
    let epoch = batches(onePool, size: size)
    let (inOrder, cut) = sortedBack(epoch, onePool, size: size)
    XCTAssertEqual(inOrder, cut)
    XCTAssertNotEqual(epoch, inOrder, "the batches come in the order of their lengths")
    let twoPools = lengths(21 * size)
    let (twoInOrder, twoCut) = sortedBack(batches(twoPools, size: size), twoPools, size: size)
    XCTAssertEqual(twoInOrder.count, 21)
    XCTAssertNotEqual(twoInOrder, twoCut, "84 sentences sorted as one pool")
  }

  /// The same seed draws the same epoch; another seed another.
  func testTheSeedDecidesTheEpoch() {
    let lengths = lengths(300)
    XCTAssertEqual(batches(lengths, size: 8, seed: 5), batches(lengths, size: 8, seed: 5))
    XCTAssertNotEqual(batches(lengths, size: 8, seed: 5), batches(lengths, size: 8, seed: 6))
  }
}
