import Trellis
import XCTest

@testable import TrellisServer

/// Which pending requests the service tags together (`TaggingQueue.batchMembers`): the oldest,
/// then the later ones with its options while their sentences fit within the limit.
final class BatchMembersTests: XCTestCase {
  let plain = TaggingOptions()
  let confident = TaggingOptions(confidence: true)

  func members(_ jobs: [(Int, TaggingOptions)], limit: Int = 64) -> [Int] {
    TaggingQueue.batchMembers(of: jobs.map { (sentences: $0.0, options: $0.1) }, limit: limit)
  }

  func testNothingPendingIsAnEmptyBatch() {
    XCTAssertEqual(members([]), [])
  }

  /// A job that would pass the limit is left for a later batch, and a later one that fits
  /// beside the others still joins; exactly the limit is within it.
  func testLaterJobsJoinWhileTheyFit() {
    XCTAssertEqual(members([(10, plain), (60, plain), (54, plain), (1, plain)]), [0, 2])
    XCTAssertEqual(members([(10, plain), (60, plain), (1, plain)]), [0, 2])
    XCTAssertEqual(members([(1, plain), (1, plain), (1, plain)], limit: 2), [0, 1])
  }

  /// The oldest job goes whatever its size, so a request of more sentences than the limit is
  /// still answered; nothing joins it once it has filled the batch.
  func testTheOldestGoesEvenWhenItAloneFillsTheBatch() {
    XCTAssertEqual(members([(100, plain), (1, plain)]), [0])
    XCTAssertEqual(members([(64, plain), (1, plain)]), [0])
  }

  /// Requests with other options wait for a batch of their own, wherever they are in line.
  func testOnlyTheOldestJobsOptionsJoin() {
    XCTAssertEqual(members([(5, confident), (5, plain), (5, confident)]), [0, 2])
    XCTAssertEqual(members([(5, plain), (5, confident), (5, plain)]), [0, 2])
  }
}
