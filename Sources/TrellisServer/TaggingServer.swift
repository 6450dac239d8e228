import Foundation
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1
import ServiceLifecycle
import Trellis

/// The address could not be bound (in use, or not this machine's).
public struct ListenError: Error, CustomStringConvertible, Equatable {
  /// The address and the system's reason.
  public let message: String
  /// `message`, which the command line prints after "Error: ".
  public var description: String { message }
}

// `error.localizedDescription` gave Foundation's "The operation could not be completed." on
// Linux, not the message.
extension ListenError: LocalizedError {
  /// The message, as `description` gives it.
  public var errorDescription: String? { description }
}

/// The HTTP service over one model (Hummingbird 2, HTTP/1.1 with keep-alive):
///
/// - `POST /v1/tag`: `{"sentences": [request, …], "confidence": bool, "nbest": k}` answered
///   `{"results": [answer, …]}`, each answer the JSON-lines answer of `trellis tag --input jsonl`
///   to that request (`TaggingResponse.jsonLine()`), in order.
/// - `GET /v1/model`: what `trellis info --json` shows of the model (`ModelDescription`).
/// - `GET /health`: `{"status":"ok"}` while the server accepts requests.
/// - `GET /metrics`: counts and latencies in Prometheus's text format (`ServiceMetrics`).
///
/// A refused request gets `{"error": "…"}`: 400 for a malformed body or one over the sentence,
/// token or n-best label limit, 413 for a body over `limits.maxBodyBytes`, 405 (with `Allow`)
/// for an endpoint asked with another method, 404 for any other path, 503 (with `Retry-After`)
/// while the work waiting is at `limits.maxQueuedTokens` or while stopping. GET endpoints
/// answer HEAD.
public struct TaggingServer: Service {
  /// The model every request is tagged with.
  public let model: TaggerModel
  /// The address listened on.
  public let host: String
  /// The port asked for; 0 lets the system choose (`onListening` is told which).
  public let port: Int
  /// What a request may ask for, and how the work is batched.
  public let limits: ServerLimits
  /// Called once the server listens, with its port (the one the system chose when `port` is 0).
  let onListening: @Sendable (Int) async -> Void
  /// The `GET /v1/model` answer, made once.
  let modelJSON: String
  let logger: Logger

  /// The address listened on unless another is given: this machine only.
  public static let defaultHost = "127.0.0.1"
  /// The port listened on unless another is given.
  public static let defaultPort = 8080
  /// The ports a server may ask for; 0 takes any free one.
  public static let ports = 0...65535

  /// Throws `OptionError` unless `port` is one of `ports`.
  public static func validate(port: Int) throws { try require(port, in: ports, "port") }
  /// The server's name: its HTTP `Server` header and its default logger's label.
  public static let name = "trellis-serve"

  /// A server for `model`, read from `modelFile`. Throws `OptionError` when `port` or `limits`
  /// are out of range, and `FeatureColumnsMissing` for a model that reads feature columns
  /// (requests carry tokens or text alone), before anything starts.
  public init(
    model: TaggerModel, modelFile: String, host: String = TaggingServer.defaultHost,
    port: Int = TaggingServer.defaultPort, limits: ServerLimits = ServerLimits(),
    logger: Logger = Logger(label: TaggingServer.name),
    onListening: @escaping @Sendable (Int) async -> Void = { _ in }
  ) throws {
    try Self.validate(port: port)
    try limits.validate()
    try model.checkReadsTokensAlone(file: modelFile)
    self.model = model
    self.host = host
    self.port = port
    self.limits = limits
    self.logger = logger
    self.onListening = onListening
    modelJSON = try ModelDescription(model: model, file: modelFile).jsonLine()
  }

