import Foundation
import Logging
import ServiceLifecycle
import Trellis
import TrellisServer
import XCTest

#if canImport(FoundationNetworking)
  import FoundationNetworking
#endif

/// Locations in the package under test and its built programs.
enum ServePaths {
  /// The package root: this file is Tests/ServeTests/ServeSupport.swift.
  static let root = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

  /// A file of the package: `file("Corpora/tiny/train.conll")`.
  static func file(_ relative: String) -> String {
    root.appendingPathComponent(relative).path
  }

  /// The program `name`: the path in `$variable` when set (a release build, say), else the one
  /// `swift build --build-tests` put beside the test bundle, else the one in `.build/debug`.
  static func executable(_ name: String, overriddenBy variable: String) throws -> URL {
    if let chosen = ProcessInfo.processInfo.environment[variable] {
      guard FileManager.default.isExecutableFile(atPath: chosen) else {
        throw TestSetupError("\(chosen) (from \(variable)) is not an executable")
      }
      return URL(fileURLWithPath: chosen)
    }
    let candidates = [
      Bundle.main.bundleURL.appendingPathComponent(name),
      root.appendingPathComponent(".build/debug/\(name)"),
    ]
    guard
      let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0.path) })
    else {
      throw TestSetupError(
        "`\(name)` is missing; run `swift build --build-tests` first. Looked at: "
          + candidates.map(\.path).joined(separator: ", "))
    }
    return found
  }

  static func trellis() throws -> URL {
    try executable("trellis", overriddenBy: "TRELLIS_EXECUTABLE")
  }

  static func trellisServe() throws -> URL {
    try executable("trellis-serve", overriddenBy: "TRELLIS_SERVE_EXECUTABLE")
  }
}

/// Why a test could not set itself up.
struct TestSetupError: Error, CustomStringConvertible {
  var description: String
  init(_ description: String) { self.description = description }
}

/// What a finished run of a program left.
struct ProgramResult {
  var status: Int32
  /// True when a signal ended it (a trap or a crash).
  var crashed: Bool
  var stdout: String
  var stderr: String
}

/// Runs `program arguments` to its end, its output collected in files so no pipe can fill.
func runProgram(_ program: URL, _ arguments: [String]) throws -> ProgramResult {
  let scratch = try TemporaryDirectory()
  let outFile = scratch.path("stdout")
  let errFile = scratch.path("stderr")
  let process = Process()
  process.executableURL = program
  process.arguments = arguments
  process.standardInput = FileHandle.nullDevice
  try runClosingOutputs(process, stdout: outFile, stderr: errFile)
  process.waitUntilExit()
  return ProgramResult(
    status: process.terminationStatus, crashed: process.terminationReason == .uncaughtSignal,
    stdout: try String(contentsOfFile: outFile, encoding: .utf8),
    stderr: try String(contentsOfFile: errFile, encoding: .utf8))
}

/// Starts `process` with its standard output and error in two files, created (or emptied)
/// here, and closes this process's handles on them once the child holds its own: Foundation's
/// Process leaves them open, and descriptors left open by hundreds of runs crashed
/// `Process.run` (CLITests' `runTrellis` has the story).
func runClosingOutputs(_ process: Process, stdout: String, stderr: String) throws {
  // A file that could not be created makes the FileHandle below throw.
  for path in [stdout, stderr] { _ = FileManager.default.createFile(atPath: path, contents: nil) }
  let output = try FileHandle(forWritingTo: URL(fileURLWithPath: stdout))
  let errors = try FileHandle(forWritingTo: URL(fileURLWithPath: stderr))
  defer {
    try? output.close()
    try? errors.close()
  }
  process.standardOutput = output
  process.standardError = errors
  try process.run()
}

/// A fresh directory under the system's temporary one, removed with the object.
final class TemporaryDirectory {
  let url: URL

