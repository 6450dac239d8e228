import XCTest

@testable import Trellis

/// Scratch buffers below and above the size that gets pages of its own (64 KB), and the heap
/// reuse that `reuseLargeFreedBlocks` sets up for arrays that are not in one.
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

  /// A mapped buffer spans room for longer requests than its first: up to that room, a
  /// longer batch finds its buffer where it was, with no new pages to fault in.
  func testAMappedBufferTakesLongerRequestsWithoutMoving() {
    let scratch = Scratch()
    let first = scratch.reserve(20_000)
    first[19_999] = 7
    XCTAssertEqual(scratch.reserve(60_000), first)
    XCTAssertEqual(first[19_999], 7)
    XCTAssertGreaterThanOrEqual(scratch.capacity, 80_000)
  }

  /// A batch's arrays freed and allocated again, as the CRF's tables are batch after batch, get
  /// the same heap pages back: after the first round no page is faulted in again. Under
  /// glibc's own thresholds the first round's frees raise the mapping threshold to one array's
  /// size and the trimming threshold to twice that, so the next rounds' four arrays come from
  /// the heap but are trimmed off it when freed, and every page faults in again each round.
  /// (12 MiB: the arrays of earlier tests were too small to have raised those thresholds.)
  func testABatchsArraysAllocatedAgainFaultNoNewPages() {
    reuseLargeFreedBlocks()
    let count = 3 << 20  // Floats per array
    let pages = count * MemoryLayout<Float>.stride / Int(sysconf(Int32(_SC_PAGESIZE)))
    func minorFaults() -> Int {
      var usage = rusage()
      getrusage(RUSAGE_SELF.rawValue, &usage)
      return usage.ru_minflt
    }
    var checksum: Float = 0
    func oneRound(_ value: Float) {
      // Every page of each array written, all four alive at once.
      let arrays = (0..<4).map { [Float](repeating: value + Float($0), count: count) }
      checksum += arrays.map { $0[count - 1] }.reduce(0, +)
    }
    oneRound(0)
    let start = minorFaults()
    for round in 1...3 { oneRound(Float(round)) }
    let laterFaults = minorFaults() - start
    XCTAssertEqual(checksum, 48)  // Σ over rounds r = 0…3 of r + (r + 1) + (r + 2) + (r + 3)
    XCTAssertLessThan(laterFaults, pages, "3 rounds of four \(pages)-page arrays")
  }
}
