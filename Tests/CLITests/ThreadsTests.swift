import Foundation
import XCTest

/// `trellis tag --threads N`: `--threads 1` tags on one thread (a Spark task that owns one core
/// uses one), more threads do use more, and the output never depends on the count.
final class ThreadsTests: CLITestCase {
  /// Sentences to tag: the tiny corpus's test sentences, repeated to enough work that the
  /// threads' CPU times (in clock ticks) are well above their resolution, and that the 5% the
  /// check below allows other threads covers OpenBLAS's idle worker, which spins for about
  /// 0.1 s of CPU after the library loads: about 2 s of work for the debug build.
  func sentences() throws -> [String] {
    let text = try String(contentsOfFile: PackagePaths.tiny("test"), encoding: .utf8)
    let corpus = text.components(separatedBy: "\n\n").map {
      $0.split(separator: "\n").map { String($0.split(separator: "\t")[0]) }.joined(separator: " ")
    }.filter { !$0.isEmpty }
    return (0..<15_000).map { corpus[$0 % corpus.count] }
  }

  func testOneThreadUsesOneCoreAndTwoUseTwo() throws {
    let model = try sharedModel()
    let sentences = try sentences()
    let one = try cpuTimes(threads: 1, model: model, sentences: sentences)
    // CPU time of the whole process (loading included) against its wall time: one core at
    // most (a busy machine only stretches the wall time). The 0.1 s covers the clock ticks.
    XCTAssertLessThanOrEqual(one.threads.reduce(0, +), 1.1 * one.wall + 0.1, "\(one)")
    // Only the main thread works: any other thread's CPU time is rounding.
    let busiest = one.threads.max() ?? 0
    XCTAssertGreaterThan(busiest, 0.2, "too little work to measure: \(one)")
    XCTAssertLessThanOrEqual(one.threads.reduce(0, +) - busiest, 0.05 * busiest + 0.03, "\(one)")

    guard ProcessInfo.processInfo.activeProcessorCount >= 2 else {
      throw XCTSkip("one core: two threads cannot be told apart from one")
    }
    // The check above can fail: two threads put a second thread to work.
    let two = try cpuTimes(threads: 2, model: model, sentences: sentences)
    let sorted = two.threads.sorted(by: >)
    XCTAssertGreaterThan(sorted.count > 1 ? sorted[1] : 0, 0.2 * sorted[0], "\(two)")
    XCTAssertEqual(two.output, one.output, "the thread count changed the output")
  }

  func testOutputDoesNotDependOnTheThreadCount() throws {
    let model = try sharedModel()
    let input = try write(try sentences().prefix(100).joined(separator: "\n") + "\n", to: "in.txt")
    let outputs = try [1, 2, 3].map { threads in
      let result = try trellis(
        [
          "tag", "--model", model, "--input", "text", "--format", "json", "--confidence",
          "--batch-size", "4", "--threads", "\(threads)", input,
        ])
      assertSucceeded(result)
      return result.output
    }
    XCTAssertEqual(outputs[0].split(separator: "\n").count, 100)
    XCTAssertEqual(outputs[1], outputs[0])
    XCTAssertEqual(outputs[2], outputs[0])
  }

  func testThreadCountOutsideItsRangeIsAUsageError() throws {
    let model = try sharedModel()
    for threads in ["0", "-2", "1025"] {
      let result = try trellis(["tag", "--model", model, "--threads=\(threads)"], stdin: "a b\n")
      XCTAssertFalse(result.crashed, result.summary)
      XCTAssertEqual(result.exitCode, 64, result.summary)
      XCTAssertTrue(result.stderr.contains("--threads must be in 1...1024"), result.summary)
      XCTAssertEqual(result.output, "")
    }
  }

  /// The default is the cores the process may run on, its CPU affinity included: under
  /// `taskset -c 0` it was still every online core, so the threads shared one.
  func testTheDefaultThreadsFollowTheCPUAffinity() throws {
    guard FileManager.default.isExecutableFile(atPath: "/usr/bin/taskset") else {
      throw XCTSkip("no taskset")
    }
    let help = try trellisInShell(#"/usr/bin/taskset -c 0 "$0" tag --help >&2"#, [])
    XCTAssertEqual(help.status, 0, help.stderr)
    let threads = help.stderr.components(separatedBy: "  --threads ").last ?? ""
    let option = threads.components(separatedBy: "\n  --").first ?? ""
    XCTAssertTrue(option.contains("(default: 1)"), option)
  }

  /// What one `tag --threads N` run cost: each thread's user + system CPU seconds, measured
  /// after every answer arrived and before standard input closes (so the threads still
  /// exist), the wall time from launch to then, and the output.
  struct Measurement: CustomStringConvertible {
    var threads: [Double]
    var wall: Double
    var output: String

    var description: String {
      "wall \(wall) s, CPU seconds per thread "
        + threads.map { String(format: "%.2f", $0) }.joined(separator: " ")
    }
  }

  func cpuTimes(threads: Int, model: String, sentences: [String]) throws -> Measurement {
    let started = DispatchTime.now()
    let tagger = try InteractiveTrellis(
      ["tag", "--model", model, "--input", "text", "--batch-size", "8", "--threads", "\(threads)"],
      stderr: path("stderr-\(threads)"))
    let input = sentences.joined(separator: "\n") + "\n"
    guard let output = try tagger.exchange(input, lines: sentences.count, timeout: 120) else {
      tagger.stop()
      throw HarnessError.timedOut(arguments: ["tag", "--threads", "\(threads)"])
    }
    let wall = Double(DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds) / 1e9
    let perThread = try threadCPUSeconds(of: tagger.processIdentifier)
    XCTAssertEqual(try tagger.finish(), 0)
    return Measurement(threads: perThread, wall: wall, output: output)
  }

  /// utime + stime of each thread of process `pid`, in seconds (/proc/PID/task/TID/stat,
  /// fields 14 and 15, counted from 1, in clock ticks).
  func threadCPUSeconds(of pid: Int32) throws -> [Double] {
    let tasks = "/proc/\(pid)/task"
    let ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))
    return try FileManager.default.contentsOfDirectory(atPath: tasks).map { thread in
      let stat = try String(contentsOfFile: "\(tasks)/\(thread)/stat", encoding: .utf8)
      // The command name (field 2) is in parentheses and may hold spaces: count after it.
      let fields = stat[stat.range(of: ")", options: .backwards)!.upperBound...].split(
        separator: " ")
      return (Double(fields[11])! + Double(fields[12])!) / ticksPerSecond
    }
  }
}
