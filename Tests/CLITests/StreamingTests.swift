import Foundation
import XCTest

/// `trellis tag` as a request/response process: one sentence written to its standard input is
/// answered before the next is written, whatever `--batch-size` is. Each test prints the median
/// and p99 round-trip latency (the README quotes them from a release build:
/// `TRELLIS_EXECUTABLE=.build-static/release/trellis`, and `TRELLIS_LATENCY_MODEL` for a real model).
final class StreamingTests: CLITestCase {
  static let roundTrips = 100
  /// A round trip that takes longer than this fails the test: the tagger is waiting for input.
  static let deadline: TimeInterval = 2

  /// The test sentences of the tiny corpus, repeated to `roundTrips`.
  func sentences() throws -> [[String]] {
    let text = try String(contentsOfFile: PackagePaths.tiny("test"), encoding: .utf8)
    let corpus = text.components(separatedBy: "\n\n").map {
      $0.split(separator: "\n").map { String($0.split(separator: "\t")[0]) }
    }.filter { !$0.isEmpty }
    return (0..<Self.roundTrips).map { corpus[$0 % corpus.count] }
  }

  func latencyModel() throws -> String {
    try ProcessInfo.processInfo.environment["TRELLIS_LATENCY_MODEL"] ?? sharedModel()
  }

  func testTextLinesAreAnsweredOneAtATime() throws {
    try assertAnswersEach(
      input: "text", requests: try sentences().map { $0.joined(separator: " ") + "\n" },
      linesPerAnswer: { _ in 1 })
  }

  /// A lone CR ends a line: it is answered before the next byte shows whether an LF follows,
  /// and an LF that then comes with the next request is the CR's (a CRLF written in two
  /// pieces), not an empty line.
  func testTextLinesEndedByACRAreAnsweredOneAtATime() throws {
    let lines = try sentences().map { $0.joined(separator: " ") }
    let lone = lines.map { $0 + "\r" }
    try assertAnswersEach(input: "text", requests: lone, linesPerAnswer: { _ in 1 })
    let crlfInTwoPieces = lines.enumerated().map { ($0 == 0 ? "" : "\n") + $1 + "\r" }
    try assertAnswersEach(input: "text", requests: crlfInTwoPieces, linesPerAnswer: { _ in 1 })
  }

  func testCoNLLSentencesAreAnsweredAtTheirBlankLine() throws {
    let sentences = try sentences()
    try assertAnswersEach(
      input: "conll", requests: sentences.map { $0.joined(separator: "\n") + "\n\n" },
      linesPerAnswer: { sentences[$0].count + 1 })
  }

  func testJSONLinesAreAnsweredOneAtATime() throws {
    let requests = try sentences().enumerated().map { index, tokens in
      #"{"id": \#(index), "text": "\#(tokens.joined(separator: " "))"}"# + "\n"
    }
    try assertAnswersEach(input: "jsonl", requests: requests, linesPerAnswer: { _ in 1 })
  }

  /// The model loads while input is read: a bad one must still be reported at once, while
  /// standard input stays open with nothing written, not after the first request.
  func testABadModelIsReportedBeforeAnyInputArrives() throws {
    let missing = path("missing.model")
    for input in ["conll", "text", "jsonl"] {
      let tagger = try InteractiveTrellis(
        ["tag", "--model", missing, "--input", input], stderr: path("stderr"))
      guard let status = tagger.exitStatus(within: Self.deadline) else {
        tagger.stop()
        return XCTFail("--input \(input): still waiting for input after \(Self.deadline) s")
      }
      XCTAssertEqual(status, 1, input)
      XCTAssertEqual(
        try String(contentsOfFile: path("stderr"), encoding: .utf8),
        "Error: \(missing): no such model file\n", input)
    }
  }

  /// Writes each request to one running `trellis tag --input input --batch-size 256` and waits
  /// for its answer (`linesPerAnswer(i)` lines) before writing the next; then checks the answers
  /// against tagging all requests from a file, and prints the latencies.
  func assertAnswersEach(
    input: String, requests: [String], linesPerAnswer: (Int) -> Int,
    file: StaticString = #filePath, line: UInt = #line
  ) throws {
    let model = try latencyModel()
    // More sentences per batch than the test sends: a tagger that waited for a full batch
    // would answer nothing before its input ends.
    let arguments = ["tag", "--model", model, "--input", input, "--batch-size", "256"]
    let tagger = try InteractiveTrellis(arguments, stderr: path("stderr"))
    var answers = ""
    var latencies: [Double] = []
    for (index, request) in requests.enumerated() {
      let start = DispatchTime.now()
      guard
        let answer = try tagger.exchange(
          request, lines: linesPerAnswer(index), timeout: Self.deadline)
      else {
        tagger.stop()
        let stderr = (try? String(contentsOfFile: path("stderr"), encoding: .utf8)) ?? ""
        return XCTFail(
          "request \(index) unanswered after \(Self.deadline) s; stderr: \(stderr)", file: file,
          line: line)
      }
      latencies.append(Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e6)
      answers += answer
    }
    XCTAssertEqual(try tagger.finish(), 0, "exit status", file: file, line: line)
    let batch = try trellis(arguments + [try write(requests.joined(), to: "requests.\(input)")])
    assertSucceeded(batch, file: file, line: line)
    XCTAssertEqual(
      answers, batch.output, "streamed answers differ from the file's", file: file, line: line)
    latencies.sort()
    let p99 = latencies[Int((0.99 * Double(latencies.count)).rounded(.up)) - 1]
    print(
      "streaming latency, --input \(input), \(latencies.count) round trips: median "
        + String(format: "%.2f ms, p99 %.2f ms", latencies[latencies.count / 2], p99))
  }

