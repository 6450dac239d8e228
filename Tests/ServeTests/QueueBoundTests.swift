import Foundation
import Trellis
import XCTest

@testable import TrellisServer

/// The bound on the work waiting to be tagged (`ServerLimits.maxQueuedTokens`): while the queue
/// holds that much, a request is answered 503 with `Retry-After` at once, instead of waiting
/// behind work that may belong to clients long gone; below it, a request of any size is taken.
final class QueueBoundTests: XCTestCase {
  private let client = HTTPClient()

  /// Runs `body` against a server of one worker whose batches wait up to a second for a request
  /// that stays half-read throughout: requests sent within that second stay queued, so the
  /// test need not race a worker.
  private func withHeldQueue(
    bound: Int, _ body: (InProcessServer) async throws -> Void
  ) async throws {
    var limits = ServerLimits()
    limits.workers = 1
    limits.maxQueuedTokens = bound
    limits.batchWaitMicroseconds = 1_000_000
    let server = try await InProcessServer(limits: limits)
    var reading: RawConnection? = try RawConnection(port: server.port)
    reading?.send("POST /v1/tag HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100\r\n\r\n{")
    try await Task.sleep(for: .milliseconds(200))
    try await body(server)
    reading = nil
    try await server.stop()
  }

  private func assertBusy(
    _ answer: HTTPAnswer, holding work: Int, file: StaticString = #filePath, line: UInt = #line
  ) throws {
    XCTAssertEqual(answer.status, 503, answer.text, file: file, line: line)
    XCTAssertEqual(answer.headers["retry-after"], "1", file: file, line: line)
    let message = try XCTUnwrap(answer.errorMessage, answer.text, file: file, line: line)
    XCTAssertTrue(message.contains("hold \(work) tokens of work"), message, file: file, line: line)
    XCTAssertTrue(message.contains("--max-queued-tokens"), message, file: file, line: line)
  }

  /// Below the bound of 3, a request of 2 tokens and then one of 5 (more than the bound) are
  /// taken; with 7 waiting, the next is refused. Taking only requests that fit whole, a large
  /// request never got in while small ones kept the queue near the bound.
  func testRequestsAreTakenBelowTheBoundAndRefusedAtIt() async throws {
    try await withHeldQueue(bound: 3) { server in
      let url = server.url("/v1/tag")
      async let first = client.post(url, tagBody([#"{"tokens": ["a", "b"]}"#]))
      try await Task.sleep(for: .milliseconds(100))
      async let large = client.post(url, tagBody([#"{"tokens": ["a", "b", "c", "d", "e"]}"#]))
      try await Task.sleep(for: .milliseconds(100))
      try assertBusy(try await client.post(url, tagBody([#"{"tokens": ["a"]}"#])), holding: 7)
      let (firstAnswer, largeAnswer) = try await (first, large)
      XCTAssertEqual(firstAnswer.status, 200, firstAnswer.text)
      XCTAssertEqual(largeAnswer.status, 200, largeAnswer.text)
    }
  }

  /// A request's work counts each token once, twice with confidences, and nbest more times
  /// with n-best lists: 2 tokens with `"nbest": 2` fill a bound of 8.
  func testNBestListsAndConfidencesCountAsMoreWork() async throws {
    var options = TaggingOptions()
    (options.confidence, options.nbest) = (true, 3)
    XCTAssertEqual(TaggingQueue.work(sentenceLengths: [2], options: options, labels: 3), 10)
    // A list cut for a long sentence counts as cut: ⌊2²⁵ / (50,000 · 120)⌋ = 5 sequences.
    options.nbest = 1000
    XCTAssertEqual(
      TaggingQueue.work(sentenceLengths: [50_000, 1], options: options, labels: 120),
      50_000 * (2 + 5) + 1 * (2 + 1000))
    try await withHeldQueue(bound: 8) { server in
      let url = server.url("/v1/tag")
      async let nbest = client.post(
        url, tagBody([#"{"tokens": ["a", "b"]}"#], extra: #","nbest": 2"#))
      try await Task.sleep(for: .milliseconds(100))
      async let confident = client.post(
        url, tagBody([#"{"tokens": ["a"]}"#], extra: #","confidence": true"#))
      try await Task.sleep(for: .milliseconds(100))
      try assertBusy(try await client.post(url, tagBody([#"{"tokens": ["a"]}"#])), holding: 8)
      let (nbestAnswer, confidentAnswer) = try await (nbest, confident)
      XCTAssertEqual(nbestAnswer.status, 200, nbestAnswer.text)
      XCTAssertEqual(confidentAnswer.status, 200, confidentAnswer.text)
    }
  }

  /// A request waiting to be tagged when its client resets the connection is taken back and
  /// counted 499: tagged all the same, it held the bound (the next request got 503) and would
  /// have held the worker. A client that sent its end (a FIN) may still wait for its answer
  /// (a half-close), so its request stays.
  func testARequestWhoseClientResetsItsConnectionIsTakenBack() async throws {
    try await withHeldQueue(bound: 3) { server in
      let body = tagBody([#"{"tokens": ["a", "b", "c", "d", "e"]}"#])
      var gone: RawConnection? = try RawConnection(port: server.port)
      gone?.send(
        "POST /v1/tag HTTP/1.1\r\nHost: localhost\r\nContent-Length: \(body.utf8.count)\r\n\r\n"
          + body)
      try await Task.sleep(for: .milliseconds(100))
      gone?.resetsWhenClosed()
      gone = nil
      try await Task.sleep(for: .milliseconds(100))
      let answer = try await client.post(server.url("/v1/tag"), tagBody([#"{"tokens": ["a"]}"#]))
      XCTAssertEqual(answer.status, 200, answer.text)
      let metrics = try await client.get(server.url("/metrics")).text
      XCTAssertTrue(
        metrics.contains(#"trellis_requests_total{path="/v1/tag",status="499"} 1"#), metrics)
      XCTAssertTrue(metrics.contains("\ntrellis_tokens_tagged_total 1\n"), metrics)
    }
  }

  func testTheBoundIsRangeChecked() throws {
    var limits = ServerLimits()
    limits.maxQueuedTokens = 0
    XCTAssertThrowsError(try limits.validate()) { error in
      XCTAssertTrue("\(error)".contains("max-queued-tokens"), "\(error)")
    }
  }
}
