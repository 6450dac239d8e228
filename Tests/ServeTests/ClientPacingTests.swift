import Foundation
import Hummingbird
import NIOCore
import NIOEmbedded
import NIOHTTPTypes
import XCTest

@testable import TrellisServer

/// `ClientPacing` on a channel of its own, on a clock the test advances: when the clocks run,
/// when `100 Continue` goes out, and which answers close the connection.
final class ClientPacingTests: XCTestCase {
  /// An idle timeout of 3 s, a body timeout of 1 s; bodies up to 100 bytes.
  private func connectedChannel() throws -> EmbeddedChannel {
    let channel = EmbeddedChannel(
      handler: ClientPacing(idleTimeout: .seconds(3), bodyTimeout: .seconds(1), maxBodyBytes: 100))
    try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
    return channel
  }

  private func head(
    _ method: HTTPRequest.Method = .post, expectsContinue: Bool = false, length: Int? = nil
  ) -> HTTPRequestPart {
    var request = HTTPRequest(method: method, scheme: nil, authority: nil, path: "/v1/tag")
    if expectsContinue { request.headerFields[.expect] = "100-continue" }
    if let length { request.headerFields[.contentLength] = "\(length)" }
    return .head(request)
  }

  private func answer(_ channel: EmbeddedChannel, _ status: HTTPResponse.Status = .ok) throws {
    try channel.writeOutbound(HTTPResponsePart.head(HTTPResponse(status: status)))
    try channel.writeOutbound(HTTPResponsePart.end(nil))
  }

  /// The statuses of the answers' heads written so far, 100 Continue included.
  private func writtenStatuses(_ channel: EmbeddedChannel) throws -> [Int] {
    var statuses: [Int] = []
    while let part = try channel.readOutbound(as: HTTPResponsePart.self) {
      if case .head(let response) = part { statuses.append(response.status.code) }
    }
    return statuses
  }

  /// Asserts that the channel is still open `milliseconds` − 100 from now and closed 100 after.
  private func assertCloses(
    _ channel: EmbeddedChannel, inMilliseconds milliseconds: Int64, _ what: String,
    line: UInt = #line
  ) {
    channel.embeddedEventLoop.advanceTime(by: .milliseconds(milliseconds - 100))
    XCTAssertTrue(channel.isActive, "closed before \(what)", line: line)
    channel.embeddedEventLoop.advanceTime(by: .milliseconds(200))
    XCTAssertFalse(channel.isActive, "open after \(what)", line: line)
  }

  /// A piece of the body arrives, ending the read that asked for it.
  private func arrive(_ channel: EmbeddedChannel, _ part: HTTPRequestPart) throws {
    try channel.writeInbound(part)
    channel.pipeline.fireChannelReadComplete()
  }

  func testTheClockCountsOnlyTheServersWaitsForTheBody() throws {
    let channel = try connectedChannel()
    try channel.writeInbound(head())
    // No read asked of the socket: a server too busy to read does not count against the client.
    channel.embeddedEventLoop.advanceTime(by: .seconds(5))
    XCTAssertTrue(channel.isActive, "closed while the server was not reading")
    channel.read()
    channel.embeddedEventLoop.advanceTime(by: .milliseconds(600))
    try arrive(channel, .body(ByteBuffer(string: "{")))
    channel.embeddedEventLoop.advanceTime(by: .seconds(5))
    XCTAssertTrue(channel.isActive, "closed while the server was not reading")
    channel.read()
    assertCloses(channel, inMilliseconds: 400, "1 s of waits in all")
    XCTAssertEqual(try writtenStatuses(channel), [408])
  }

  /// The idle timeout counts the waits for the client since the last piece of a request, a
  /// head trickled in pieces the parser holds included, and never the time a request is
  /// answered in.
  func testTheIdleClockCountsOnlyTheWaitsForTheClient() throws {
    let channel = try connectedChannel()
    for _ in 0..<5 {  // pieces of a head, which the parser passes on only when it is whole
      channel.embeddedEventLoop.advanceTime(by: .milliseconds(500))
      channel.pipeline.fireChannelReadComplete()
      channel.read()
    }
    XCTAssertTrue(channel.isActive, "closed after 2.5 s of waits")
    try channel.writeInbound(head(.get))
    try arrive(channel, .end(nil))
    channel.read()
    channel.embeddedEventLoop.advanceTime(by: .seconds(10))
    XCTAssertTrue(channel.isActive, "closed while its answer was being made")
    try answer(channel)
    assertCloses(channel, inMilliseconds: 3000, "the idle timeout")
    XCTAssertEqual(try writtenStatuses(channel), [200], "a 408 between requests")
  }

