import Dispatch
import Foundation
import XCTest

@testable import Trellis

/// `ThreadPair.run`: both parts done on return, part 0 on the caller, through its second
/// thread's spinning and sleeping states, with callers racing and calls nested.
final class ThreadPairTests: XCTestCase {
  /// One call's two parts, each recording its thread and a value the other part cannot write.
  func call(_ pair: ThreadPair, value: Int) -> (values: [Int], onCaller: Bool, partsApart: Bool) {
    var values = [0, 0]
    var threads = [pthread_self(), pthread_self()]
    let caller = pthread_self()
    values.withUnsafeMutableBufferPointer { values in
      threads.withUnsafeMutableBufferPointer { threads in
        pair.run { part in
          values[part] = value + part
          threads[part] = pthread_self()
        }
      }
    }
    return (
      values, pthread_equal(threads[0], caller) != 0, pthread_equal(threads[0], threads[1]) == 0
    )
  }

  func testBothPartsAreDoneOnReturnWithPartZeroOnTheCaller() {
    let pair = ThreadPair.shared
    for value in 0..<20_000 {
      // Now and then wait past the spin, so the second thread has gone to sleep.
      if value % 2_000 == 0 { usleep(UInt32(ThreadPair.spinNanoseconds / 1_000) * 3) }
      let result = call(pair, value: value)
      XCTAssertEqual(result.values, [value, value + 1])
      XCTAssertTrue(result.onCaller)
      XCTAssertTrue(result.partsApart)
      if result.values != [value, value + 1] { return }
    }
  }

  /// A pair whose second thread cannot be started (under `ulimit -v`, Foundation's
  /// `Thread.start()` failed without a word, and the first call waited for ever) runs both
  /// parts on the caller, and so do `forEach` and `share`.
  func testWithoutASecondThreadEveryPartRunsOnTheCaller() {
    let pair = ThreadPair(startServing: { _ in false })
    for value in [0, 7] {
      let result = call(pair, value: value)
      XCTAssertEqual(result.values, [value, value + 1])
      XCTAssertTrue(result.onCaller)
      XCTAssertFalse(result.partsApart)
    }
    var seen = [Int](repeating: 0, count: 100)
    seen.withUnsafeMutableBufferPointer { seen in pair.forEach(seen.count) { seen[$0] += 1 } }
    XCTAssertEqual(seen, [Int](repeating: 1, count: 100))
    let chunks = UnsafeMutableBufferPointer<Int>.allocate(capacity: 20)
    defer { chunks.deallocate() }
    chunks.initialize(repeating: 0)
    pair.share([
      SharedWork(prepare: { 10 }, chunk: { chunks[$0] += 1 }),
      SharedWork(prepare: { 10 }, chunk: { chunks[10 + $0] += 1 }),
    ])
    XCTAssertEqual(Array(chunks), [Int](repeating: 1, count: 20))
  }

  /// A caller held between posting a call and waking the second thread (as a caller preempted
  /// there is held), while that thread, awake, runs the call, spins out its wait and goes to
  /// sleep: the caller then takes the flag of that later sleep and wakes the thread for a call
  /// it has run. The wake-up must not run the call's part again. (Two trainings under load
  /// trapped there in `withoutActuallyEscaping`, the part running again after `run` returned.)
  func testAWakeUpForACallAlreadyRunDoesNotRunItAgain() {
    let hold = UInt32(ThreadPair.spinNanoseconds / 1_000) * 4
    let pair = ThreadPair(afterPosting: { usleep(hold) })
    let counts = UnsafeMutableBufferPointer<Int>.allocate(capacity: 2)
    counts.initialize(repeating: 0)
    defer { counts.deallocate() }
    for _ in 0..<200 {
      pair.run { part in
        counts[part] += 1
        // The caller's part outlasts the wake-up, so a second run of part 1 would start
        // while the call is still posted.
        if part == 0 { Self.busyWait(nanoseconds: ThreadPair.spinNanoseconds * 2) }
      }
      // Shorter than the spin: the next call finds the second thread awake.
      Self.busyWait(nanoseconds: ThreadPair.spinNanoseconds / 4)
    }
    usleep(UInt32(ThreadPair.spinNanoseconds / 1_000) * 20)
    XCTAssertEqual(Array(counts), [200, 200])
  }

