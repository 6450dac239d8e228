import Foundation

/// A tagged request: the request (for its id, text and passthrough fields) and its analysis,
/// whose spans carry code-point offsets into the request's text.
public struct TaggingResponse: Equatable, Sendable {
  /// The request answered, unchanged.
  public var request: TaggingRequest
  /// The analysis of `request.tokens`, its spans located in the request's text.
  public var analysis: Analysis

  /// Pairs `analysis` (of `request.tokens`) with its request, locating each span in the
  /// request's text: `startChar`/`endChar` are set, and `text` becomes the request's text
  /// between them (for token requests, the tokens joined by single spaces, as from `analyze`).
  ///
  /// - Precondition: `analysis` is of `request.tokens` (as `TaggerModel.respond(to:options:)`
  ///   pairs them): its spans index those tokens. One of other tokens traps.
  public init(request: TaggingRequest, analysis: Analysis) {
    self.request = request
    self.analysis = analysis
    guard !analysis.spans.isEmpty else { return }
    // A token request's span text is already its tokens joined by spaces, as `analyze` wrote
    // it; only a text request's must be cut from the text.
    let scalars = request.text.map { Array($0.unicodeScalars) }
    for (index, span) in analysis.spans.enumerated() {
      let characters = request.characters(ofTokens: span.start..<span.end)
      self.analysis.spans[index].startChar = characters.lowerBound
      self.analysis.spans[index].endChar = characters.upperBound
      if let scalars {
        self.analysis.spans[index].text = String(String.UnicodeScalarView(scalars[characters]))
      }
    }
  }

  /// The answer as one line of JSON (no newline): `id`, the passthrough fields as written,
  /// `text` when the request had text, then the analysis's fields (`Analysis`'s Codable form).
  /// Throws, as `JSONEncoder` does, where a number is a NaN or an infinity (a confidence of a
  /// damaged model): the error's description names the value.
  public func jsonLine() throws -> String {
    var line = request.answerLineStart(tokenCount: analysis.labels.count)
    try analysis.appendMembers(to: &line)
    line.append(UInt8(ascii: "}"))
    return line.string()
  }
}

extension TaggingRequest {
  /// The code points of `source` that tokens `tokens` (a non-empty range) span, from the first
  /// one's start to the last one's end: a span's `startChar..<endChar`.
  func characters(ofTokens tokens: Range<Int>) -> Range<Int> {
    tokenRanges[tokens.lowerBound].lowerBound..<tokenRanges[tokens.upperBound - 1].upperBound
  }

  /// An answer's JSON up to the analysis's members: "{", then `id`, the passthrough fields as
  /// written and `text` when the request had text, each followed by a comma.
  func answerLineStart(tokenCount: Int) -> JSONBytes {
    // Room for the usual answer at once (labels, tokens and a span a token take about 48
    // bytes of ATIS's): grown by doubling from a little, it was copied about ten times.
    var line = JSONBytes(capacity: 128 + 64 * tokenCount)
    line.append(UInt8(ascii: "{"))
    if let id {
      line.append(literal: "\"id\":")
      line.append(raw: id.text)
      line.append(UInt8(ascii: ","))
    }
    for member in passthrough {
      line.append(raw: member.name.text)
      line.append(UInt8(ascii: ":"))
      line.append(raw: member.value.text)
      line.append(UInt8(ascii: ","))
    }
    if let text {
      line.append(literal: "\"text\":")
      line.append(jsonString: text)
      line.append(UInt8(ascii: ","))
    }
    return line
  }
}

/// The answer to one line of a JSON-lines batch.
public struct JSONLineAnswer: Equatable, Sendable {
  /// The JSON object to write, without a newline: the tagged request, or for a line that was
  /// refused `{"id":…,"error":"…"}` (the id when it could be read).
  public var line: String
  /// Why the line was refused; nil when it was tagged.
  public var error: String?

  /// The answer to a refused line: `{"id":…,"error":"…"}`, the id when `error` has one.
  public init(refusing error: JSONLineError) {
    let id = error.id.map { "\"id\":\($0)," } ?? ""
    line = "{" + id + "\"error\":" + jsonString(error.message) + "}"
    self.error = error.message
  }

  /// The answer to a line longer than `LineReader.lineLimit`, passed over unread.
  package static let lineTooLong = JSONLineAnswer(
    refusing: JSONLineError("the line " + LineReader.lineTooLong))

