import NIOCore
import NIOHTTP1
import NIOHTTPTypesHTTP1

/// Two rules of RFC 9112 that need a request's HTTP/1 head, which says its version and keeps
/// every Host field, where the HTTP types that Hummingbird hands a server's own handlers keep
/// the first Host as the request's authority and no version (`install(in:)` puts this ahead of
/// that conversion):
/// - Host (§3.2): an HTTP/1.1 request without a Host field, and any request with two or more,
///   get 400 and the connection is closed, as a request the parser refuses does (Hummingbird
///   answers the parser's errors so). They were answered 200.
/// - HTTP/1.0 (§9.3): a connection persists only when the request asks for it
///   (`Connection: keep-alive`); otherwise the request goes on saying `Connection: close`,
///   which `ClientPacing` answers and closes. Such connections stayed open until the idle
///   timeout, and a client reading its answer to the end of the connection waited for it.
///   The answer to one that asks says `Connection: keep-alive` (unless it says `close`): an
///   HTTP/1.0 client takes an answer without it as the connection's last. And its
///   `Expect: 100-continue` is dropped, as RFC 9110 §10.1.1 says a server must ignore it
///   there: it got `100 Continue`, an answer HTTP/1.0 does not have.
final class HTTP1HeadRules: ChannelDuplexHandler, RemovableChannelHandler {
  typealias InboundIn = HTTPServerRequestPart
  typealias InboundOut = HTTPServerRequestPart
  typealias OutboundIn = HTTPServerResponsePart
  typealias OutboundOut = HTTPServerResponsePart

  /// Whether the request being read was refused: the rest of it goes no further.
  private var isRefusing = false
  /// For each request head read and not yet answered, in order: whether it is an HTTP/1.0
  /// request that asked to keep its connection.
  private var keepsHTTP10Connection: [Bool] = []

  /// Adds the rules to `context`'s pipeline, before its conversion to the HTTP types.
  static func install(in context: ChannelHandlerContext) {
    let pipeline = context.pipeline.syncOperations
    guard let conversion = try? pipeline.handler(type: HTTP1ToHTTPServerCodec.self) else {
      return
    }
    try? pipeline.addHandler(HTTP1HeadRules(), position: .before(conversion))
  }

  func channelRead(context: ChannelHandlerContext, data: NIOAny) {
    guard case .head(var head) = unwrapInboundIn(data) else {
      if !isRefusing { context.fireChannelRead(data) }
      return
    }
    let hosts = head.headers["Host"].count
    isRefusing = hosts > 1 || (hosts == 0 && head.version != .http1_0)
    let asksToKeep = head.headers[canonicalForm: "Connection"].contains {
      $0.lowercased() == "keep-alive"
    }
    keepsHTTP10Connection.append(!isRefusing && head.version == .http1_0 && asksToKeep)
    guard !isRefusing else {
      return context.fireErrorCaught(HTTPParserError.invalidHeaderToken)
    }
    if head.version == .http1_0 {
      if !asksToKeep { head.headers.replaceOrAdd(name: "Connection", value: "close") }
      head.headers.remove(name: "Expect")
    }
    context.fireChannelRead(wrapInboundOut(.head(head)))
  }

  func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
    // An informational answer (100 Continue) precedes its request's own.
    guard case .head(var head) = unwrapOutboundIn(data), head.status.code >= 200 else {
      return context.write(data, promise: promise)
    }
    let keeps = keepsHTTP10Connection.isEmpty ? false : keepsHTTP10Connection.removeFirst()
    if keeps && head.headers[canonicalForm: "Connection"].isEmpty {
      head.headers.add(name: "Connection", value: "keep-alive")
    }
    context.write(wrapOutboundOut(.head(head)), promise: promise)
  }
}