  func testAHeadTrickledPastTheIdleTimeoutIsClosed() throws {
    let channel = try connectedChannel()
    for _ in 0..<5 {
      channel.embeddedEventLoop.advanceTime(by: .milliseconds(700))
      channel.pipeline.fireChannelReadComplete()
      channel.read()
    }
    XCTAssertFalse(channel.isActive, "open after 3.5 s of a trickled head")
  }

  /// A pipelined request queued behind an unanswered one is not being read, so its time there
  /// does not count.
  func testTheClockWaitsForTheAnswersBeforeIt() throws {
    let channel = try connectedChannel()
    try channel.writeInbound(head(.get))
    try channel.writeInbound(HTTPRequestPart.end(nil))
    try channel.writeInbound(head())  // its body still to come
    channel.read()
    channel.embeddedEventLoop.advanceTime(by: .seconds(5))
    XCTAssertTrue(channel.isActive, "closed while the request before was unanswered")
    try answer(channel)
    assertCloses(channel, inMilliseconds: 1000, "the body timeout")
  }

  /// A body that arrives in full stops the clock, however long the answer then takes.
  func testTheClockStopsAtTheBodysEnd() throws {
    let channel = try connectedChannel()
    try channel.writeInbound(head())
    channel.read()
    channel.embeddedEventLoop.advanceTime(by: .milliseconds(900))
    try arrive(channel, .end(nil))
    channel.read()
    channel.embeddedEventLoop.advanceTime(by: .seconds(5))
    XCTAssertTrue(channel.isActive, "closed while its answer was being made")
  }

  /// An answer written before the body's end (a 413, a 404) leaves the clock running while the
  /// rest of the body is read past: it stopped it, and a client trickling the rest held the
  /// connection.
  func testAnEarlyAnswerLeavesTheClockRunning() throws {
    let channel = try connectedChannel()
    try channel.writeInbound(head(length: 50))
    channel.read()
    try answer(channel, .notFound)
    channel.embeddedEventLoop.advanceTime(by: .milliseconds(1100))
    XCTAssertFalse(channel.isActive, "open after the body timeout")
    XCTAssertEqual(try writtenStatuses(channel), [404], "a second answer after the first")
  }

  /// `100 Continue` goes out at once, or after the answer being written when the request came.
  func testContinueIsSentWhenNoOtherAnswerIsBeingWritten() throws {
    let channel = try connectedChannel()
    try channel.writeInbound(head(expectsContinue: true, length: 20))
    XCTAssertEqual(try writtenStatuses(channel), [100])
    try arrive(channel, .end(nil))
    try channel.writeInbound(head(expectsContinue: true, length: 20))  // pipelined
    XCTAssertEqual(try writtenStatuses(channel), [], "100 Continue inside the earlier answer")
    try answer(channel)
    XCTAssertEqual(try writtenStatuses(channel), [200, 100])
    XCTAssertTrue(channel.isActive)
  }

  /// A body over the limit is refused unsent: no `100 Continue`, and its answer closes the
  /// connection, since what its client sends next may be that body.
  func testATooLargeBodyIsRefusedUnsentAndTheConnectionClosed() throws {
    let channel = try connectedChannel()
    try channel.writeInbound(head(expectsContinue: true, length: 101))
    XCTAssertEqual(try writtenStatuses(channel), [])
    try channel.writeOutbound(HTTPResponsePart.head(HTTPResponse(status: .contentTooLarge)))
    guard case .head(let refusal) = try channel.readOutbound(as: HTTPResponsePart.self) else {
      return XCTFail("no answer's head")
    }
    XCTAssertEqual(refusal.headerFields[.connection], "close")
    try channel.writeOutbound(HTTPResponsePart.end(nil))
    XCTAssertFalse(channel.isActive, "open after the refusal")
  }

  /// The HTTP parser reads what follows a CONNECT, or a request asking for an Upgrade, as
  /// another protocol, so their answers close the connection (the requests after them went
  /// unanswered until the idle timeout); and a request that says `Connection: close` is
  /// answered so.
  func testAConnectsOrAnUpgradesAnswerClosesTheConnection() throws {
    var upgrade = HTTPRequest(method: .get, scheme: nil, authority: nil, path: "/health")
    upgrade.headerFields[.upgrade] = "h2c"
    var close = HTTPRequest(method: .get, scheme: nil, authority: nil, path: "/health")
    close.headerFields[.connection] = "keep-alive, Close"
    for request in [head(.connect), .head(upgrade), .head(close)] {
      let channel = try connectedChannel()
      try channel.writeInbound(request)
      try channel.writeInbound(HTTPRequestPart.end(nil))
      try answer(channel, .notFound)
      guard case .head(let written) = try channel.readOutbound(as: HTTPResponsePart.self) else {
        return XCTFail("no answer to \(request)")
      }
      XCTAssertEqual(written.headerFields[.connection], "close", "\(request)")
      XCTAssertFalse(channel.isActive, "open after the answer to \(request)")
    }
  }

