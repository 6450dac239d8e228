import Foundation
import TrellisServer
import XCTest

@testable import Trellis

/// Every limit and every malformed body: the promised status, `{"error": "…"}` naming the
/// problem, and a server that goes on answering.
final class LimitTests: XCTestCase {
  private var server: InProcessServer!
  private let client = HTTPClient()

  /// Small limits, so that a test reaches each with a small request.
  static let limits: ServerLimits = {
    var limits = ServerLimits()
    limits.maxBodyBytes = 4096
    limits.maxSentences = 5
    limits.maxTokens = 20
    limits.maxNbestLabels = 30
    return limits
  }()

  override func setUp() async throws {
    server = try await InProcessServer(limits: Self.limits)
  }

  override func tearDown() async throws {
    if let server {
      let health = try await client.get(server.url("/health"))
      XCTAssertEqual(health.status, 200, "the server stopped answering")
      try await server.stop()
    }
  }

  /// Posts `body` and asserts the status and that the error message holds `message`.
  private func assertRefused(
    _ body: Data, status: Int = 400, mentioning message: String, chunked: Bool = false,
    file: StaticString = #filePath, line: UInt = #line
  ) async throws {
    let answer = try await client.send("POST", server.url("/v1/tag"), body: body, chunked: chunked)
    XCTAssertEqual(answer.status, status, answer.text, file: file, line: line)
    let error = try XCTUnwrap(answer.errorMessage, answer.text, file: file, line: line)
    XCTAssertTrue(
      error.contains(message), "\"\(error)\" lacks \"\(message)\"", file: file, line: line)
  }

  private func assertRefused(
    _ body: String, status: Int = 400, mentioning message: String,
    file: StaticString = #filePath, line: UInt = #line
  ) async throws {
    try await assertRefused(
      Data(body.utf8), status: status, mentioning: message, file: file, line: line)
  }

  /// A request that says `Connection: close` and is refused before its body is read: the
  /// connection reads the rest of the body before it closes, so a client that sends all of it
  /// before reading gets its 413. Closed with the body unread, the socket reset the client's
  /// sends (urllib raised `ConnectionResetError`, the status lost).
  func testARefusalThatClosesTheConnectionLetsTheClientSendItsBody() throws {
    let client = try RawConnection(port: server.port)
    let length = 1 << 24
    client.send(
      "POST /v1/tag HTTP/1.1\r\nHost: localhost\r\nContent-Length: \(length)\r\n"
        + "Connection: close\r\n\r\n")
    XCTAssertTrue(client.sendsBody(of: length), "the sends were reset")
    XCTAssertNotNil(client.secondsUntilClosed(limit: 10))
    XCTAssertTrue(
      client.receivedText.hasPrefix("HTTP/1.1 413 "), String(client.receivedText.prefix(200)))
  }

  func testBodyOverTheLimitIs413() async throws {
    let sentence = #"{"tokens": ["a"]}"#
    let padding = 4096 - tagBody([sentence]).utf8.count
    // Spaces after the last member: a body of exactly the limit is read, one more byte is not.
    let fits = tagBody([sentence], extra: String(repeating: " ", count: padding))
    XCTAssertEqual(fits.utf8.count, 4096)
    let answer = try await client.post(server.url("/v1/tag"), fits)
    XCTAssertEqual(answer.status, 200, answer.text)
    let over = Data(tagBody([sentence], extra: String(repeating: " ", count: padding + 1)).utf8)
    try await assertRefused(over, status: 413, mentioning: "larger than 4096 bytes")
    // Without a Content-Length (chunked), found while reading.
    try await assertRefused(over, status: 413, mentioning: "larger than 4096 bytes", chunked: true)
    let huge = Data(repeating: UInt8(ascii: " "), count: 1 << 20)
    try await assertRefused(huge, status: 413, mentioning: "larger than 4096 bytes", chunked: true)
  }

