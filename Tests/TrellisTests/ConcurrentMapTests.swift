import XCTest

@testable import Trellis

/// `concurrentMap` is `map` on several threads: same elements, same order, any thread count.
final class ConcurrentMapTests: XCTestCase {
  func testEqualsMapForEveryLengthAndThreadCount() {
    for count in [0, 1, 63, 64, 129, 1000, 4097] {
      let elements = (0..<count).map { "line \($0)" }
      let expected = elements.map { $0.uppercased() + "!" }
      for threads in [1, 2, 3, 8] {
        XCTAssertEqual(
          elements.concurrentMap(threads: threads) { $0.uppercased() + "!" }, expected,
          "\(count) elements on \(threads) threads")
      }
    }
  }
}