  /// On a graceful shutdown the last answer of a connection says `Connection: close` and closes
  /// it; an answer with another after it says nothing.
  func testTheLastAnswerOfAGracefulShutdownSaysClose() throws {
    let channel = try connectedChannel()
    for _ in 0..<2 {  // pipelined
      try channel.writeInbound(head(.get))
      try channel.writeInbound(HTTPRequestPart.end(nil))
    }
    channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
    var closes: [String?] = []
    for _ in 0..<2 {
      try answer(channel)
      guard case .head(let written) = try channel.readOutbound(as: HTTPResponsePart.self) else {
        return XCTFail("no answer")
      }
      closes.append(written.headerFields[.connection])
      _ = try channel.readOutbound(as: HTTPResponsePart.self)  // its end
    }
    XCTAssertEqual(closes, [nil, "close"])
    XCTAssertFalse(channel.isActive, "open after the last answer")
  }

  /// An answer still being written is the client's time to take it, not a wait for it: the
  /// idle clock starts when its end reaches the socket (it started when the end was queued,
  /// and a client taking a long answer slowly was closed in the middle of it).
  func testTheIdleClockStartsWhenTheAnswerIsWritten() throws {
    let channel = try connectedChannel()
    try channel.writeInbound(head(.get))
    try arrive(channel, .end(nil))
    channel.read()
    channel.write(HTTPResponsePart.head(HTTPResponse(status: .ok)), promise: nil)
    channel.write(HTTPResponsePart.end(nil), promise: nil)  // queued, not flushed
    channel.embeddedEventLoop.advanceTime(by: .seconds(10))
    XCTAssertTrue(channel.isActive, "closed while its answer was being written")
    channel.flush()
    assertCloses(channel, inMilliseconds: 3000, "the idle timeout")
  }
}

