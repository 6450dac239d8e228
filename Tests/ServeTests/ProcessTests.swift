import Foundation
import Trellis
import TrellisServer
import XCTest

/// The `trellis-serve` executable: its address, its option checks and its graceful shutdown.
final class ProcessTests: XCTestCase {
  private let client = HTTPClient()

  /// A request of `count` sentences of 49 tokens with confidences, the slow kind; the first
  /// carries a passthrough field of `padding` bytes, which its answer copies.
  private func slowBody(_ count: Int, padding: Int = 0) -> String {
    let tokens = Array(
      repeating: ["show", "me", "flights", "from", "denver", "to", "boston"], count: 7
    )
    .joined().map { "\"\($0)\"" }.joined(separator: ",")
    var sentences = (0..<count).map { #"{"id":\#($0),"tokens":[\#(tokens)]}"# }
    sentences[0].removeLast()
    sentences[0] += #","pad":"\#(String(repeating: "x", count: padding))"}"#
    return tagBody(sentences, extra: #","confidence":true"#)
  }

  /// SIGTERM while a request is being tagged: new connections are refused, the request is
  /// answered in full, and the process then exits 0. The answer (over 32 MB) is far larger than
  /// a socket buffer, so it is still being sent when the connection is closed.
  func testSIGTERMFinishesTheRequestInFlightAndExitsZero() async throws {
    let server = try ServerProcess([
      "--max-sentences", "100000", "--max-tokens", "10000000", "--max-body-bytes", "100000000",
    ])
    // Size the request to take about 5 s on this build and machine, then signal after 1 s; the
    // faster of two probes, so a first request's warm-up or a busy moment cannot shrink it.
    var perSentence = TimeInterval.infinity
    for _ in 0..<2 {
      let started = Date()
      let probe = try await client.post(server.url("/v1/tag"), slowBody(20))
      XCTAssertEqual(probe.status, 200, probe.text)
      perSentence = min(perSentence, Date().timeIntervalSince(started) / 20)
    }
    let count = min(100_000, max(20, Int(5 / perSentence)))

    // The body is built before the clock starts: in a debug build on a slow machine, building
    // 32 MB of it inside the task took longer than the second below, and SIGTERM then closed
    // the listener before the request had connected.
    let padding = 32 << 20
    let body = slowBody(count, padding: padding)
    let sent = Date()
    let slow = Task { try await client.post(server.url("/v1/tag"), body) }
    try await Task.sleep(nanoseconds: 1_000_000_000)
    XCTAssertEqual(kill(server.process.processIdentifier, SIGTERM), 0)
    let signalled = Date()
    try await Task.sleep(nanoseconds: 300_000_000)
    let refused: Bool
    do {
      _ = try await HTTPClient().get(server.url("/health"))
      refused = false
    } catch {
      refused = true
    }
    XCTAssertTrue(refused, "a new connection was served after SIGTERM")

    let answer = try await slow.value
    let answered = Date()
    XCTAssertEqual(answer.status, 200, answer.text.prefix(300) + "")
    let results = try XCTUnwrap(
      (try answer.json() as? [String: Any])?["results"] as? [[String: Any]])
    XCTAssertEqual(results.count, count)
    XCTAssertEqual((results.first?["pad"] as? String)?.utf8.count, padding)
    XCTAssertGreaterThan(
      answered, signalled, "the request (\(count) sentences) ended before SIGTERM; nothing drained")
    XCTAssertTrue(server.waitForExit(seconds: 60), "still running after the drain")
    XCTAssertEqual(server.process.terminationReason, .exit, server.stderr)
    XCTAssertEqual(server.process.terminationStatus, 0, server.stderr)
    print(
      String(
        format: "drained a request of %d sentences, SIGTERM %.2f s after it was sent", count,
        signalled.timeIntervalSince(sent)))
  }

  /// SIGINT, and SIGHUP (which a closing terminal or ssh session sends, and which ended the
  /// process at once, requests in flight dropped), drain like SIGTERM and exit 0.
  func testSIGINTAndSIGHUPOnAnIdleServerExitZero() throws {
    for signal in [SIGINT, SIGHUP] {
      let server = try ServerProcess()
      XCTAssertEqual(kill(server.process.processIdentifier, signal), 0)
      XCTAssertTrue(server.waitForExit(seconds: 60))
      XCTAssertEqual(server.process.terminationReason, .exit, "signal \(signal): \(server.stderr)")
      XCTAssertEqual(server.process.terminationStatus, 0, server.stderr)
    }
  }

  /// Without --host it listens on 127.0.0.1 only: not on this machine's other addresses.
  func testListensOnLoopbackByDefault() async throws {
    let server = try ServerProcess()
    XCTAssertTrue(
      server.listeningLine.hasPrefix("trellis-serve: listening on http://127.0.0.1:"),
      server.listeningLine)
    let health = try await client.get(server.url("/health"))
    XCTAssertEqual(health.status, 200)
    for address in nonLoopbackIPv4Addresses() {
      let url = URL(string: "http://\(address):\(server.port)/health")!
      do {
        let answer = try await HTTPClient(timeout: 10).get(url)
        XCTFail("\(url) answered \(answer.status): the server listens beyond 127.0.0.1")
      } catch {}
    }
  }

  /// A port another server holds is named with the system's reason (the message was NIO's
  /// "bind(descriptor:ptr:bytes:): … (errno: 98)"), and the status is 1.
  func testAPortInUseIsNamed() throws {
    let server = try ServerProcess()
    let second = try runProgram(
      try ServePaths.trellisServe(), ["--model", try TestModel.path(), "--port", "\(server.port)"])
    XCTAssertEqual(second.status, 1, second.stderr)
    XCTAssertEqual(
      second.stderr, "Error: cannot listen on 127.0.0.1:\(server.port): Address already in use\n")
  }

  /// A host name no lookup finds is named as such: the message was NIO's
  /// "SocketAddressError.UnknownHost: … (error -2) for host …, port 0".
  func testAnUnknownHostIsNamed() throws {
    let result = try runProgram(
      try ServePaths.trellisServe(),
      ["--model", try TestModel.path(), "--host", "nosuchhost.invalid", "--port", "0"])
    XCTAssertEqual(result.status, 1, result.stderr)
    XCTAssertTrue(
      result.stderr.hasPrefix(
        "Error: cannot listen on nosuchhost.invalid:0: no such host address ("),
      result.stderr)
    XCTAssertFalse(result.stderr.contains("SocketAddressError"), result.stderr)
  }

  /// Out-of-range options, negative numbers after a space too, are refused before the model
  /// is read (this one does not exist).
  func testOptionsAreCheckedBeforeAnyWork() throws {
    let program = try ServePaths.trellisServe()
    let cases: [([String], String)] = [
      (["--port", "65536"], "--port must be in 0...65535 (got 65536)"),
      (["--workers", "0"], "--workers must be in 1...64 (got 0)"),
      (["--max-tokens", "0"], "--max-tokens must be in 1...100000000 (got 0)"),
      (["--batch-wait-microseconds=-1"], "--batch-wait-microseconds must be in 0...1000000"),
      (["--workers", "-2"], "--workers must be in 1...64 (got -2)"),
      (["--max-connections", "0"], "--max-connections must be in 1...1000000 (got 0)"),
    ]
    for (options, message) in cases {
      let result = try runProgram(program, ["--model", "/nonexistent/model"] + options)
      XCTAssertFalse(result.crashed, result.stderr)
      XCTAssertNotEqual(result.status, 0)
      XCTAssertTrue(result.stderr.hasPrefix("Error: "), result.stderr)
      XCTAssertTrue(result.stderr.contains(message), "\(options): \(result.stderr)")
      XCTAssertFalse(result.stderr.contains("/nonexistent/model"), result.stderr)
    }
    let missing = try runProgram(program, ["--model", "/nonexistent/model", "--port", "0"])
    XCTAssertEqual(missing.status, 1, missing.stderr)
    XCTAssertTrue(missing.stderr.hasPrefix("Error: "), missing.stderr)
    XCTAssertTrue(missing.stderr.contains("/nonexistent/model"), missing.stderr)
    XCTAssertEqual(missing.stdout, "")
  }

  /// An argument that is not valid UTF-8 (a model path in Latin-1, of a file that is there)
  /// is a usage error naming it: it was read with U+FFFD in place of its byte, and the model
  /// reported missing under that other name.
  func testAnArgumentThatIsNotUTF8IsAUsageErrorNamingIt() throws {
    let directory = try TemporaryDirectory()
    let result = try runProgram(
      URL(fileURLWithPath: "/bin/sh"),
      [
        "-c",
        #"model="$2/latin1-$(printf '\351').model"; cp "$1" "$model" && "$0" --model "$model""#,
        try ServePaths.trellisServe().path, try TestModel.path(), directory.url.path,
      ])
    XCTAssertEqual(result.status, 64, result.stderr)
    XCTAssertTrue(
      result.stderr.hasPrefix(
        #"Error: argument 2 ("\#(directory.url.path)/latin1-\xE9.model", after --model) is not "#
          + "valid UTF-8"),
      result.stderr)
    XCTAssertEqual(result.stdout, "")
  }

  /// Under `ulimit -n 5` the server died of SIGILL in 5 runs of 8 (libdispatch's threads,
  /// started before the options were checked, had no descriptor for their events).
  func testTooFewOpenFilesAreRefusedWithAMessage() throws {
    let shell = URL(fileURLWithPath: "/bin/sh")
    for _ in 0..<8 {
      let refused = try runProgram(
        shell,
        ["-c", #"ulimit -n 5; exec "$0" "$@""#, try ServePaths.trellisServe().path]
          + ["--model", "/nonexistent/model", "--port", "0"])
      XCTAssertEqual(refused.status, 1, refused.stderr)
      XCTAssertEqual(
        refused.stderr,
        "Error: the open-file limit (ulimit -n) is 5; trellis-serve needs at least 16\n")
    }
  }

  /// Under an address-space limit too small for its threads, the server died of SIGILL at
  /// start-up in some runs and started in others; it is refused with the limit it needs for
  /// its workers and this machine's cores, and starts at that limit.
  func testTooSmallAnAddressSpaceIsRefusedWithAMessage() throws {
    let shell = URL(fileURLWithPath: "/bin/sh")
    let program = try ServePaths.trellisServe().path
    for workers in [1, 24] {
      let needed = serverAddressSpaceNeeded(workers: workers)
      let refused = try runProgram(
        shell,
        ["-c", #"ulimit -v \#(needed - 1); exec "$0" "$@""#, program]
          + ["--model", "/nonexistent", "--workers", "\(workers)"])
      XCTAssertEqual(refused.status, 1, refused.stderr)
      XCTAssertEqual(
        refused.stderr,
        "Error: the address-space limit (ulimit -v) is \(needed - 1) KB; trellis-serve needs at "
          + "least \(needed) KB to start with \(workers) tagging worker\(workers == 1 ? "" : "s"), "
          + "and more for its requests\n")
      let started = try ServerProcess(["--workers", "\(workers)"], addressSpace: needed)
      XCTAssertTrue(started.listeningLine.contains("listening on"), started.listeningLine)
    }
  }

  /// A hard limit on open files (`ulimit -Hn`) too low for `--max-connections` and the server's
  /// own descriptors is named before the model is read; a soft limit that low is raised.
  func testTheOpenFileLimitMustFitTheConnections() throws {
    let underLimit = ["-c", #"ulimit -n 100; exec "$0" "$@""#, try ServePaths.trellisServe().path]
    let shell = URL(fileURLWithPath: "/bin/sh")
    let refused = try runProgram(
      shell, underLimit + ["--model", "/nonexistent/model", "--max-connections", "200"])
    XCTAssertEqual(refused.status, 1, refused.stderr)
    XCTAssertEqual(
      refused.stderr,
      "Error: --max-connections needs 264 open files with the server's own, and this process "
        + "may open 100 (ulimit -Hn): lower it, or raise that limit\n")
    let fits = try runProgram(
      shell, underLimit + ["--model", "/nonexistent/model", "--max-connections", "36"])
    XCTAssertTrue(fits.stderr.contains("/nonexistent/model"), fits.stderr)

    let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
    var original = rlimit()
    XCTAssertEqual(getrlimit(resource, &original), 0)
    defer { setrlimit(resource, &original) }
    var lowered = original
    lowered.rlim_cur = 100
    XCTAssertEqual(setrlimit(resource, &lowered), 0)
    var limits = ServerLimits()
    limits.maxConnections = 200
    try limits.raiseOpenFileLimit()
    var raised = rlimit()
    XCTAssertEqual(getrlimit(resource, &raised), 0)
    XCTAssertEqual(raised.rlim_cur, 264)
    XCTAssertEqual(raised.rlim_max, original.rlim_max)
  }

  /// The IPv4 addresses of this machine's interfaces other than loopback.
  private func nonLoopbackIPv4Addresses() -> [String] {
    var first: UnsafeMutablePointer<ifaddrs>?
    guard getifaddrs(&first) == 0 else { return [] }
    defer { freeifaddrs(first) }
    var addresses: [String] = []
    for interface in sequence(first: first, next: { $0?.pointee.ifa_next }) {
      guard let address = interface?.pointee.ifa_addr, address.pointee.sa_family == AF_INET
      else { continue }
      var host = [CChar](repeating: 0, count: Int(NI_MAXHOST))
      let length = socklen_t(MemoryLayout<sockaddr_in>.size)
      guard getnameinfo(address, length, &host, socklen_t(host.count), nil, 0, NI_NUMERICHOST) == 0
      else { continue }
      let text = String(cString: host)
      if !text.hasPrefix("127.") { addresses.append(text) }
    }
    return addresses
  }
}