  /// Output to a regular file is written in blocks of 64 KiB, but also whenever the input
  /// pauses: the answers to a producer that paused stayed unwritten, and a signal while `tag`
  /// waited for more input lost them.
  func testAnswersReachARegularFileWhenTheInputPauses() throws {
    let answers = path("answers.txt")
    XCTAssertTrue(FileManager.default.createFile(atPath: answers, contents: nil))
    let process = Process()
    process.executableURL = try PackagePaths.executable()
    process.arguments = ["tag", "--model", try sharedModel(), "--input", "text"]
    let input = Pipe()
    process.standardInput = input
    process.standardOutput = FileHandle(forWritingAtPath: answers)
    try process.run()
    try input.fileHandleForWriting.write(contentsOf: Data("flights to boston\n".utf8))
    let deadline = Date(timeIntervalSinceNow: 30)
    while try contents(of: answers).isEmpty && Date() < deadline { usleep(10_000) }
    process.terminate()
    process.waitUntilExit()
    XCTAssertEqual(try contents(of: answers).split(separator: "\n").count, 1)
  }

  /// Pipes that another process left non-blocking (an event loop's) are waited for: `tag`
  /// stopped with "Resource temporarily unavailable" (EAGAIN) before its first line of input
  /// arrived, and after its first 64 KiB of output when no one read them yet.
  func testNonBlockingPipesAreWaitedFor() throws {
    let model = try sharedModel()
    let text = try contents(of: PackagePaths.tiny("test")) + "\n"
    let file = try write(String(repeating: text, count: 100), to: "many.conll")
    let expected = try trellis(["tag", "--model", model, file])
    assertSucceeded(expected)
    XCTAssertGreaterThan(expected.output.utf8.count, 1 << 17)
    let process = Process()
    process.executableURL = try PackagePaths.executable()
    process.arguments = ["tag", "--model", model]
    let (input, output) = (Pipe(), Pipe())
    (process.standardInput, process.standardOutput) = (input, output)
    // The child's ends: the flag belongs to each end's open file, not to the parent's ends.
    for descriptor in [
      input.fileHandleForReading.fileDescriptor, output.fileHandleForWriting.fileDescriptor,
    ] {
      XCTAssertEqual(fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) | O_NONBLOCK), 0)
    }
    signal(SIGPIPE, SIG_IGN)  // a child that stopped early fails the write, not the tests
    try process.run()
    try input.fileHandleForReading.close()
    try output.fileHandleForWriting.close()
    // The input comes late, and the output is read only once it has filled its pipe.
    Thread.sleep(forTimeInterval: 0.3)
    try input.fileHandleForWriting.write(contentsOf: Data(try contents(of: file).utf8))
    try input.fileHandleForWriting.close()
    Thread.sleep(forTimeInterval: 1)
    let answers = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    XCTAssertEqual(process.terminationStatus, 0)
    XCTAssertEqual(String(decoding: answers, as: UTF8.self), expected.output)
  }
}

/// A running `trellis` with a pipe on standard input and standard output.
final class InteractiveTrellis {
  private let process = Process()
  private let input = Pipe()
  private let output = Pipe()
  private let lock = NSLock()
  private var received = Data()
  private let newline = DispatchSemaphore(value: 0)

  init(_ arguments: [String], stderr: String) throws {
    process.executableURL = try PackagePaths.executable()
    process.arguments = arguments
    process.standardInput = input
    process.standardOutput = output
    XCTAssertTrue(FileManager.default.createFile(atPath: stderr, contents: nil))
    process.standardError = FileHandle(forWritingAtPath: stderr)
    output.fileHandleForReading.readabilityHandler = { [lock, newline] handle in
      let data = handle.availableData
      if data.isEmpty { handle.readabilityHandler = nil }
      lock.withLock { self.received.append(data) }
      for byte in data where byte == 0x0A { newline.signal() }
    }
    // A child that died must fail the write with EPIPE, not kill the test run with SIGPIPE.
    signal(SIGPIPE, SIG_IGN)
    try process.run()
  }

  /// The running process's id.
  var processIdentifier: Int32 { process.processIdentifier }

  /// Writes `request` and returns the next `lines` lines of output, or nil when they have not
  /// all arrived within `timeout` seconds.
  func exchange(_ request: String, lines: Int, timeout: TimeInterval) throws -> String? {
    try input.fileHandleForWriting.write(contentsOf: Data(request.utf8))
    let deadline = DispatchTime.now() + timeout
    for _ in 0..<lines {
      if newline.wait(timeout: deadline) == .timedOut { return nil }
    }
    return lock.withLock {
      var end = received.startIndex
      for _ in 0..<lines { end = received[end...].firstIndex(of: 0x0A)! + 1 }
      defer { received.removeSubrange(..<end) }
      return String(decoding: received[..<end], as: UTF8.self)
    }
  }

  /// The exit status, if the process ends within `timeout` seconds with standard input open.
  func exitStatus(within timeout: TimeInterval) -> Int32? {
    let deadline = Date(timeIntervalSinceNow: timeout)
    while process.isRunning && Date() < deadline { usleep(10_000) }
    return process.isRunning ? nil : process.terminationStatus
  }

  /// Closes standard input and waits for the exit status.
  func finish() throws -> Int32 {
    try input.fileHandleForWriting.close()
    process.waitUntilExit()
    return process.terminationStatus
  }

  /// Ends a process that stopped answering.
  func stop() {
    process.terminate()
    process.waitUntilExit()
  }
}