/// The same against a server, through its sockets.
final class ClientPacingServerTests: XCTestCase {
  /// A client that trickles a body, each piece within the idle timeout, gets 408 and is closed
  /// once the body timeout has passed: Hummingbird's idle timeout restarts at every piece.
  func testABodyTrickledPastTheBodyTimeoutIs408() async throws {
    var limits = ServerLimits()
    (limits.idleTimeoutSeconds, limits.bodyTimeoutSeconds) = (2, 1)
    let server = try await InProcessServer(limits: limits)
    let body = tagBody([#"{"tokens":["boston","to","denver"]}"#])
    let trickling = try RawConnection(port: server.port)
    trickling.send(
      "POST /v1/tag HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
        + "Content-Length: \(body.utf8.count)\r\n\r\n")
    // A byte every 0.25 s: the body takes 12 s, the idle timeout never passes.
    var bytesBeforeClose: Int?
    for (sent, byte) in body.enumerated() {
      trickling.send(String(byte))
      if trickling.secondsUntilClosed(limit: 0.25) != nil {
        bytesBeforeClose = sent + 1
        break
      }
    }
    let sent = try XCTUnwrap(bytesBeforeClose, "the whole trickled body was read")
    XCTAssertLessThan(sent, body.utf8.count / 2, "closed only after \(sent) bytes")
    XCTAssertTrue(trickling.receivedText.hasPrefix("HTTP/1.1 408"), trickling.receivedText)
    // Not counted, as the README says of 408s: the body's reader saw the close as the end of
    // its input, and counted a 400 and its time.
    try await Task.sleep(for: .milliseconds(200))
    let metrics = try await HTTPClient().get(server.url("/metrics")).text
    XCTAssertFalse(metrics.contains(#"{path="/v1/tag""#), metrics)
    XCTAssertTrue(metrics.contains("\ntrellis_tag_request_seconds_count 0\n"), metrics)
    try await server.stop(within: 20)
  }

  /// A request that says `Connection: close` is answered so, and the connection closed: the
  /// answer lacked the header, and Hummingbird closed only its output and waited for the client
  /// to close the rest, here until the idle timeout (60 s).
  func testConnectionCloseIsAnsweredSoAndClosed() async throws {
    let server = try await InProcessServer(limits: ServerLimits())
    let client = try RawConnection(port: server.port)
    client.send(
      "GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
        + String(repeating: "GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n", count: 20))
    XCTAssertNotNil(client.secondsUntilClosed(limit: 10), "the server's output is still open")
    assertAnsweredAndClosed(client, status: "200")
    try await server.stop(within: 20)
  }

  /// A body over the limit, sent without waiting for `100 Continue`, is answered 413 at once,
  /// and the answer closes the connection after reading past the rest for up to `drainLimit`:
  /// kept open, the connection read a refused body of 10 GB for as long as it came, until the
  /// body timeout (60 s). So do the other answers given before a body over the limit is read
  /// (404, 405, 415), which kept reading it as the 413 did.
  func testAnEarlyRefusalClosesTheConnection() async throws {
    let server = try await InProcessServer(limits: ServerLimits())
    for (target, extra, status) in [
      ("/v1/tag", "", "413"), ("/nowhere", "", "404"), ("/health", "", "405"),
      ("/v1/tag", "Content-Encoding: gzip\r\n", "415"),
    ] {
      let client = try answeredEarly(
        "POST \(target)", headers: extra + "Content-Length: 10000000000\r\n", on: server)
      assertAnsweredAndClosed(client, status: status)
    }
    try await server.stop(within: 20)
  }

  /// A body within the limit, answered before its end (a 404), is read to its end and the
  /// connection kept: closed after `drainLimit`, it broke the pipe of a slow client sending
  /// its body whole before reading, which lost the answer.
  func testAnEarlyAnswerToABodyWithinTheLimitKeepsTheConnection() async throws {
    let server = try await InProcessServer(limits: ServerLimits())
    let client = try answeredEarly(
      "POST /nowhere", headers: "Content-Length: 2000\r\n", on: server)
    XCTAssertTrue(client.receivedText.hasPrefix("HTTP/1.1 404"), client.receivedText)
    XCTAssertFalse(client.receivedText.contains("Connection: close"), client.receivedText)
    try await Task.sleep(nanoseconds: 2_500_000_000)  // past `drainLimit`
    client.send(
      String(repeating: "x", count: 1000) + "GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n")
    client.receives(text: "HTTP/1.1 200")
    XCTAssertTrue(client.receivedText.contains("HTTP/1.1 200"), client.receivedText)
    try await server.stop(within: 20)
  }

  /// Asserts that `client` got an answer of `status` saying `Connection: close`, and that the
  /// connection is closed for reading too within 10 s (a byte sent then draws a reset).
  private func assertAnsweredAndClosed(
    _ client: RawConnection, status: String, line: UInt = #line
  ) {
    XCTAssertTrue(
      client.receivedText.hasPrefix("HTTP/1.1 \(status)"), client.receivedText, line: line)
    XCTAssertTrue(
      client.receivedText.contains("\r\nConnection: close\r\n"), client.receivedText, line: line)
    XCTAssertNotNil(
      client.secondsUntilReset(limit: 10, sending: UInt8(ascii: "x")),
      "still open for reading 10 s after its \(status)", line: line)
  }

  /// A connection that sent `request` with `headers` and the first 1,000 bytes of its body,
  /// once the head of the server's answer has come.
  private func answeredEarly(
    _ request: String, headers: String, on server: InProcessServer
  ) throws -> RawConnection {
    let client = try RawConnection(port: server.port)
    client.send(
      "\(request) HTTP/1.1\r\nHost: localhost\r\n\(headers)\r\n"
        + String(repeating: "x", count: 1000))
    client.receives(text: "\r\n\r\n")
    return client
  }

  /// A client that asks for `100 Continue` gets it before it sends the body (aiohttp waited
  /// for it until the idle timeout closed the connection).
  func testAClientExpectingContinueIsAskedForItsBody() async throws {
    let server = try await InProcessServer(limits: ServerLimits())
    let body = tagBody([#"{"tokens":["boston"]}"#])
    let client = try RawConnection(port: server.port)
    client.send(
      "POST /v1/tag HTTP/1.1\r\nHost: localhost\r\nExpect: 100-continue\r\n"
        + "Content-Length: \(body.utf8.count)\r\n\r\n")
    XCTAssertTrue(client.receives(within: 10), "no 100 Continue")
    XCTAssertTrue(client.receivedText.hasPrefix("HTTP/1.1 100 Continue\r\n"), client.receivedText)
    client.send(body)
    client.receives(text: "\"labels\"")
    XCTAssertTrue(client.receivedText.contains("HTTP/1.1 200 OK"), client.receivedText)
    try await server.stop(within: 20)
  }
}
