import Foundation
import TrellisServer
import XCTest

/// The bound on the tokens waiting to be tagged (`ServerLimits.maxQueuedTokens`): a request
/// that would pass it is answered 503 with `Retry-After` at once, instead of waiting behind
/// work that may belong to clients long gone.
final class QueueBoundTests: XCTestCase {
  func testARequestThatWouldOverfillTheQueueIsRefusedWithRetryAfter() async throws {
    var limits = ServerLimits()
    limits.workers = 1
    limits.maxQueuedTokens = 3
    // A batch waits up to a second for requests still being read: while one is, requests
    // stay queued, so the test need not race a worker.
    limits.batchWaitMicroseconds = 1_000_000
    let server = try await InProcessServer(limits: limits)
    let client = HTTPClient()
    var reading: RawConnection? = try RawConnection(port: server.port)
    reading?.send("POST /v1/tag HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100\r\n\r\n{")
    try await Task.sleep(for: .milliseconds(200))

    let twoTokens = tagBody([#"{"tokens": ["a", "b"]}"#])
    async let queued = client.post(server.url("/v1/tag"), twoTokens)
    try await Task.sleep(for: .milliseconds(200))
    let refused = try await client.post(server.url("/v1/tag"), twoTokens)
    XCTAssertEqual(refused.status, 503, refused.text)
    XCTAssertEqual(refused.headers["retry-after"], "1")
    let message = try XCTUnwrap(refused.errorMessage, refused.text)
    XCTAssertTrue(message.contains("2 tokens wait to be tagged"), message)
    XCTAssertTrue(message.contains("--max-queued-tokens"), message)
    let answered = try await queued
    XCTAssertEqual(answered.status, 200, answered.text)

    // Nothing waits now: a request larger than the bound is taken all the same.
    let fiveTokens = tagBody([#"{"tokens": ["a", "b", "c", "d", "e"]}"#])
    let large = try await client.post(server.url("/v1/tag"), fiveTokens)
    XCTAssertEqual(large.status, 200, large.text)
    reading = nil
    try await server.stop()
  }

  func testTheBoundIsRangeChecked() throws {
    var limits = ServerLimits()
    limits.maxQueuedTokens = 0
    XCTAssertThrowsError(try limits.validate()) { error in
      XCTAssertTrue("\(error)".contains("max-queued-tokens"), "\(error)")
    }
  }
}
