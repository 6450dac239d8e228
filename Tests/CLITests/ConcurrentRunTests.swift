import Foundation
import Trellis
import XCTest

/// Two runs into one model: both passed the start's check (no checkpoint yet), then replaced
/// each other's checkpoint and model, and the first to end removed the checkpoint the other
/// was still writing. A run now claims its files (`OutputClaim`) until it ends.
final class ConcurrentRunTests: CLITestCase {
  /// A run that claims nothing (or ended): the test cannot go on.
  private struct ClaimsNotHeld: Error {
    var stderr: String
  }

  private func training(into model: String, from train: String) -> [String] {
    ["train", "--train", train, "--dev", PackagePaths.tiny("dev"), "--model", model, "--quiet"]
      + Self.smallModelOptions
  }

  /// A `trellis train` into `model` that reads its training data from a FIFO, so it holds its
  /// claims, waiting, until the test writes the data (`feed`, or at once when `fed`) or kills
  /// it; returned once it holds `claims` sockets (its model's, its checkpoint's, its log's
  /// name's, and once it has opened its log, the log file's).
  private func startWaitingRun(
    into model: String, options: [String] = [], claims: Int = 2, fed: Bool = false
  ) throws -> Process {
    let fifo = path("train.fifo")
    XCTAssertEqual(mkfifo(fifo, 0o600), 0)
    let run = Process()
    run.executableURL = try PackagePaths.executable()
    run.arguments = training(into: model, from: fifo) + options
    run.standardOutput = FileHandle.nullDevice
    FileManager.default.createFile(atPath: path("waiting.err"), contents: nil)
    run.standardError = FileHandle(forWritingAtPath: path("waiting.err"))
    try run.run()
    if fed { try feed() }
    let deadline = Date().addingTimeInterval(60)
    while try claimCount(of: run.processIdentifier) < claims {
      guard Date() < deadline, run.isRunning else {
        run.terminate()
        throw ClaimsNotHeld(
          stderr: try String(contentsOfFile: path("waiting.err"), encoding: .utf8))
      }
      usleep(20_000)
    }
    return run
  }

  /// How many claims (sockets named "@trellis-output-…" in /proc/net/unix) the process `pid`
  /// holds: it may hold other sockets, such as the test process's that it inherited.
  private func claimCount(of pid: Int32) throws -> Int {
    let table = try XCTUnwrap(FileHandle(forReadingAtPath: "/proc/net/unix")).readToEnd()
    let claims = Set(
      String(decoding: table ?? Data(), as: UTF8.self).split(separator: "\n").compactMap {
        line -> String? in
        let fields = line.split(separator: " ")
        guard fields.count == 8, fields[7].hasPrefix("@trellis-output-") else { return nil }
        return "socket:[\(fields[6])]"
      })
    let descriptors = "/proc/\(pid)/fd"
    return try FileManager.default.contentsOfDirectory(atPath: descriptors).filter {
      (try? FileManager.default.destinationOfSymbolicLink(atPath: descriptors + "/" + $0))
        .map(claims.contains) == true
    }.count
  }

  /// Writes the tiny training file into the FIFO the waiting run reads.
  private func feed() throws {
    let writer = try XCTUnwrap(FileHandle(forWritingAtPath: path("train.fifo")))
    try writer.write(contentsOf: Data(contentsOf: URL(fileURLWithPath: PackagePaths.tiny("train"))))
    try writer.close()
  }

  func testARunIntoFilesAnotherRunWritesIsRefused() throws {
    let model = path("m")
    let first = try startWaitingRun(into: model)
    let holder = "is being written by process \(first.processIdentifier)"
    try FileManager.default.createSymbolicLink(atPath: path("link"), withDestinationPath: model)
    let train = PackagePaths.tiny("train")
    let spellings = [
      training(into: directory.path + "/./m", from: train),
      training(into: path("link"), from: train),
      training(into: path("other"), from: train) + ["--checkpoint", model + ".checkpoint"],
    ]
    // Each refused run is refused at once: the holder listened without accepting, and from
    // the third, a refused run's connect (to ask the holder's process ID) waited for its end.
    for arguments in spellings + spellings {
      assertFailed(try runTrellis(arguments, timeout: 60), mentioning: [holder])
    }
    XCTAssertFalse(FileManager.default.fileExists(atPath: path("other")))
    // A program's Trainer is refused the same files.
    let trainer = Trainer(configuration: TaggerConfiguration(), options: TrainingOptions())
    XCTAssertThrowsError(try trainer.train(train: [], dev: [], checkpoint: model + ".checkpoint")) {
      XCTAssertTrue(String(describing: $0).contains(holder), "\($0)")
    }
    // The first run trains and writes its model, and its claims end with it.
    try feed()
    first.waitUntilExit()
    XCTAssertEqual(first.terminationStatus, 0)
    XCTAssertTrue(FileManager.default.fileExists(atPath: model))
    assertSucceeded(try trellis(training(into: model, from: train)))
  }

  /// A log is written in place, so a hard link to another run's log is that log, whether
  /// the log was there before that run started or made by it.
  func testALogHardLinkedToAnotherRunsLogIsRefused() throws {
    let log = path("a.log")
    let first = try startWaitingRun(
      into: path("m"), options: ["--log", log, "--epochs", "10000", "--patience", "0"],
      claims: 4, fed: true)
    XCTAssertEqual(link(log, path("b.log")), 0)
    defer {
      kill(first.processIdentifier, SIGKILL)
      first.waitUntilExit()
    }
    assertFailed(
      try runTrellis(
        training(into: path("other"), from: PackagePaths.tiny("train")) + ["--log", path("b.log")],
        timeout: 60),
      mentioning: ["b.log: is being written by process \(first.processIdentifier)"])
  }

  /// The kernel ends a killed run's claims: the next run goes ahead, and no file of a claim
  /// is left behind.
  func testAKilledRunsClaimsEndWithIt() throws {
    let first = try startWaitingRun(into: path("m"))
    kill(first.processIdentifier, SIGKILL)
    first.waitUntilExit()
    assertSucceeded(try trellis(training(into: path("m"), from: PackagePaths.tiny("train"))))
    let left = try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
    XCTAssertEqual(left, ["m", "train.fifo", "waiting.err"])
  }
}