  init(line: String) {
    self.line = line
  }
}

extension TaggerModel {
  /// Tags each request, up to `options.batchSize` sentences of similar length per forward pass, and
  /// returns the responses in request order, spans located in the requests' text.
  /// Thread-safe like `analyze`; options out of range are taken as `analyze` takes them, and a
  /// model that reads feature columns reads each as unknown (`checkReadsTokensAlone()`).
  public func respond(to requests: [TaggingRequest], options: TaggingOptions = TaggingOptions())
    -> [TaggingResponse]
  {
    Array(zip(requests, predictions(for: requests, options: options)))
      .concurrentMap(threads: options.threads, response)
  }

  /// The predictions for the requests' tokens, in request order.
  private func predictions<Requests: Sequence<TaggingRequest>>(
    for requests: Requests, options: TaggingOptions
  ) -> [Prediction] {
    predict(requests.map { TokenInput(tokens: $0.tokens) }, options: options)
  }

  /// The response to `request` from its prediction: its analysis, spans located in its text.
  private func response(to request: TaggingRequest, _ prediction: Prediction) -> TaggingResponse {
    TaggingResponse(request: request, analysis: analysis(of: request.tokens, prediction))
  }

  /// `tagJSONLines` where a line too long to read is nil, answered `JSONLineAnswer.lineTooLong`
  /// in its place (`trellis tag --on-error skip` and the C ABI).
  package func tagJSONLines(_ lines: [String?], options: TaggingOptions) throws
    -> [JSONLineAnswer]
  {
    var tagged = try tagJSONLines(lines.compactMap { $0 }, options: options).makeIterator()
    return lines.map { $0 == nil ? .lineTooLong : tagged.next()! }
  }

  /// The entry point of the JSON-lines transports (`trellis tag --input jsonl`, the C ABI; the
  /// HTTP service, whose body is one JSON document, reads each sentence with
  /// `TaggingRequest(jsonLine:)` and answers with `respond(to:options:)`, as this does): parses
  /// each line as a `TaggingRequest`, tags the good ones together and returns one answer per
  /// line, in order. A bad line never stops the others: its answer
  /// is an error object, and `error` says what was wrong. Throws only `OptionError`, when
  /// `options` fail `validate()`, and `FeatureColumnsMissing`, for a model that reads feature
  /// columns.
  public func tagJSONLines(_ lines: [String], options: TaggingOptions = TaggingOptions()) throws
    -> [JSONLineAnswer]
  {
    try options.validate()
    try checkReadsTokensAlone()
    // Parsing and writing the lines run on the threads tagging runs on: serial, they were a
    // third of a JSON-lines run on a file.
    let parsed = lines.concurrentMap(threads: options.threads) {
      line -> Result<TaggingRequest, JSONLineError> in
      do {
        let request = try TaggingRequest(jsonLine: line)
        if let refusal = tokenLimitError(count: request.tokens.count) {
          throw JSONLineError(refusal, id: request.id)
        }
        return .success(request)
      } catch {
        return .failure(error as? JSONLineError ?? JSONLineError("\(error)"))
      }
    }
    // The good lines' predictions, and where each line's is (-1 for a refused line): the
    // requests are read in place, where pairing each with its prediction in a new array copied
    // every request.
    var goodLines = 0
    let predictionIndices = parsed.map { line -> Int in
      guard case .success = line else { return -1 }
      defer { goodLines += 1 }
      return goodLines
    }
    let predictions = predictions(
      for: parsed.lazy.compactMap { try? $0.get() }, options: options)
    // Each answer (analysis, spans located in the text, its JSON) in one pass: a pass per step
    // kept every step's answers alive until the next and waited for the slowest thread each time.
    return Array(parsed.indices).concurrentMap(threads: options.threads) { index in
      switch parsed[index] {
      case .failure(let error): return JSONLineAnswer(refusing: error)
      case .success(let request):
        let prediction = predictions[predictionIndices[index]]
        if let line = labelsOnlyAnswerLine(to: request, path: prediction.path, options: options) {
          return JSONLineAnswer(line: line)
        }
        let response = response(to: request, prediction)
        do {
          return JSONLineAnswer(line: try response.jsonLine())
        } catch {
          return JSONLineAnswer(
            refusing: JSONLineError("cannot write the answer: \(error)", id: response.request.id))
        }
      }
    }
  }
}
