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

  /// Chunks are shared out dynamically, but never on more than `threads` threads at once
  /// (`tag --threads 1` keeps to one core).
  func testNeverRunsMoreThanThreadsAtOnce() {
    let lock = NSLock()
    for threads in [1, 2, 3] {
      var (running, most) = (0, 0)
      _ = Array(0..<640).concurrentMap(threads: threads) { element -> Int in
        lock.withLock {
          running += 1
          most = max(most, running)
        }
        usleep(200)
        lock.withLock { running -= 1 }
        return element
      }
      XCTAssertLessThanOrEqual(most, threads, "\(threads) threads")
      XCTAssertGreaterThan(most, 0)
    }
  }
}