  init() throws {
    url = FileManager.default.temporaryDirectory
      .appendingPathComponent("trellis-serve-test-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
  }

  deinit { try? FileManager.default.removeItem(at: url) }

  func path(_ name: String) -> String { url.appendingPathComponent(name).path }
}

/// The model the tests serve: `$TRELLIS_SERVE_MODEL` when set (a full-size model for the load
/// test's figures), else a small one `trellis train` makes once per test process from
/// Corpora/tiny in a fraction of a second.
enum TestModel {
  nonisolated(unsafe) private static var trained: (directory: TemporaryDirectory, path: String)?
  nonisolated(unsafe) private static var loaded: TaggerModel?

  static func path() throws -> String {
    if let chosen = ProcessInfo.processInfo.environment["TRELLIS_SERVE_MODEL"] { return chosen }
    if let trained { return trained.path }
    let directory = try TemporaryDirectory()
    let model = directory.path("tiny.model")
    let result = try runProgram(
      try ServePaths.trellis(),
      [
        "train", "--train", ServePaths.file("Corpora/tiny/train.conll"), "--dev",
        ServePaths.file("Corpora/tiny/dev.conll"), "--model", model, "--seed", "1", "--quiet",
        "--epochs", "2", "--embedding-size", "16", "--hidden-size", "16",
        "--character-filters", "8", "--character-embedding-size", "8",
      ])
    guard result.status == 0, !result.crashed else {
      throw TestSetupError("trellis train failed (\(result.status)): \(result.stderr)")
    }
    trained = (directory, model)
    return model
  }

  static func model() throws -> TaggerModel {
    if let loaded { return loaded }
    let model = try ModelFile.read(from: try path())
    loaded = model
    return model
  }
}

/// A `TaggingServer` running in this process on a port the system chose, on 127.0.0.1.
final class InProcessServer {
  let port: Int
  private let group: ServiceGroup
  private let running: Task<Void, any Error>

  /// Serves `model`, read from `file` (default: `TestModel`'s).
  init(limits: ServerLimits = ServerLimits(), model: (TaggerModel, file: String)? = nil)
    async throws
  {
    let (ports, listening) = AsyncStream<Int>.makeStream()
    var logger = Logger(label: "trellis-serve-test")
    logger.logLevel = .critical
    let server = try TaggingServer(
      model: try model?.0 ?? TestModel.model(), modelFile: try model?.file ?? TestModel.path(),
      port: 0, limits: limits, logger: logger
    ) { port in listening.yield(port) }
    let group = ServiceGroup(
      configuration: ServiceGroupConfiguration(services: [server], logger: logger))
    running = Task {
      defer { listening.finish() }
      try await group.run()
    }
    self.group = group
    var iterator = ports.makeAsyncIterator()
    guard let port = await iterator.next() else {
      try await running.value
      throw TestSetupError("the server ended before it listened")
    }
    self.port = port
  }

  /// `http://127.0.0.1:PORT` followed by `path`.
  func url(_ path: String) -> URL { URL(string: "http://127.0.0.1:\(port)\(path)")! }

  /// Shuts down gracefully and waits for the server to end, rethrowing its error; cancels it
  /// and throws when it is still running after `seconds`.
  func stop(within seconds: TimeInterval = 60) async throws {
    await group.triggerGracefulShutdown()
    let running = running
    let watchdog = Task {
      try await Task.sleep(nanoseconds: UInt64(seconds * 1e9))
      running.cancel()
    }
    defer { watchdog.cancel() }
    let result = await running.result
    guard !running.isCancelled else {
      throw TestSetupError("the server was still running \(seconds) s after a graceful shutdown")
    }
    try result.get()
  }
}

/// One HTTP answer.
struct HTTPAnswer {
  var status: Int
  var body: Data
  /// Header fields by lowercased name.
  var headers: [String: String] = [:]
  var text: String { String(decoding: body, as: UTF8.self) }

  /// The body parsed as JSON.
  func json() throws -> Any {
    try JSONSerialization.jsonObject(with: body, options: .fragmentsAllowed)
  }

  /// The `error` of a `{"error": "…"}` body, or nil.
  var errorMessage: String? {
    ((try? json()) as? [String: Any])?["error"] as? String
  }
}

/// A URLSession client keeping up to `connections` connections to one server, giving up on a
/// request after `timeout` seconds.
final class HTTPClient: Sendable {
  let session: URLSession

