import Foundation
import XCTest

/// The harness itself. Each run of `trellis` once left the test process its handles on the
/// child's standard streams: by the HTTP tests the process held some 2,000 descriptors, and
/// Foundation's `Process.run` crashed now and then (a signal 11 in its memcpy).
final class HarnessTests: CLITestCase {
  func testRunningTrellisLeavesNoDescriptorsOpen() throws {
    // The first run may open what Foundation keeps for every later one.
    _ = try trellis(["--version"], stdin: "")
    let before = try openDescriptors()
    for _ in 0..<20 {
      assertSucceeded(try trellis(["--version"]))
      assertSucceeded(try trellis(["--version"], stdin: "a line the child never reads\n"))
    }
    // 40 runs that each left one descriptor open would add 40; a little slack for threads of
    // earlier tests that may still close or open one.
    XCTAssertLessThanOrEqual(try openDescriptors(), before + 4)
  }

  /// How many descriptors this process has open.
  private func openDescriptors() throws -> Int {
    try FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count
  }
}
