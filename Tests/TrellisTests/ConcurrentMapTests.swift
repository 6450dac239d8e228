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
      // At most `threads`, and as many as the cores allow: a map on one thread fails this.
      XCTAssertEqual(most, min(threads, ProcessInfo.processInfo.activeProcessorCount), "\(threads)")
    }
  }

  /// The chunks go to whichever thread is free: while one thread is held up in the first
  /// chunk, the other maps every other chunk (with one fixed slice per thread, the held-up
  /// thread's slice would wait for it, and the first element would wait in vain).
  func testAThreadHeldUpDoesNotHoldUpTheRest() throws {
    guard ProcessInfo.processInfo.activeProcessorCount >= 2 else {
      throw XCTSkip("needs two cores to run two threads at once")
    }
    let count = 640
    let othersDone = DispatchSemaphore(value: 0)
    let lock = NSLock()
    var others = 0
    var waitedInVain = false
    let mapped = Array(0..<count).concurrentMap(threads: 2) { element -> Int in
      if element == 0 {
        waitedInVain = othersDone.wait(timeout: .now() + 10) == .timedOut
      } else if element >= 64 {
        let done = lock.withLock {
          others += 1
          return others == count - 64
        }
        if done { othersDone.signal() }
      }
      return element
    }
    XCTAssertEqual(mapped, Array(0..<count))
    XCTAssertFalse(waitedInVain, "the other chunks waited for the first one's thread")
  }
}