  init(connections: Int = 4, timeout: TimeInterval = 600) {
    let configuration = URLSessionConfiguration.ephemeral
    configuration.httpMaximumConnectionsPerHost = connections
    configuration.timeoutIntervalForRequest = timeout
    configuration.timeoutIntervalForResource = timeout
    session = URLSession(configuration: configuration)
  }

  deinit { session.finishTasksAndInvalidate() }

  /// Sends a request with `headers` besides the content type; `chunked` sends the body
  /// without a Content-Length.
  func send(
    _ method: String, _ url: URL, body: Data? = nil, chunked: Bool = false,
    headers: [String: String] = [:]
  ) async throws -> HTTPAnswer {
    var request = URLRequest(url: url)
    request.httpMethod = method
    for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
    if let body {
      request.setValue("application/json", forHTTPHeaderField: "Content-Type")
      if chunked {
        request.httpBodyStream = InputStream(data: body)
      } else {
        request.httpBody = body
      }
    }
    let (data, response) = try await session.data(for: request)
    guard let response = response as? HTTPURLResponse else {
      throw TestSetupError("no HTTP response from \(url)")
    }
    var headers: [String: String] = [:]
    for case (let name as String, let value as String) in response.allHeaderFields {
      headers[name.lowercased()] = value
    }
    return HTTPAnswer(status: response.statusCode, body: data, headers: headers)
  }

  func post(_ url: URL, _ body: String) async throws -> HTTPAnswer {
    try await send("POST", url, body: Data(body.utf8))
  }

  func get(_ url: URL) async throws -> HTTPAnswer { try await send("GET", url) }
}

/// `value` written as JSON with sorted keys: two values that differ only in key order or in
/// how a number was spelled give the same text.
func canonicalJSON(_ value: Any) throws -> String {
  String(
    decoding: try JSONSerialization.data(
      withJSONObject: value, options: [.sortedKeys, .fragmentsAllowed]), as: UTF8.self)
}

/// Each line of JSON-lines `text` in canonical form.
func canonicalLines(_ text: String) throws -> [String] {
  try text.split(separator: "\n").map {
    try canonicalJSON(JSONSerialization.jsonObject(with: Data($0.utf8)))
  }
}

/// The `results` of a `POST /v1/tag` answer, each in canonical form.
func canonicalResults(_ answer: HTTPAnswer) throws -> [String] {
  guard let object = try answer.json() as? [String: Any], let results = object["results"] as? [Any]
  else { throw TestSetupError("no \"results\" array in \(answer.text.prefix(300))") }
  return try results.map(canonicalJSON)
}

/// What `trellis tag --input jsonl` answers to `lines` (with `options`): each line in canonical
/// form, or as written when `canonical` is false.
func cliAnswers(
  _ lines: [String], options: [String] = [], canonical: Bool = true
) throws -> [String] {
  let directory = try TemporaryDirectory()
  let input = directory.path("requests.jsonl")
  try Data(lines.map { $0 + "\n" }.joined().utf8).write(to: URL(fileURLWithPath: input))
  let result = try runProgram(
    try ServePaths.trellis(),
    ["tag", "--model", try TestModel.path(), "--input", "jsonl", input] + options)
  guard result.status == 0, !result.crashed else {
    throw TestSetupError("trellis tag failed (\(result.status)): \(result.stderr)")
  }
  return canonical
    ? try canonicalLines(result.stdout) : result.stdout.split(separator: "\n").map(String.init)
}

/// `{"sentences": [lines…], …extra}`: the body that asks for `lines`.
func tagBody(_ lines: [String], extra: String = "") -> String {
  "{\"sentences\":[" + lines.joined(separator: ",") + "]" + extra + "}"
}

/// JSON-lines requests with ids for the sentences of a CoNLL file (tokens given).
func tokenRequests(from conll: String, limit: Int = .max) throws -> [(line: String, tokens: Int)] {
  try readLabelledCoNLL(path: ServePaths.file(conll)).prefix(limit).enumerated().map {
    index, sentence in
    let tokens = try String(
      decoding: JSONSerialization.data(withJSONObject: sentence.tokens), as: UTF8.self)
    return ("{\"id\":\(index),\"tokens\":\(tokens)}", sentence.tokens.count)
  }
}

/// A `trellis-serve` process, started with `--port 0` and the test model before `arguments`,
/// and ready once it printed its address. Ended with SIGKILL if still running when dropped.
final class ServerProcess {
  let process: Process
  let port: Int
  /// What it printed to say where it listens.
  let listeningLine: String
  private let directory: TemporaryDirectory

