import Foundation
import Trellis
import XCTest

@testable import TrellisServer

/// Every endpoint against a server in this process, and its answers against the CLI's.
final class EndpointTests: XCTestCase {
  private var server: InProcessServer!
  private let client = HTTPClient()

  override func setUp() async throws {
    server = try await InProcessServer()
  }

  override func tearDown() async throws {
    try await server?.stop()
  }

  /// Requests of every kind: ids of several JSON types (a big integer that a Double would
  /// change), passthrough fields, text with non-ASCII letters and punctuation, an empty one.
  static let requests = [
    #"{"id": 1, "tokens": ["show", "me", "flights", "from", "boston", "to", "denver"]}"#,
    #"{"id": "q2", "text": "What's the fare from Boston to Denver, please?", "user": {"n": 7}}"#,
    #"{"id": 12345678901234567890, "text": "Vols de Zürich à Montréal 🛫 demain"}"#,
    #"{"tokens": ["list", "flights", "on", "tuesday"], "trace": [1, 2.50, null]}"#,
    #"{"id": {"doc": 3, "sentence": 0}, "text": ""}"#,
    #"{"id": null, "tokens": []}"#,
  ]

  func testHealthSaysOK() async throws {
    let answer = try await client.get(server.url("/health"))
    XCTAssertEqual(answer.status, 200)
    XCTAssertEqual(try canonicalJSON(answer.json()), #"{"status":"ok"}"#)
  }

  /// `GET /v1/model` is `trellis info --json` (one `ModelDescription` for both).
  func testModelIsWhatInfoShows() async throws {
    let answer = try await client.get(server.url("/v1/model"))
    XCTAssertEqual(answer.status, 200)
    let info = try runProgram(try ServePaths.trellis(), ["info", "--json", try TestModel.path()])
    XCTAssertEqual(info.status, 0, info.stderr)
    let expected = try XCTUnwrap(
      try JSONSerialization.jsonObject(with: Data(info.stdout.utf8)) as? [String: Any])
    XCTAssertEqual(try canonicalJSON(answer.json()), try canonicalJSON(expected))
    let served = try XCTUnwrap(try answer.json() as? [String: Any])
    let model = try TestModel.model()
    XCTAssertEqual(served["labels"] as? [String], model.labels.strings)
    XCTAssertEqual(served["outputLabels"] as? [String], model.outputLabels)
    XCTAssertEqual(served["spanLabels"] as? [String], model.spanLabels)
    XCTAssertEqual(served["definesProbabilities"] as? Bool, model.definesProbabilities)
    XCTAssertEqual(served["parameters"] as? Int, model.store.count)
    XCTAssertEqual(served["formatVersion"] as? Int, Int(model.formatVersion))
    XCTAssertNotNil(served["provenance"] as? [String: Any], "trellis train records provenance")
  }

  func testTagAnswersAsTheCLIDoes() async throws {
    let answer = try await client.post(server.url("/v1/tag"), tagBody(Self.requests))
    XCTAssertEqual(answer.status, 200, answer.text)
    XCTAssertEqual(try canonicalResults(answer), try cliAnswers(Self.requests))
  }

  /// One request's sentences are tagged together as the CLI tags a file's, so even the
  /// confidences and n-best scores agree to the last digit.
  /// A body of `bodyBytesReadAside` bytes or more is read on a thread of Dispatch's: it is
  /// answered as the CLI answers its requests, and its mistakes refused as a small body's.
  func testALargeBodyIsAnsweredAsTheCLIDoes() async throws {
    var requests: [String] = []
    while tagBody(requests).utf8.count < TaggingServer.bodyBytesReadAside {
      requests += Self.requests
    }
    let answer = try await client.post(server.url("/v1/tag"), tagBody(requests))
    XCTAssertEqual(answer.status, 200, answer.text)
    XCTAssertEqual(try canonicalResults(answer), try cliAnswers(requests))
    let refused = try await client.post(
      server.url("/v1/tag"), tagBody(requests + [#"{"tokens": [1]}"#]))
    XCTAssertEqual(refused.status, 400, refused.text)
    XCTAssertTrue(
      refused.errorMessage?.hasPrefix("sentences[\(requests.count)]") == true, refused.text)
  }

  func testConfidenceAndNBestAnswerAsTheCLIDoes() async throws {
    let body = tagBody(Self.requests, extra: #", "confidence": true, "nbest": 3"#)
    let answer = try await client.post(server.url("/v1/tag"), body)
    XCTAssertEqual(answer.status, 200, answer.text)
    let results = try canonicalResults(answer)
    XCTAssertEqual(
      results, try cliAnswers(Self.requests, options: ["--confidence", "--nbest", "3"]))
    let first = try XCTUnwrap(
      try JSONSerialization.jsonObject(with: Data(results[0].utf8)) as? [String: Any])
    XCTAssertEqual((first["nbest"] as? [Any])?.count, 3)
    XCTAssertEqual((first["confidences"] as? [Double])?.count, 7)
  }

  /// Ids and passthrough values come back as written, not as a Double would print them.
  func testIdsAndPassthroughComeBackByteForByte() async throws {
    let answer = try await client.post(server.url("/v1/tag"), tagBody(Self.requests))
    XCTAssertTrue(answer.text.contains(#"{"id":12345678901234567890,"#), answer.text)
    XCTAssertTrue(answer.text.contains(#""trace":[1, 2.50, null]"#), answer.text)
    XCTAssertTrue(answer.text.contains(#"{"id":"q2","user":{"n": 7},"text":"#), answer.text)
  }

  func testEmptySentenceListAnswersEmptyResults() async throws {
    let answer = try await client.post(server.url("/v1/tag"), #"{"sentences": []}"#)
    XCTAssertEqual(answer.status, 200)
    XCTAssertEqual(answer.text, "{\"results\":[]}\n")
  }

  /// Concurrent requests share batches, yet each gets its own answers in its own order.
  func testConcurrentRequestsEachGetTheirOwnAnswers() async throws {
    let sentences = try tokenRequests(from: "Corpora/tiny/test.conll").map(\.line)
    let expected = try cliAnswers(sentences)
    let client = HTTPClient(connections: 16)
    let server = server!
    try await withThrowingTaskGroup(of: (Int, [String]).self) { group in
      for start in 0..<64 {
        let mine = (0..<1 + start % 4).map { (start + $0 * 7) % sentences.count }
        group.addTask {
          let answer = try await client.post(
            server.url("/v1/tag"), tagBody(mine.map { sentences[$0] }))
          XCTAssertEqual(answer.status, 200, answer.text)
          return (start, try canonicalResults(answer))
        }
      }
      for try await (start, results) in group {
        let mine = (0..<1 + start % 4).map { (start + $0 * 7) % sentences.count }
        XCTAssertEqual(results, mine.map { expected[$0] }, "request \(start)")
      }
    }
  }

  /// A sentence with options of its own is not batched with the others' (a batch has one set
  /// of options), and each still gets what it asked for.
  func testRequestsWithDifferentOptionsAreAnsweredWithTheirOwn() async throws {
    let line = Self.requests[0]
    async let plain = client.post(server.url("/v1/tag"), tagBody([line]))
    async let scored = client.post(server.url("/v1/tag"), tagBody([line], extra: #","nbest":2"#))
    let (plainAnswer, scoredAnswer) = try await (plain, scored)
    XCTAssertEqual(try canonicalResults(plainAnswer), try cliAnswers([line]))
    XCTAssertEqual(
      try canonicalResults(scoredAnswer), try cliAnswers([line], options: ["--nbest", "2"]))
  }

  /// The accessors the body reader relies on keep each value as written.
  func testRawJSONSplitsArraysAndObjectsAsWritten() throws {
    let array = try RawJSON(#" [ {"a": 1.50}, "x\u0041", [ ] , 7 ] "#)
    XCTAssertEqual(array.arrayElements?.map(\.text), [#"{"a": 1.50}"#, #""x\u0041""#, "[ ]", "7"])
    XCTAssertNil(array.objectMembers)
    let object = try RawJSON(#"{"s\u0065ntences" : [1], "n": {"k": true}}"#)
    XCTAssertEqual(object.objectMembers?.map(\.name), ["sentences", "n"])
    XCTAssertEqual(object.objectMembers?.map(\.value.text), ["[1]", #"{"k": true}"#])
    XCTAssertNil(object.arrayElements)
    XCTAssertEqual(try RawJSON("[]").arrayElements?.count, 0)
    XCTAssertEqual(try RawJSON("{}").objectMembers?.count, 0)
    XCTAssertNil(try RawJSON("3").arrayElements)
  }
}
