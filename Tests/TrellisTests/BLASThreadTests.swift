import COpenBLAS
import Foundation
import XCTest

@testable import Trellis

/// The library, not its caller, sets OpenBLAS to one thread when the first model is made, and a
/// caller's `setBLASThreadCount(_:)` wins whenever it is made.
final class BLASThreadTests: XCTestCase {
  private static let childVariable = "TRELLIS_BLAS_THREAD_CHILD"

  /// Which model comes first in this process depends on the test order, so the first-model
  /// check runs in a fresh copy of this test process.
  func testFirstModelSetsOneThread() throws {
    if ProcessInfo.processInfo.environment[Self.childVariable] != nil {
      try checkFreshProcess()
      return
    }
    let child = Process()
    child.executableURL = URL(fileURLWithPath: ProcessInfo.processInfo.arguments[0])
    child.arguments = ["TrellisTests.BLASThreadTests/testFirstModelSetsOneThread"]
    child.environment = ProcessInfo.processInfo.environment.merging(
      [Self.childVariable: "1", "OPENBLAS_NUM_THREADS": "2"]) { $1 }
    let output = Pipe()
    child.standardOutput = output
    child.standardError = output
    try child.run()
    let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    child.waitUntilExit()
    XCTAssertEqual(child.terminationStatus, 0, text)
    XCTAssertTrue(text.contains("Executed 1 test, with 0 failures"), text)
  }

  /// In a process where no model exists yet: OpenBLAS starts with the two threads the parent
  /// asked for, and making a model brings it to one and ends the pool's worker thread (which
  /// would otherwise spin for a while), so one of the process's threads is gone. The threads
  /// are compared by id, not counted: the test runner may start a thread of its own meanwhile
  /// (it did once, in a CI run on a busy machine).
  private func checkFreshProcess() throws {
    func threadIDs() throws -> Set<String> {
      Set(try FileManager.default.contentsOfDirectory(atPath: "/proc/self/task"))
    }
    XCTAssertEqual(openblas_get_num_threads(), 2, "OPENBLAS_NUM_THREADS=2 before any model")
    let before = try threadIDs()
    _ = ParameterStore()
    XCTAssertEqual(openblas_get_num_threads(), 1)
    XCTAssertFalse(before.subtracting(try threadIDs()).isEmpty, "OpenBLAS's pool thread ended")
  }

  func testCallersThreadCountOutlivesModelCreation() {
    setBLASThreadCount(2)
    defer { setBLASThreadCount(1) }
    _ = ParameterStore()
    XCTAssertEqual(openblas_get_num_threads(), 2)
  }
}