  /// `addressSpace`: the server runs under `ulimit -v` of that many KB.
  init(_ arguments: [String] = [], addressSpace: Int? = nil) throws {
    let directory = try TemporaryDirectory()
    let outFile = directory.path("stdout")
    let errFile = directory.path("stderr")
    let process = Process()
    process.executableURL = try ServePaths.trellisServe()
    process.arguments = ["--model", try TestModel.path(), "--port", "0"] + arguments
    if let addressSpace {
      process.arguments =
        [
          "-c", #"ulimit -v \#(addressSpace); exec "$0" "$@""#, process.executableURL!.path,
        ] + process.arguments!
      process.executableURL = URL(fileURLWithPath: "/bin/sh")
    }
    process.standardInput = FileHandle.nullDevice
    try runClosingOutputs(process, stdout: outFile, stderr: errFile)
    // The line it prints once listening: "trellis-serve: listening on http://127.0.0.1:PORT".
    let deadline = Date(timeIntervalSinceNow: 120)
    var line: Substring?
    while true {
      let printed = (try? String(contentsOfFile: outFile, encoding: .utf8)) ?? ""
      line = printed.split(separator: "\n").first { $0.contains("listening on") }
      if line != nil { break }
      guard process.isRunning, Date() < deadline else {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        let stderr = (try? String(contentsOfFile: errFile, encoding: .utf8)) ?? ""
        throw TestSetupError("trellis-serve did not start: \(stderr)")
      }
      Thread.sleep(forTimeInterval: 0.02)
    }
    guard let line, let port = line.split(separator: ":").last.flatMap({ Int($0) }) else {
      throw TestSetupError("no port in \(line ?? "")")
    }
    self.process = process
    self.port = port
    self.directory = directory
    listeningLine = String(line)
  }

  var stderr: String {
    (try? String(contentsOfFile: directory.path("stderr"), encoding: .utf8)) ?? ""
  }

  func url(_ path: String) -> URL { URL(string: "http://127.0.0.1:\(port)\(path)")! }

  /// Waits up to `seconds` for the process to end; false when it is still running.
  func waitForExit(seconds: TimeInterval) -> Bool {
    let deadline = Date(timeIntervalSinceNow: seconds)
    while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
    return !process.isRunning
  }

  deinit {
    if process.isRunning {
      kill(process.processIdentifier, SIGKILL)
      process.waitUntilExit()
    }
  }
}

/// A raw TCP connection to 127.0.0.1, for what an HTTP client will not send: a request that
/// stops halfway, or nothing at all.
final class RawConnection {
  private let descriptor: Int32
  /// Everything the server has sent that `receives` and `secondsUntilClosed` read.
  private(set) var received: [UInt8] = []
  var receivedText: String { String(decoding: received, as: UTF8.self) }

  /// With `receiveBuffer`, the socket's receive buffer is set to that many bytes (before it
  /// connects, so the window follows): the server's answers then wait on its side.
  init(port: Int, receiveBuffer: Int32? = nil) throws {
    descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    if var size = receiveBuffer {
      setsockopt(descriptor, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
    }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let connected = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
      }
    }
    guard descriptor >= 0, connected == 0 else {
      close(descriptor)
      throw TestSetupError("cannot connect to 127.0.0.1:\(port): errno \(errno)")
    }
  }

  deinit { close(descriptor) }

  func send(_ text: String) {
    let bytes = Array(text.utf8)
    _ = bytes.withUnsafeBytes {
      Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
    }
  }

