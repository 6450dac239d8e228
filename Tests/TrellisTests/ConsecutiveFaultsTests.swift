import XCTest

@testable import Trellis

/// Training's guard against divergence (`ConsecutiveFaults`): a batch with a non-finite loss
/// or gradient norm is skipped, a finite one starts the count again, and the 20th
/// non-finite batch in a row ends the run.
final class ConsecutiveFaultsTests: XCTestCase {
  func testANonFiniteLossOrNormIsSkipped() throws {
    var faults = ConsecutiveFaults()
    XCTAssertTrue(try faults.admits(loss: 3, norm: 1, epoch: 0))
    for (loss, norm) in [(Double.nan, 1.0), (.infinity, 1), (3, .nan), (3, .infinity)] {
      XCTAssertFalse(try faults.admits(loss: loss, norm: norm, epoch: 0), "\(loss), \(norm)")
    }
    XCTAssertEqual(faults.count, 4)
  }

  func testTheTwentiethNonFiniteBatchInARowEndsTheRun() throws {
    var faults = ConsecutiveFaults()
    // 19 in a row, a finite batch, 19 more: never 20 in a row.
    for _ in 0..<2 {
      for _ in 1..<ConsecutiveFaults.limit {
        XCTAssertFalse(try faults.admits(loss: .nan, norm: .nan, epoch: 0))
      }
      XCTAssertTrue(try faults.admits(loss: 1, norm: 1, epoch: 0))
      XCTAssertEqual(faults.count, 0)
    }
    for _ in 1..<ConsecutiveFaults.limit {
      XCTAssertFalse(try faults.admits(loss: .nan, norm: 1, epoch: 2))
    }
    XCTAssertThrowsError(try faults.admits(loss: .nan, norm: 1, epoch: 2)) { error in
      XCTAssertTrue(error is TrainingFailure, "no file is at fault")
      XCTAssertEqual(
        "\(error)",
        "training: 20 batches in a row of epoch 3 gave a non-finite loss or gradient; "
          + "lower --learning-rate or keep --clip on")
    }
  }
}
