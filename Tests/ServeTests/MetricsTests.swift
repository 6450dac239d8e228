import Foundation
import TrellisServer
import XCTest

/// `GET /metrics`: what it counts after known traffic, in Prometheus's text format.
final class MetricsTests: XCTestCase {
  /// Each sample line `name{labels} value` of an exposition, by `name{labels}`.
  private func samples(_ text: String) -> [String: Double] {
    var samples: [String: Double] = [:]
    for line in text.split(separator: "\n") where !line.hasPrefix("#") {
      guard let space = line.lastIndex(of: " "),
        let value = Double(line[line.index(after: space)...])
      else { continue }
      samples[String(line[..<space])] = value
    }
    return samples
  }

  func testMetricsCountAnswersTokensAndLatency() async throws {
    let server = try await InProcessServer()
    let client = HTTPClient()
    let requests = [#"{"tokens": ["list", "flights", "tomorrow"]}"#, #"{"text": "to boston"}"#]
    let tagged = try await client.post(server.url("/v1/tag"), tagBody(requests))
    XCTAssertEqual(tagged.status, 200, tagged.text)
    let malformed = try await client.post(server.url("/v1/tag"), "{")
    XCTAssertEqual(malformed.status, 400, malformed.text)
    let unknown = try await client.get(server.url("/no/such/path"))
    XCTAssertEqual(unknown.status, 404, unknown.text)
    _ = try await client.get(server.url("/health"))
    // A body the parser refuses (a malformed chunk size) is answered 400 and its connection
    // closed, as a malformed head is, and counted so (it was answered 500, and not counted).
    let badChunk = try RawConnection(port: server.port)
    badChunk.send(
      "POST /v1/tag HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nab\r\n0\r\n\r\n")
    XCTAssertNotNil(badChunk.secondsUntilClosed(limit: 10), "left open")
    XCTAssertTrue(badChunk.receivedText.hasPrefix("HTTP/1.1 400 "), badChunk.receivedText)
    // A body whose input ends before its Content-Length is answered 400 and its connection
    // closed, and counted so: a client that half-closes reads the answer (it was answered
    // 500, and not counted), one that hangs up is counted as the answer it left.
    let halfClosing = try RawConnection(port: server.port)
    halfClosing.send("POST /v1/tag HTTP/1.1\r\nHost: a\r\nContent-Length: 32\r\n\r\n{\"sen")
    halfClosing.finishSending()
    XCTAssertNotNil(halfClosing.secondsUntilClosed(limit: 10), "left open")
    XCTAssertTrue(halfClosing.receivedText.hasPrefix("HTTP/1.1 400 "), halfClosing.receivedText)
    XCTAssertTrue(halfClosing.receivedText.contains("ended"), halfClosing.receivedText)
    var leaving: RawConnection? = try RawConnection(port: server.port)
    leaving?.send("POST /v1/tag HTTP/1.1\r\nHost: localhost\r\nContent-Length: 32\r\n\r\n{\"sen")
    try await Task.sleep(for: .milliseconds(100))
    leaving = nil
    try await Task.sleep(for: .milliseconds(200))

    let answer = try await client.get(server.url("/metrics"))
    XCTAssertEqual(answer.status, 200, answer.text)
    let contentType = answer.headers["content-type"] ?? ""
    XCTAssertTrue(contentType.hasPrefix("text/plain; version=0.0.4"), contentType)
    let values = samples(answer.text)
    XCTAssertEqual(values[#"trellis_requests_total{path="/v1/tag",status="200"}"#], 1)
    XCTAssertEqual(values[#"trellis_requests_total{path="/v1/tag",status="400"}"#], 4)
    XCTAssertEqual(values[#"trellis_requests_total{path="other",status="404"}"#], 1)
    XCTAssertEqual(values[#"trellis_requests_total{path="/health",status="200"}"#], 1)
    XCTAssertEqual(values.keys.filter { $0.hasPrefix("trellis_requests_total") }.count, 4)
    XCTAssertEqual(values["trellis_sentences_tagged_total"], 2)
    XCTAssertEqual(values["trellis_tokens_tagged_total"], 5)
    XCTAssertEqual(values["trellis_queued_tokens"], 0)
    // The five /v1/tag requests answered are in the histogram; its buckets are cumulative.
    XCTAssertEqual(values["trellis_tag_request_seconds_count"], 5)
    XCTAssertEqual(values[#"trellis_tag_request_seconds_bucket{le="+Inf"}"#], 5)
    var previous = 0.0
    for bound in [0.001, 0.01, 0.1, 1, 10] {
      let count = try XCTUnwrap(values["trellis_tag_request_seconds_bucket{le=\"\(bound)\"}"])
      XCTAssertGreaterThanOrEqual(count, previous)
      previous = count
    }
    XCTAssertGreaterThan(try XCTUnwrap(values["trellis_tag_request_seconds_sum"]), 0)

    // The first GET /metrics is counted once it was answered.
    let again = samples(try await client.get(server.url("/metrics")).text)
    XCTAssertEqual(again[#"trellis_requests_total{path="/metrics",status="200"}"#], 1)
    try await server.stop()
  }
}
