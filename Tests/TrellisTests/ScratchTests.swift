import XCTest

@testable import Trellis

/// Scratch buffers below and above the size that gets pages of its own (64 KB).
final class ScratchTests: XCTestCase {
  func testEveryRequestedFloatHoldsWhatWasWrittenAndZeroedClearsIt() {
    let scratch = Scratch()
    for count in [1, 100, 16_383, 16_384, 100_000, 50, 1_000_000] {
      let p = scratch.reserve(count)
      XCTAssertGreaterThanOrEqual(scratch.capacity, count)
      for k in 0..<count { p[k] = Float(k % 251) }
      XCTAssertTrue((0..<count).allSatisfy { p[$0] == Float($0 % 251) }, "\(count)")
      let zeros = scratch.zeroed(count)
      XCTAssertTrue(UnsafeBufferPointer(start: zeros, count: count).allSatisfy { $0 == 0 })
    }
    // A smaller request keeps the buffer.
    let pointer = scratch.pointer
    _ = scratch.reserve(10)
    XCTAssertEqual(scratch.pointer, pointer)
  }
}
