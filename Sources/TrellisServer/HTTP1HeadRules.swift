import NIOCore
import NIOHTTP1
import NIOHTTPTypesHTTP1

/// Rules of RFC 9112 that need a request's HTTP/1 head, which says its version and keeps every
/// Host field, where the HTTP types that Hummingbird hands a server's own handlers keep the
/// first Host as the request's authority and no version (`install(in:)` puts this ahead of that
/// conversion). A request they refuse gets 400 and the connection is closed, as a request the
/// parser refuses does (Hummingbird answers the parser's errors so).
/// - Host (§3.2): refused for an HTTP/1.1 request without a Host field, any request with two or
///   more, and a value that is no host and port (`a b`, `[::1`, `x:99999999`). They were
///   answered 200.
/// - Transfer-Encoding (§6.3): refused unless its last coding is `chunked`, where the body's
///   length cannot be known. The parser refused such a request only after handing its head
///   on, so it got two answers (the handler's, then the parser's 400), and a pipelining client
///   took the second for its next request's.
/// - HTTP/1.0 (§9.3): a connection persists only when the request asks for it
///   (`Connection: keep-alive`) and holds no Transfer-Encoding (§6.1: its framing is then taken
///   as faulty, and the connection closed after it); otherwise the request goes on saying
///   `Connection: close`, which `ClientPacing` answers and closes. Such connections stayed
///   open until the idle timeout, and a client reading its answer to the end of the connection
///   waited for it. The answer to one that asks says `Connection: keep-alive` (unless it says
///   `close`): an HTTP/1.0 client takes an answer without it as the connection's last. And its
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
    let hosts = head.headers["Host"]
    let codings = head.headers[canonicalForm: "Transfer-Encoding"]
    isRefusing =
      hosts.count > 1 || (hosts.isEmpty && head.version != .http1_0)
      || !hosts.allSatisfy(Self.isHostAndPort)
      || (!codings.isEmpty && codings.last?.lowercased() != "chunked")
    let keeps =
      head.headers[canonicalForm: "Connection"].contains { $0.lowercased() == "keep-alive" }
      && codings.isEmpty
    keepsHTTP10Connection.append(!isRefusing && head.version == .http1_0 && keeps)
    guard !isRefusing else {
      return context.fireErrorCaught(HTTPParserError.invalidHeaderToken)
    }
    if head.version == .http1_0 {
      if !keeps { head.headers.replaceOrAdd(name: "Connection", value: "close") }
      head.headers.remove(name: "Expect")
    }
    context.fireChannelRead(wrapInboundOut(.head(head)))
  }

  /// Whether `value` is a Host field's `uri-host [":" port]` (RFC 9110 §7.2, RFC 3986 §3.2.2),
  /// the whitespace around a field's value aside (RFC 9112 §5.1): a name of unreserved
  /// characters, percent-escapes and sub-delimiters, or a bracketed IP literal (an IPv6
  /// address, with a zone id or not, or IPvFuture), then a port of digits up to 65535. An
  /// empty value is one (a target without an authority).
  static func isHostAndPort(_ value: String) -> Bool {
    let nameCharacters = "-._~%!$&'()*+,;="
    func isNameCharacter(_ character: Character) -> Bool {
      (character.isASCII && (character.isLetter || character.isNumber))
        || nameCharacters.contains(character)
    }
    var host = Substring(value.trimmingCharacters(in: [" ", "\t"]))
    var port: Substring?
    if host.hasPrefix("[") {
      guard let close = host.firstIndex(of: "]") else { return false }
      let literal = host[host.index(after: host.startIndex)..<close]
      guard !literal.isEmpty, literal.allSatisfy({ isNameCharacter($0) || $0 == ":" }) else {
        return false
      }
      let rest = host[host.index(after: close)...]
      guard rest.isEmpty || rest.hasPrefix(":") else { return false }
      (host, port) = ("", rest.isEmpty ? nil : rest.dropFirst())
    } else if let colon = host.lastIndex(of: ":") {
      (host, port) = (host[..<colon], host[host.index(after: colon)...])
    }
    guard host.allSatisfy(isNameCharacter) else { return false }
    guard let port else { return true }
    return port.isEmpty
      || (port.count <= 5 && port.allSatisfy { $0.isASCII && $0.isNumber }
        && Int(port)! <= 65535)
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