  /// Serves until graceful shutdown (SIGTERM under `runUntilSignalled`, or the service group's
  /// trigger): then stops accepting connections, finishes the requests in flight and returns.
  public func run() async throws {
    let metrics = ServiceMetrics()
    let queue = TaggingQueue(model: model, limits: limits, metrics: metrics)
    defer { queue.stop() }
    let application = Application(
      router: router(queue, metrics: metrics),
      server: .http1(
        configuration: .init(
          // The stalled-writer close sits nearer the socket, so it does not wait in
          // `CloseAfterWrites` for the very writes the client is not taking.
          additionalChannelHandlers: [
            CloseStalledWriters(timeout: .seconds(Int64(limits.idleTimeoutSeconds))),
            CloseAfterWrites(timeout: .seconds(Int64(limits.idleTimeoutSeconds))),
            ClientPacing(
              idleTimeout: .seconds(Int64(limits.idleTimeoutSeconds)),
              bodyTimeout: .seconds(Int64(limits.bodyTimeoutSeconds)),
              maxBodyBytes: limits.maxBodyBytes),
          ],
          // Hummingbird's idle timeout counted the time the server itself was too busy to
          // read; `ClientPacing` counts only the waits for the client.
          idleTimeout: nil)),
      configuration: ApplicationConfiguration(
        address: .hostname(host, port: port), serverName: Self.name,
        availableConnectionsDelegate: .maximum(limits.maxConnections, logger: logger)),
      onServerRunning: { [port, onListening] channel in
        await onListening(channel.localAddress?.port ?? port)
      },
      logger: logger)
    do {
      try await application.run()
    } catch let error as IOError where error.description.hasPrefix("bind(") {
      // NIO's text names its system call ("bind(descriptor:ptr:bytes:): … (errno: 98)").
      throw ListenError(
        message: "cannot listen on \(host):\(port): \(String(cString: strerror(error.errnoCode)))")
    } catch let error as SocketAddressError.UnknownHost {
      // NIO's text names its type ("SocketAddressError.UnknownHost: … for host h, port p");
      // a name lookup throws this struct, not the enum below.
      throw ListenError(
        message:
          "cannot listen on \(host):\(port): no such host address (\(error.errorDescription))")
    } catch let error as SocketAddressError {
      throw ListenError(
        message: "cannot listen on \(host):\(port): no such host address (\(error))")
    }
  }

  /// Runs the server until SIGTERM, SIGINT or SIGHUP (a server started from a terminal or an
  /// ssh session gets SIGHUP when it closes, which ended the process with requests in
  /// flight), then drains it (see `run`).
  public func runUntilSignalled() async throws {
    let group = ServiceGroup(
      configuration: ServiceGroupConfiguration(
        services: [self], gracefulShutdownSignals: [.sigterm, .sigint, .sighup], logger: logger))
    try await group.run()
  }

  /// The endpoints and their methods; a GET endpoint also answers HEAD.
  static let endpoints: [String: HTTPRequest.Method] = [
    "/health": .get, "/metrics": .get, "/v1/model": .get, "/v1/tag": .post,
  ]

  private func router(_ queue: TaggingQueue, metrics: ServiceMetrics)
    -> Router<ConnectionRequestContext>
  {
    let router = Router(context: ConnectionRequestContext.self, options: .autoGenerateHeadEndpoints)
    // First, so that it sees the status `UnmatchedRequests` gives a request no route matched.
    router.add(middleware: MetricsMiddleware(metrics: metrics, endpoints: Set(Self.endpoints.keys)))
    router.add(middleware: UnmatchedRequests(endpoints: Self.endpoints))
    router.get("health") { _, _ in jsonResponse("{\"status\":\"ok\"}\n") }
    router.get("metrics") { _, _ in
      Response(
        status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
        body: ResponseBody(
          byteBuffer: ByteBuffer(string: metrics.exposition(queuedWork: queue.queuedWork))))
    }
    router.get("v1/model") { [modelJSON] _, _ in jsonResponse(modelJSON) }
    router.post("v1/tag") { [limits, model] request, context in
      // A reset connection closes at once; a client's FIN keeps it open (a half-close may
      // still wait for its answer), so only the first takes its waiting request back.
      let channel = context.channel
      let answers = try await queue.answer(
        connection: ObjectIdentifier(channel),
        whenClosed: { withdraw in channel.closeFuture.whenComplete { _ in withdraw() } }
      ) {
        let body = try await Self.readBody(request, limit: limits.maxBodyBytes)
        let read = try await Self.checked(body, limits: limits, model: model)
        return (read.requests, read.options)
      }
      return jsonResponse("{\"results\":[" + answers.joined(separator: ",") + "]}\n")
    }
    return router
  }

  /// Bodies this large or larger are read on a thread of Dispatch's (`checked`).
  static let bodyBytesReadAside = 64 << 10

