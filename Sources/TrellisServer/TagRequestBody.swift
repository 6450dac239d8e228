import Trellis

/// A `POST /v1/tag` body, read and checked against the limits:
/// `{"sentences": [request, …], "confidence": bool, "nbest": k}`, where each request is a
/// JSON-lines request (`TaggingRequest`) and only `sentences` is required.
struct TagRequestBody {
  var requests: [TaggingRequest]
  var options: TaggingOptions

  /// The names the body may hold, for the message about an unknown one.
  static let fields = ["sentences", "confidence", "nbest"]

  /// Reads `body` for `model`; throws a 400 `ServiceError` naming the first problem.
  init(body: String, limits: ServerLimits, model: TaggerModel) throws {
    let value: RawJSON
    do {
      value = try RawJSON(body, enclosingRequestsBy: 3)
    } catch let error as JSONLineError {
      let empty = body.allSatisfy(\.isWhitespace)
      throw ServiceError.badRequest(
        empty ? "the body is empty; send {\"sentences\": [...]}" : "body: \(error.message)")
    }
    guard let members = value.objectMembers else {
      throw ServiceError.badRequest("the body must be a JSON object: {\"sentences\": [...]}")
    }
    var sentences: [RawJSON]?
    options = TaggingOptions()
    var seen: Set<String> = []
    for (name, value) in members {
      guard seen.insert(name).inserted else {
        throw ServiceError.badRequest("duplicate field \(RawJSON.string(name))")
      }
      switch name {
      case "sentences":
        guard let elements = value.arrayElements else {
          throw ServiceError.badRequest("\"sentences\" must be an array of requests")
        }
        sentences = elements
      case "confidence":
        guard value.text == "true" || value.text == "false" else {
          throw ServiceError.badRequest("\"confidence\" must be true or false, not \(value)")
        }
        options.confidence = value.text == "true"
      case "nbest":
        guard let nbest = Int(value.text) else {
          throw ServiceError.badRequest(
            "\"nbest\" must be a whole number in 0...\(TaggingOptions.nbestLimit), not \(value)")
        }
        options.nbest = nbest
      default:
        let known = Self.fields.map { "\"\($0)\"" }.joined(separator: ", ")
        throw ServiceError.badRequest(
          "unknown field \(RawJSON.string(name)); the body takes \(known)")
      }
    }
    do {
      try options.validate()
    } catch let error as OptionError {
      throw ServiceError.badRequest("\"\(error.option)\" \(error.message)")
    }
    guard let sentences else {
      throw ServiceError.badRequest("the body lacks \"sentences\" (an array of requests)")
    }
    requests = try Self.read(sentences, limits: limits, model: model)
    try Self.checkNBestLabels(of: requests, options: options, limits: limits, model: model)
  }

  /// Refuses n-best lists of more labels than `limits.maxNbestLabels`, each sentence's list as
  /// long as tagging makes it: a long sentence's is cut (`TaggingOptions.nbestLength`), and
  /// the CLI and `Tagger` answer it.
  private static func checkNBestLabels(
    of requests: [TaggingRequest], options: TaggingOptions, limits: ServerLimits,
    model: TaggerModel
  ) throws {
    let (tokens, labels) = requests.reduce((0, 0)) { sums, request in
      let count = request.tokens.count
      let length = TaggingOptions.nbestLength(
        options.nbest, tokens: count, labels: model.labels.count)
      return (sums.0 + count, sums.1 + count * length)
    }
    guard labels <= limits.maxNbestLabels else {
      throw ServiceError.badRequest(
        "\"nbest\" \(options.nbest) over \(tokens) tokens asks for up to \(labels) labels; a "
          + "request may ask for at most \(limits.maxNbestLabels) (lower nbest, or send fewer "
          + "tokens)")
    }
  }

  /// Each sentence as a request, within the request's sentence and token limits and the
  /// model's tokens a sentence (`TaggerModel.tokenLimitError(count:)`).
  private static func read(_ sentences: [RawJSON], limits: ServerLimits, model: TaggerModel)
    throws -> [TaggingRequest]
  {
    guard sentences.count <= limits.maxSentences else {
      throw ServiceError.badRequest(
        "\(sentences.count) sentences; a request may hold at most \(limits.maxSentences)")
    }
    var tokens = 0
    return try sentences.enumerated().map { index, sentence in
      let request: TaggingRequest
      /// The sentence as errors name it: `sentences[3] (id 7)`, or without its id when none
      /// was read.
      func place(id: RawJSON?) -> String {
        "sentences[\(index)]" + (id.map { " (id \($0))" } ?? "")
      }
      func refusal(_ message: String, id: RawJSON?) -> ServiceError {
        .badRequest("\(place(id: id)): \(message)")
      }
      do {
        request = try TaggingRequest(jsonLine: sentence.text)
      } catch let error as JSONLineError {
        throw refusal(error.message, id: error.id)
      }
      if let message = model.tokenLimitError(count: request.tokens.count) {
        throw refusal(message, id: request.id)
      }
      tokens += request.tokens.count
      guard tokens <= limits.maxTokens else {
        throw ServiceError.badRequest(
          "more than \(limits.maxTokens) tokens (the limit per request) by "
            + place(id: request.id))
      }
      return request
    }
  }
}