  /// Makes closing the connection (this object's end) reset it, as a client killed or timing
  /// out with `SO_LINGER` 0 does, instead of sending its end (a FIN).
  func resetsWhenClosed() {
    var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
    setsockopt(descriptor, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<linger>.size))
  }

  /// Shuts the connection's sending side (a half-close): the server reads the end of its
  /// input, and can still answer.
  func finishSending() {
    shutdown(descriptor, Int32(SHUT_WR))
  }

  /// Sends `count` spaces, as a client that sends its whole body before it reads its answer
  /// (Python's urllib); whether every byte went within 10 s. A server that closed the socket
  /// with bytes unread answers the next ones with a reset, and the sends fail.
  func sendsBody(of count: Int) -> Bool {
    var timeout = timeval(tv_sec: 10, tv_usec: 0)
    setsockopt(
      descriptor, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    let chunk = [UInt8](repeating: UInt8(ascii: " "), count: 1 << 16)
    var left = count
    while left > 0 {
      let sent = chunk.withUnsafeBytes {
        Glibc.send(descriptor, $0.baseAddress, min(left, $0.count), Int32(MSG_NOSIGNAL))
      }
      guard sent > 0 else { return false }
      left -= sent
    }
    return true
  }

  /// Reads until what the server sent holds `text`, or 10 s have passed.
  func receives(text: String) {
    for _ in 0..<50 where !receivedText.contains(text) { _ = receives(within: 0.2) }
  }

  /// Whether the server sends something within `seconds` (read and dropped).
  func receives(within seconds: TimeInterval) -> Bool {
    var waiting = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
    var buffer = [UInt8](repeating: 0, count: 4096)
    guard poll(&waiting, 1, Int32(seconds * 1000)) > 0 else { return false }
    let count = recv(descriptor, &buffer, buffer.count, 0)
    received += buffer.prefix(max(0, count))
    return count > 0
  }

  /// Sends `byte` every 0.1 s until a send fails, which it does once the server has closed the
  /// socket in full (the first byte after that draws a reset): the seconds that took, or nil
  /// when sends still went through after `limit` seconds. A server that only closed its output
  /// still takes what is sent.
  func secondsUntilReset(limit: TimeInterval, sending byte: UInt8) -> TimeInterval? {
    let started = Date()
    var byte = byte
    while Date().timeIntervalSince(started) < limit {
      guard Glibc.send(descriptor, &byte, 1, Int32(MSG_NOSIGNAL)) >= 0 else {
        return Date().timeIntervalSince(started)
      }
      Thread.sleep(forTimeInterval: 0.1)
    }
    return nil
  }

  /// Reads what the server sends, at most `chunk` bytes every `pause` seconds, until it closes
  /// the connection or `limit` seconds pass: a client that takes its answer slowly but without
  /// stopping. Whether the connection was closed.
  func readsSlowly(chunk: Int, pause: TimeInterval, limit: TimeInterval) -> Bool {
    let started = Date()
    var buffer = [UInt8](repeating: 0, count: chunk)
    while Date().timeIntervalSince(started) < limit {
      var waiting = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
      guard poll(&waiting, 1, 1000) > 0 else { continue }
      let count = recv(descriptor, &buffer, buffer.count, 0)
      guard count > 0 else { return true }
      received += buffer.prefix(count)
      Thread.sleep(forTimeInterval: pause)
    }
    return false
  }

  /// Reads (and drops) what the server sends until it closes the connection: the seconds that
  /// took, or nil when it was still open after `limit` seconds.
  func secondsUntilClosed(limit: TimeInterval) -> TimeInterval? {
    let started = Date()
    var buffer = [UInt8](repeating: 0, count: 4096)
    while true {
      let left = limit - Date().timeIntervalSince(started)
      guard left > 0 else { return nil }
      var waiting = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
      guard poll(&waiting, 1, Int32(left * 1000) + 1) > 0 else { continue }
      let count = recv(descriptor, &buffer, buffer.count, 0)
      guard count > 0 else { return Date().timeIntervalSince(started) }
      received += buffer.prefix(count)
    }
  }
}
