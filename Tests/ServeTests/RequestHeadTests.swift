import Foundation
import TrellisServer
import XCTest

/// Request heads that HTTP/1.1 refuses are refused (RFC 9112): each was answered as if it
/// were well formed.
final class RequestHeadTests: XCTestCase {
  private var server: InProcessServer!

  override func setUp() async throws {
    server = try await InProcessServer(limits: ServerLimits())
  }

  override func tearDown() async throws {
    try await server?.stop(within: 20)
  }

  /// The whole exchange of `request` on a connection of its own, which the server closes.
  private func exchange(_ request: String) throws -> String {
    let connection = try RawConnection(port: server.port)
    connection.send(request)
    XCTAssertNotNil(connection.secondsUntilClosed(limit: 10), "still open: \(request)")
    return connection.receivedText
  }

  /// An HTTP/1.1 request without Host, and any with two, get 400 and the connection closed,
  /// as a request the parser refuses does (§3.2); an HTTP/1.0 request may leave Host out, and
  /// its connection closes after the answer (§9.3: it stayed open until the idle timeout).
  func testHostIsRequiredOnceInHTTP11() throws {
    let health = "GET /health HTTP/1.1\r\nConnection: close\r\n"
    for (head, status) in [
      (health + "\r\n", "400"), (health + "Host: a\r\nHost: b\r\n\r\n", "400"),
      (health + "Host: a\r\n\r\n", "200"), ("GET /health HTTP/1.0\r\n\r\n", "200"),
      ("GET /health HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n", "400"),
    ] {
      let answer = try exchange(head)
      XCTAssertTrue(answer.hasPrefix("HTTP/1.1 \(status) "), "\(head.debugDescription): \(answer)")
    }
    let keptAlive = try RawConnection(port: server.port)
    keptAlive.send("GET /health HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
    XCTAssertNil(keptAlive.secondsUntilClosed(limit: 1), "HTTP/1.0 asking to keep it: closed")
    XCTAssertTrue(keptAlive.receivedText.hasPrefix("HTTP/1.1 200 "), keptAlive.receivedText)
    // And its answer says so: an HTTP/1.0 client takes one without it as the last.
    XCTAssertTrue(
      keptAlive.receivedText.lowercased().contains("\r\nconnection: keep-alive\r\n"),
      keptAlive.receivedText)
  }

  /// A Host whose value is no host and port is refused as a missing one is (§3.2); names, IP
  /// literals, ports and an empty value are taken. Each was answered 200.
  func testAHostThatIsNoHostAndPortIs400() throws {
    let health = "GET /health HTTP/1.1\r\nConnection: close\r\nHost: "
    for host in [
      "a b", "[::1", "x/y", "@@@", "x:99999999", "x:8o", "[::1]x", "[]", "é", "x:-1", "x:+80",
    ] {
      let answer = try exchange(health + host + "\r\n\r\n")
      XCTAssertTrue(answer.hasPrefix("HTTP/1.1 400 "), "\(host): \(answer)")
    }
    // A field's value may have whitespace around it (RFC 9112 §5.1).
    for host in [
      "", "localhost", "127.0.0.1:8080", "[::1]:8080", "[::1]", "a-b.example_c:", "x%41",
      "localhost ", "localhost:8080\t", "[fe80::1%25eth0]:8080", "[v1.fe80::a+en1]", "EXAMPLE.",
    ] {
      let answer = try exchange(health + host + "\r\n\r\n")
      XCTAssertTrue(answer.hasPrefix("HTTP/1.1 200 "), "\(host): \(answer)")
    }
  }

  /// A Transfer-Encoding whose last coding is not chunked leaves the body's length unknown
  /// (§6.3): one answer, 400, and the connection closed. The parser refused it only after its
  /// head had gone on, so it got two answers (the handler's 501, or 200 for `/health`, then a
  /// 400), and a pipelining client took the second for its next request's.
  func testATransferEncodingNotEndingInChunkedIsOne400() throws {
    for (request, coding) in [
      ("POST /v1/tag", "gzip"), ("GET /health", "gzip"), ("POST /v1/tag", "chunked;q=1"),
      ("POST /v1/tag", "chunked, gzip"),
    ] {
      let answer = try exchange(
        "\(request) HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: \(coding)\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
      )
      XCTAssertTrue(answer.hasPrefix("HTTP/1.1 400 "), "\(coding): \(answer)")
      XCTAssertEqual(answer.components(separatedBy: "HTTP/1.1 ").count - 1, 1, answer)
    }
  }

  /// An HTTP/1.0 request holding Transfer-Encoding closes its connection after its answer,
  /// even when it asks to keep it (§6.1: its framing is taken as faulty); it was kept open.
  func testHTTP10WithATransferEncodingClosesItsConnection() throws {
    let body = tagBody([#"{"tokens":["boston"]}"#])
    let chunked = String(body.utf8.count, radix: 16) + "\r\n" + body + "\r\n0\r\n\r\n"
    let answer = try exchange(
      "POST /v1/tag HTTP/1.0\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n"
        + chunked)
    XCTAssertTrue(answer.hasPrefix("HTTP/1.1 200 "), answer)
    XCTAssertFalse(answer.lowercased().contains("connection: keep-alive"), answer)
  }

  /// An HTTP/1.0 request's `Expect: 100-continue` is ignored (RFC 9110 §10.1.1): it got
  /// `100 Continue`, which HTTP/1.0 does not have, before its answer.
  func testHTTP10IgnoresExpectContinue() throws {
    let body = tagBody([#"{"tokens":["boston"]}"#])
    let answer = try exchange(
      "POST /v1/tag HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: \(body.utf8.count)"
        + "\r\n\r\n" + body)
    XCTAssertTrue(answer.hasPrefix("HTTP/1.1 200 "), answer)
    XCTAssertFalse(answer.contains(" 100 Continue"), answer)
  }

  /// A body in a transfer coding beside chunked is refused 501 (§6.1): the parser undoes only
  /// chunked, and the coded bytes were read as text ("the body is not UTF-8").
  func testATransferCodingOtherThanChunkedIs501() throws {
    let body = tagBody([#"{"tokens":["boston"]}"#])
    let chunked = String(body.utf8.count, radix: 16) + "\r\n" + body + "\r\n0\r\n\r\n"
    for coding in ["gzip, chunked", "bogus, chunked"] {
      let answer = try exchange(
        "POST /v1/tag HTTP/1.1\r\nHost: a\r\nConnection: close\r\nTransfer-Encoding: \(coding)"
          + "\r\n\r\n" + chunked)
      XCTAssertTrue(answer.hasPrefix("HTTP/1.1 501 "), answer)
      let first = coding.split(separator: ",")[0]
      XCTAssertTrue(answer.contains("the body is in Transfer-Encoding \\\"\(first)\\\""), answer)
    }
    let plain = try exchange(
      "POST /v1/tag HTTP/1.1\r\nHost: a\r\nConnection: close\r\nTransfer-Encoding: chunked"
        + "\r\n\r\n" + chunked)
    XCTAssertTrue(plain.hasPrefix("HTTP/1.1 200 "), plain)
  }
}