  func testTooManySentencesOrTokensIs400() async throws {
    let six = Array(repeating: #"{"tokens": ["a"]}"#, count: 6)
    try await assertRefused(tagBody(six), mentioning: "6 sentences; a request may hold at most 5")
    let five = try await client.post(server.url("/v1/tag"), tagBody(Array(six.prefix(5))))
    XCTAssertEqual(five.status, 200, five.text)
    // Text counts its tokens after the tokenizer: 21 here ("a," is two).
    let text = #"{"text": "\#(String(repeating: "a ", count: 19))a,"}"#
    try await assertRefused(
      tagBody([text]), mentioning: "more than 20 tokens (the limit per request) by sentences[0]")
    let tokens =
      #"{"tokens": ["# + Array(repeating: #""a""#, count: 11).joined(separator: ",") + "]}"
    try await assertRefused(tagBody([tokens, tokens]), mentioning: "by sentences[1]")
    // Named with its id, as every other refusal of a sentence is.
    let withID = #"{"id": "q7", "# + tokens.dropFirst()
    try await assertRefused(
      tagBody([tokens, withID]),
      mentioning: #"more than 20 tokens (the limit per request) by sentences[1] (id "q7")"#)
    // Exactly the limit is answered: 11 + 9 tokens.
    let nine =
      #"{"tokens": ["# + Array(repeating: #""a""#, count: 9).joined(separator: ",") + "]}"
    let twenty = try await client.post(server.url("/v1/tag"), tagBody([tokens, nine]))
    XCTAssertEqual(twenty.status, 200, twenty.text)
  }

  /// A sentence past the model's tokens a sentence (`TaggerModel.sentenceTokenLimit`, fewer
  /// for a model of many labels) is 400, naming it: one of 50,000 tokens, within every
  /// request limit, took a server with a 4,095-label model to a fatal allocation failure.
  func testASentencePastTheModelsTokenLimitIs400() async throws {
    let model = try untrainedModel(labelCount: 1024)
    let file = FileManager.default.temporaryDirectory
      .appendingPathComponent("trellis-many-labels-\(UUID().uuidString).model").path
    try ModelFile.write(model, to: file)
    defer { try? FileManager.default.removeItem(atPath: file) }
    let many = try await InProcessServer(model: (model, file))
    let long = Array(repeating: #""a""#, count: 16_385).joined(separator: ",")
    let refused = try await client.post(
      many.url("/v1/tag"), tagBody([#"{"id": "x", "tokens": [\#(long)]}"#]))
    XCTAssertEqual(refused.status, 400, refused.text)
    XCTAssertEqual(
      refused.errorMessage,
      #"sentences[0] (id "x"): 16385 tokens, more than the 16384 a sentence may hold for this "#
        + "model's 1024 labels (tokens × labels at most 16777216)")
    let short = try await client.post(many.url("/v1/tag"), tagBody([#"{"tokens": ["a"]}"#]))
    XCTAssertEqual(short.status, 200, short.text)
    try await many.stop()
  }

  /// N-best lists repeat a sentence's labels once per sequence: `nbest` times the request's
  /// tokens is capped, at exactly the limit answered (3 × 10), one token more refused.
  func testNBestLabelsOverTheLimitAre400() async throws {
    func body(tokens: Int, nbest: Int) -> String {
      let sentence =
        #"{"tokens": ["# + Array(repeating: #""a""#, count: tokens).joined(separator: ",") + "]}"
      return tagBody([sentence], extra: #", "nbest": \#(nbest)"#)
    }
    let fits = try await client.post(server.url("/v1/tag"), body(tokens: 10, nbest: 3))
    XCTAssertEqual(fits.status, 200, fits.text)
    try await assertRefused(
      body(tokens: 11, nbest: 3),
      mentioning:
        #""nbest" 3 over 11 tokens asks for up to 33 labels; a request may ask for at most 30"#)
    let plain = try await client.post(server.url("/v1/tag"), body(tokens: 20, nbest: 0))
    XCTAssertEqual(plain.status, 200, "without n-best lists only --max-tokens applies")
  }

  func testMalformedBodiesAre400NamingTheProblem() async throws {
    let cases: [(body: String, message: String)] = [
      ("", "the body is empty"),
      ("  \n", "the body is empty"),
      ("{", "body: invalid JSON at column 2"),
      (#"{"sentences": [}"#, "body: invalid JSON at column 16"),
      // A pretty-printed body's errors name the line (a column from the body's start did not).
      ("{\n  \"sentences\": [\n    {\"tokens\": [\"a\",]}\n  ]\n}", "at line 3, column 21"),
      ("{\r\n\"sentences\": [}", "body: invalid JSON at line 2, column 15"),
      (#"{"sentences": []} x"#, "unexpected text after the value"),
      ("[1, 2]", "the body must be a JSON object"),
      (#""sentences""#, "the body must be a JSON object"),
      ("{}", #"the body lacks "sentences""#),
      (#"{"sentences": {"id": 1}}"#, #""sentences" must be an array of requests"#),
      (#"{"sentences": [], "sentences": []}"#, #"duplicate field "sentences""#),
      (#"{"sentences": [], "nbests": 2}"#, #"unknown field "nbests""#),
      (#"{"sentences": [], "confidence": "yes"}"#, #""confidence" must be true or false"#),
      (#"{"sentences": [], "nbest": 1001}"#, #""nbest" must be in 0...1000 (got 1001)"#),
      (#"{"sentences": [], "nbest": -1}"#, #""nbest" must be in 0...1000 (got -1)"#),
      (#"{"sentences": [], "nbest": 1.5}"#, #""nbest" must be a whole number"#),
      (#"{"sentences": [], "nbest": 99999999999999999999}"#, #""nbest" must be a whole number"#),
      // A sentence of valid JSON but not an object is named as such, not as invalid JSON.
      (
        #"{"sentences": ["to boston"]}"#,
        #"sentences[0]: expected a JSON object ({"tokens": [...]} or {"text": "..."}), not a string"#
      ),
      (#"{"sentences": [3]}"#, "sentences[0]: expected a JSON object ({"),
      (#"{"sentences": [{"id": 7}]}"#, #"sentences[0] (id 7): give "tokens""#),
      (#"{"sentences": [{"tokens": []}, {"id": "x", "tokens": [1]}]}"#, "sentences[1] (id \"x\")"),
      (#"{"sentences": [{"tokens": [], "text": ""}]}"#, #"give "tokens" or "text", not both"#),
      (#"{"sentences": [{"tokens": [], "labels": []}]}"#, "is one the answer writes"),
      (
        #"{"sentences": [{"tokens": ["a"], "confidence": true}]}"#,
        #"sentences[0]: field "confidence" is an option of the whole call"#
      ),
      (String(repeating: "[", count: 2000), "nested deeper than 512 levels"),
    ]
    for (body, message) in cases {
      try await assertRefused(body, mentioning: message)
    }
  }

  func testBodyThatIsNotUTF8Is400() async throws {
    var body = Data(#"{"sentences": [{"text": "caf"#.utf8)
    body += [0xC3, 0x28]
    body += Data(#""}]}"#.utf8)
    try await assertRefused(body, mentioning: "the body is not UTF-8")
  }

  /// A byte-order mark before the body is skipped, as `trellis tag` and the C ABI skip one
  /// before the first JSON line (it was refused: "invalid JSON at column 1").
  func testAByteOrderMarkBeforeTheBodyIsSkipped() async throws {
    let body = tagBody([EndpointTests.requests[1]])
    let plain = try await client.post(server.url("/v1/tag"), body)
    let marked = try await client.post(server.url("/v1/tag"), "\u{FEFF}" + body)
    XCTAssertEqual(marked.status, 200, marked.text)
    XCTAssertEqual(marked.text, plain.text)
    try await assertRefused("\u{FEFF}", mentioning: "the body is empty")
  }

  /// A body in a content coding is refused as such (gzip bytes were read as text, "not
  /// UTF-8"; a plain body labelled br was tagged).
  func testABodyInAContentCodingIs415() async throws {
    let body = Data(tagBody([EndpointTests.requests[1]]).utf8)
    for coding in ["gzip", "br"] {
      let answer = try await client.send(
        "POST", server.url("/v1/tag"), body: body, headers: ["Content-Encoding": coding])
      XCTAssertEqual(answer.status, 415, answer.text)
      XCTAssertEqual(answer.headers["accept-encoding"], "identity")
      XCTAssertEqual(
        answer.errorMessage, "the body is in Content-Encoding \"\(coding)\"; send it uncompressed")
    }
    // No coding applied, however said (an empty field and a list were refused 415).
    for none in ["identity", "", "identity, identity", " Identity ", "identity, ,identity"] {
      let identity = try await client.send(
        "POST", server.url("/v1/tag"), body: body, headers: ["Content-Encoding": none])
      XCTAssertEqual(identity.status, 200, "\(none): \(identity.text)")
    }
    let listed = try await client.send(
      "POST", server.url("/v1/tag"), body: body, headers: ["Content-Encoding": "identity, gzip"])
    XCTAssertEqual(listed.status, 415, listed.text)
  }

  /// Random bytes and random damage to a good body never get anything but an answer.
  func testDamagedBodiesNeverStopTheServer() async throws {
    var generator = SplitMix64(seed: 7)
    let good = Array(tagBody([EndpointTests.requests[1], EndpointTests.requests[3]]).utf8)
    for round in 0..<60 {
      var body = good
      if round % 3 == 0 {
        body = (0..<Int(generator.next() % 300)).map { _ in
          UInt8(truncatingIfNeeded: generator.next())
        }
      } else {
        for _ in 0..<1 + round % 4 {
          let at = Int(generator.next() % UInt64(body.count))
          body[at] = UInt8(truncatingIfNeeded: generator.next())
        }
      }
      let answer = try await client.send("POST", server.url("/v1/tag"), body: Data(body))
      XCTAssertTrue([200, 400].contains(answer.status), "round \(round): \(answer.status)")
      if answer.status == 400 { XCTAssertNotNil(answer.errorMessage, answer.text) }
    }
  }

  /// An unknown path is a 404 and an endpoint asked with another method a 405 with `Allow`,
  /// both with a JSON error like every refusal (they were bare 404s); GET endpoints answer HEAD.
  func testUnknownPathsAre404AndOtherMethods405() async throws {
    let unknownPath = try await client.get(server.url("/v1/tags"))
    XCTAssertEqual(unknownPath.status, 404)
    XCTAssertEqual(
      unknownPath.errorMessage,
      "GET /v1/tags: no such endpoint (GET /health, GET /metrics, GET /v1/model, POST /v1/tag)")
    let getTag = try await client.get(server.url("/v1/tag"))
    XCTAssertEqual([getTag.status], [405])
    XCTAssertEqual(getTag.headers["allow"], "POST")
    XCTAssertEqual(getTag.errorMessage, "GET /v1/tag: this endpoint takes POST")
    let postHealth = try await client.post(server.url("/health"), "{}")
    XCTAssertEqual(postHealth.status, 405)
    XCTAssertEqual(postHealth.headers["allow"], "GET, HEAD")
    // The paths as the router matches them: it answers "/v1/tag/" as "/v1/tag".
    for (method, path) in [("GET", "/v1/tag/"), ("POST", "/health/"), ("POST", "//health")] {
      let body = method == "POST" ? Data("{}".utf8) : nil
      let answer = try await client.send(method, server.url(path), body: body)
      XCTAssertEqual(answer.status, 405, "\(method) \(path): \(answer.text)")
    }
    for path in ["/health", "/v1/model"] {
      let head = try await client.send("HEAD", server.url(path))
      XCTAssertEqual(head.status, 200, path)
      XCTAssertEqual(head.body.count, 0, path)
    }
  }

  /// Out-of-range settings are refused before anything starts.
  func testServerSettingsAreRangeChecked() throws {
    let model = try TestModel.model()
    func refused(port: Int = 0, _ change: (inout ServerLimits) -> Void) -> String? {
      var limits = ServerLimits()
      change(&limits)
      do {
        _ = try TaggingServer(model: model, modelFile: "m", port: port, limits: limits)
        return nil
      } catch {
        return "\(error)"
      }
    }
    XCTAssertEqual(refused(port: 65536) { _ in }, "--port must be in 0...65535 (got 65536)")
    XCTAssertEqual(refused { $0.workers = 0 }, "--workers must be in 1...64 (got 0)")
    XCTAssertEqual(
      refused { $0.maxBodyBytes = 0 }, "--max-body-bytes must be in 1...1073741824 (got 0)")
    XCTAssertEqual(
      refused { $0.maxSentences = -1 }, "--max-sentences must be in 1...1000000 (got -1)")
    XCTAssertEqual(refused { $0.maxTokens = 0 }, "--max-tokens must be in 1...100000000 (got 0)")
    XCTAssertEqual(
      refused { $0.maxNbestLabels = 0 }, "--max-nbest-labels must be in 1...1000000000 (got 0)")
    XCTAssertEqual(
      refused { $0.batchSentences = 5000 }, "--batch-sentences must be in 1...4096 (got 5000)")
    XCTAssertEqual(
      refused { $0.batchWaitMicroseconds = -5 },
      "--batch-wait-microseconds must be in 0...1000000 (got -5)")
    XCTAssertEqual(
      refused { $0.idleTimeoutSeconds = 0 }, "--idle-timeout-seconds must be in 1...86400 (got 0)")
    XCTAssertEqual(
      refused { $0.bodyTimeoutSeconds = 86_401 },
      "--body-timeout-seconds must be in 1...86400 (got 86401)")
    XCTAssertEqual(
      refused { $0.maxConnections = 0 }, "--max-connections must be in 1...1000000 (got 0)")
    XCTAssertNil(refused { _ in })
    // Requests carry tokens or text alone: a model that reads feature columns is refused.
    var configuration = TaggerConfiguration()
    (configuration.embeddingSize, configuration.hiddenSize) = (3, 2)
    configuration.featureColumns = [FeatureColumn(column: 2, size: 2)]
    var rng = SplitMix64(seed: 3)
    let features = try TaggerModel(
      configuration: configuration, words: Vocabulary(["<pad>", "<unk>", "a"]),
      labels: Vocabulary(["O"]), featureVocabularies: [Vocabulary(["<pad>", "<unk>", "x"])],
      rng: &rng)
    XCTAssertThrowsError(try TaggingServer(model: features, modelFile: "f.model")) {
      XCTAssertEqual("\($0)", "f.model: reads feature columns 2, which only CoNLL input carries")
    }
  }
}