  static func busyWait(nanoseconds: UInt64) {
    let end = DispatchTime.now().uptimeNanoseconds + nanoseconds
    while DispatchTime.now().uptimeNanoseconds < end {}
  }

  /// Four threads call at once (all but one at a time go to Dispatch), and each call nests
  /// another in its first part: every part of every call runs once.
  func testRacingAndNestedCallsRunEveryPartOnce() {
    let pair = ThreadPair.shared
    let counts = UnsafeMutableBufferPointer<Int>.allocate(capacity: 4 * 3)
    counts.initialize(repeating: 0)
    defer { counts.deallocate() }
    DispatchQueue.concurrentPerform(iterations: 4) { caller in
      for _ in 0..<2_000 {
        pair.run { part in
          counts[caller * 3 + part] += 1
          if part == 0 {
            pair.run { inner in if inner == 1 { counts[caller * 3 + 2] += 1 } }
          }
        }
      }
    }
    XCTAssertEqual(Array(counts), [Int](repeating: 2_000, count: 12))
  }

  /// `forEach` runs every index exactly once, for counts below, at and above two, with the
  /// pair free or (nested in a part) busy, when Dispatch runs it instead.
  func testForEachRunsEveryIndexOnce() {
    let pair = ThreadPair.shared
    for count in [0, 1, 2, 3, 76, 1_000] {
      let runs = UnsafeMutableBufferPointer<Int>.allocate(capacity: max(count, 1))
      defer { runs.deallocate() }
      for nested in [false, true] {
        runs.initialize(repeating: 0)
        if nested {
          pair.run { part in if part == 0 { pair.forEach(count) { runs[$0] += 1 } } }
        } else {
          pair.forEach(count) { runs[$0] += 1 }
        }
        XCTAssertEqual(Array(runs.prefix(count)), [Int](repeating: 1, count: count), "\(count)")
      }
    }
  }

  /// `share` runs each work's preparation once and each of its chunks once, after that
  /// preparation (a chunk reads what it wrote), for one and two works of 0 to 50 chunks, with
  /// the pair free or busy (Dispatch then runs the two bodies, possibly on one thread: a
  /// thread that waited for a preparation nobody ran would hang here), and with one
  /// preparation slow, so the other thread finishes its own work first and takes its chunks.
  func testShareRunsEachPreparationOnceAndItsChunksAfterIt() {
    let pair = ThreadPair.shared
    for chunkCounts in [[0], [3], [50, 0], [1, 50], [50, 50]] {
      for nested in [false, true] {
        for slow in chunkCounts.indices {
          let works = chunkCounts.count
          let preparations = UnsafeMutableBufferPointer<Int>.allocate(capacity: works)
          let runs = UnsafeMutableBufferPointer<Int>.allocate(capacity: works * 50)
          defer {
            preparations.deallocate()
            runs.deallocate()
          }
          preparations.initialize(repeating: 0)
          runs.initialize(repeating: 0)
          let shared = chunkCounts.indices.map { w in
            SharedWork(
              prepare: {
                if w == slow { usleep(2_000) }
                preparations[w] += 1
                return chunkCounts[w]
              },
              // A chunk run before its preparation would count -1.
              chunk: { i in runs[w * 50 + i] += preparations[w] == 1 ? 1 : -1 })
          }
          if nested {
            pair.run { part in if part == 0 { pair.share(shared) } }
          } else {
            pair.share(shared)
          }
          let label = "chunks \(chunkCounts), nested \(nested), slow \(slow)"
          XCTAssertEqual(Array(preparations), [Int](repeating: 1, count: works), label)
          for w in 0..<works {
            XCTAssertEqual(
              Array(runs[(w * 50)..<(w * 50 + chunkCounts[w])]),
              [Int](repeating: 1, count: chunkCounts[w]), label)
          }
        }
      }
    }
  }
}