  /// `TagRequestBody` of `body`, read on a thread of Dispatch's when the body holds
  /// `bodyBytesReadAside` bytes or more: read on Swift's shared threads (one a core), which
  /// also answer `/health` and `/metrics`, a burst of 60 bodies of 750 KB of text kept those
  /// waiting for 0.5–2.1 s (`scripts/serve-health-latency.py`). A small body is read where it
  /// is, a hop to another thread costing more than the reading.
  private static func checked(_ body: String, limits: ServerLimits, model: TaggerModel)
    async throws -> TagRequestBody
  {
    guard body.utf8.count >= bodyBytesReadAside else {
      return try TagRequestBody(body: body, limits: limits, model: model)
    }
    return try await withCheckedThrowingContinuation { continuation in
      runOnWorkerThread {
        continuation.resume(
          with: Result { try TagRequestBody(body: body, limits: limits, model: model) })
      }
    }
  }

  /// The body as UTF-8 text, without a byte-order mark; 501 when it comes in a transfer coding
  /// other than chunked, 415 in a content coding (gzip bytes read as text were refused as "not
  /// UTF-8"), 413 when it is longer than `limit` bytes (said by Content-Length or found while
  /// reading), 400 when it is not UTF-8.
  private static func readBody(_ request: Request, limit: Int) async throws -> String {
    // The parser undoes chunked alone: a body in `gzip, chunked` was read as text and refused
    // as not UTF-8 (RFC 9112 §6.1: 501 for a transfer coding not understood).
    let transferCodings = request.headers[values: .transferEncoding].flatMap {
      $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
    }
    if let coding = transferCodings.first(where: { $0 != "chunked" }) {
      throw ServiceError(
        status: .notImplemented,
        message: "the body is in Transfer-Encoding \(RawJSON.string(coding)); send it as it is, "
          + "chunked or with Content-Length")
    }
    // A list of codings in the order applied; "identity" (or none, an empty field) is none.
    let contentCodings = request.headers[values: .contentEncoding].flatMap {
      $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
    }
    if contentCodings.contains(where: { !$0.isEmpty && $0 != "identity" }),
      let coding = request.headers[.contentEncoding]
    {
      throw ServiceError(
        status: .unsupportedMediaType,
        message: "the body is in Content-Encoding \(RawJSON.string(coding)); send it uncompressed",
        extraHeaders: [.acceptEncoding: "identity"])
    }
    let tooLarge = ServiceError(
      status: .contentTooLarge, message: "the body is larger than \(limit) bytes, the limit")
    if declaresBodyOver(limit, request.headers) {
      throw tooLarge
    }
    let bytes: ByteBuffer
    do {
      bytes = try await request.body.collect(upTo: limit)
    } catch let error as any HTTPResponseError where error.status == .contentTooLarge {
      throw tooLarge
    } catch HTTPParserError.invalidEOFState {
      // The client's input ended within the body: it hung up, or half-closed and still reads
      // (answered 500 before). Either way a client error, counted so, as nginx logs one.
      throw ServiceError(
        status: .badRequest, message: "the connection's input ended within the body",
        extraHeaders: [.connection: "close"])
    } catch let error as HTTPParserError {
      // A malformed chunk: Hummingbird answers the parser's errors 400 and closes the
      // connection, as for a malformed head. Wrapped, it was answered 500.
      throw error
    } catch {
      throw BodyNotReceived(reason: error)
    }
    // A byte-order mark before the JSON is skipped, as `trellis tag` and the C ABI skip one
    // before the first JSON line (it was refused as invalid JSON).
    var body = bytes.readableBytesView
    if body.starts(with: LineReader.byteOrderMark) { body = body.dropFirst(3) }
    guard let text = String(validating: body, as: UTF8.self) else {
      throw ServiceError.badRequest("the body is not UTF-8")
    }
    return text
  }
}

/// Hummingbird's basic context, and the connection the request came on: a request waiting to
/// be tagged is taken back when it closes.
struct ConnectionRequestContext: RequestContext {
  var coreContext: CoreRequestContextStorage
  let channel: any Channel

  init(source: ApplicationRequestContextSource) {
    coreContext = .init(source: source)
    channel = source.channel
  }
}
