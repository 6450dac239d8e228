import Foundation
import TrellisServer
import XCTest

/// Connections that stall are closed after the idle timeout (here 1 s), so a graceful shutdown
/// never waits on them for longer.
final class ConnectionTests: XCTestCase {
  private var server: InProcessServer!

  override func setUp() async throws {
    var limits = ServerLimits()
    limits.idleTimeoutSeconds = 1
    server = try await InProcessServer(limits: limits)
  }

  override func tearDown() async throws {
    try await server?.stop(within: 20)
  }

  func testIdleAndStalledConnectionsAreClosedAfterTheTimeout() async throws {
    let idle = try RawConnection(port: server.port)
    let stalled = try RawConnection(port: server.port)
    stalled.send("POST /v1/tag HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100\r\n\r\n{\"sent")
    let answered = try RawConnection(port: server.port)
    answered.send("GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n")
    for (name, connection) in [("idle", idle), ("stalled", stalled), ("keep-alive", answered)] {
      XCTAssertNotNil(connection.secondsUntilClosed(limit: 10), "\(name): still open after 10 s")
    }
    let health = try await HTTPClient().get(server.url("/health"))
    XCTAssertEqual(health.status, 200)
  }

  func testStalledUploadDoesNotHoldAGracefulShutdown() async throws {
    let stalled = try RawConnection(port: server.port)
    stalled.send("POST /v1/tag HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100\r\n\r\n{")
    try await Task.sleep(nanoseconds: 200_000_000)
    try await server.stop(within: 10)
    server = nil
    XCTAssertNotNil(stalled.secondsUntilClosed(limit: 5), "the stalled connection is still open")
  }
}

/// A client that asks for a large answer and reads none of it is closed after the idle
/// timeout: Hummingbird's counts only while it reads a request, and such a client held its
/// connection, here the only one `maxConnections` allows, for good.
final class StalledReaderTests: XCTestCase {
  func testAClientThatStopsReadingIsClosedAfterTheTimeout() async throws {
    var limits = ServerLimits()
    (limits.idleTimeoutSeconds, limits.maxConnections) = (1, 1)
    limits.maxBodyBytes = 64 << 20
    let server = try await InProcessServer(limits: limits)
    // The request's passthrough field comes back in the answer: 16 MB, far past what the
    // socket buffers hold.
    let pad = String(repeating: "x", count: 16 << 20)
    let body = tagBody([#"{"tokens":["boston"],"pad":"\#(pad)"}"#])
    let stalled = try RawConnection(port: server.port)
    stalled.send(
      "POST /v1/tag HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
        + "Content-Length: \(body.utf8.count)\r\n\r\n" + body)
    let waiting = try RawConnection(port: server.port)
    waiting.send("GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n")
    XCTAssertTrue(waiting.receives(within: 20), "the stalled reader still holds the connection")
    try await server.stop(within: 20)
    _ = stalled
  }
}

/// A client that reads a large answer slowly but without stopping gets all of it.
final class SlowReaderTests: XCTestCase {
  /// Its socket stays unwritable until NIO's buffer drains to its low-water mark, longer than
  /// the idle timeout, and the connection was closed mid-answer with a clean end, the client
  /// short of what Content-Length promised. 12 MB at about 2.5 MB/s.
  func testAClientThatReadsSlowlyGetsTheWholeAnswer() async throws {
    try await assertWholeAnswer(megabytes: 12, chunk: 1 << 16, pause: 0.025)
  }

  /// Linux reports a socket writable again only once much of its send buffer (megabytes here)
  /// has drained: a client reading steadily took no byte out of NIO's buffer for longer than
  /// the idle timeout and was closed as stalled, and a close after the answer (`Connection:
  /// close`, a graceful shutdown) gave up after 60 s whoever was reading. 8 MB at 640 KB/s.
  func testAClientThatReadsSteadilyThroughFullBuffersGetsTheWholeAnswer() async throws {
    try await assertWholeAnswer(megabytes: 8, chunk: 1 << 15, pause: 0.05)
  }

  /// Asks for an answer of the request's passthrough field of `megabytes` over a 64 KB
  /// receive buffer, then takes `chunk` bytes each `pause`, with a 1 s idle timeout.
  private func assertWholeAnswer(megabytes: Int, chunk: Int, pause: TimeInterval) async throws {
    var limits = ServerLimits()
    limits.idleTimeoutSeconds = 1
    limits.maxBodyBytes = 64 << 20
    let server = try await InProcessServer(limits: limits)
    let pad = String(repeating: "x", count: megabytes << 20)
    let body = tagBody([#"{"tokens":["boston"],"pad":"\#(pad)"}"#])
    let reader = try RawConnection(port: server.port, receiveBuffer: 1 << 16)
    reader.send(
      "POST /v1/tag HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
        + "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n" + body)
    XCTAssertTrue(reader.readsSlowly(chunk: chunk, pause: pause, limit: 60), "still open")
    let answer = reader.received
    let headEnd = try XCTUnwrap(answer.firstRange(of: Array("\r\n\r\n".utf8)))
    let head = String(decoding: answer[..<headEnd.lowerBound], as: UTF8.self).lowercased()
    let length = try XCTUnwrap(
      head.split(separator: "\r\n").first { $0.hasPrefix("content-length:") }?
        .split(separator: ":").last.flatMap { Int($0.trimmingCharacters(in: .whitespaces)) })
    XCTAssertGreaterThan(length, megabytes << 20)
    XCTAssertEqual(answer.count - headEnd.upperBound, length, "the answer was cut short")
    try await server.stop(within: 20)
  }
}

/// Connections past `maxConnections` wait in the system's listen queue until one closes: a
/// server that accepted them all until it ran out of file descriptors then spun a core on
/// failing accepts.
final class ConnectionLimitTests: XCTestCase {
  static let health = "GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n"

  func testConnectionsPastTheLimitWaitUntilOneCloses() async throws {
    var limits = ServerLimits()
    limits.maxConnections = 2
    let server = try await InProcessServer(limits: limits)
    // One at a time, each answered (so accepted) before the next connects.
    var open: [RawConnection] = []
    for _ in 0..<limits.maxConnections {
      let connection = try RawConnection(port: server.port)
      connection.send(Self.health)
      XCTAssertTrue(connection.receives(within: 10), "a connection within the limit waits")
      open.append(connection)
    }
    let waiting = try RawConnection(port: server.port)
    waiting.send(Self.health)
    XCTAssertFalse(waiting.receives(within: 1), "a connection past the limit was answered")
    open.removeFirst()  // closes it
    XCTAssertTrue(waiting.receives(within: 10), "still waiting after a connection closed")
    open.removeAll()
    try await server.stop(within: 20)
  }
}
