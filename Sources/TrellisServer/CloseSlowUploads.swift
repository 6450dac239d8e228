import NIOCore
import NIOHTTPTypes

/// Closes a connection whose client has not sent a request's whole body within the body
/// timeout of its headers.
///
/// Hummingbird's idle timeout restarts at every piece of a body, so a client that trickled a
/// body (a byte every few seconds, within the idle timeout each time) held its connection, and
/// one of `--max-connections`' slots, for as long as it liked. The headers need no deadline of
/// their own: the HTTP parser passes nothing on until they are complete, so a client that
/// trickles them meets the idle timeout.
///
/// The clock runs only while the server waits for this client: from the request's headers, or
/// from the end of the answer before it when the client pipelined (a request queued behind
/// another is not read until that one is answered, so its time there is the server's), to the
/// end of its body.
final class CloseSlowUploads: ChannelDuplexHandler, RemovableChannelHandler {
  typealias InboundIn = HTTPRequestPart
  typealias InboundOut = HTTPRequestPart
  typealias OutboundIn = HTTPResponsePart
  typealias OutboundOut = HTTPResponsePart

  private let timeout: TimeAmount
  /// Requests whose headers have arrived and whose answer has not been written to its end.
  private var unanswered = 0
  /// Whether the last request's headers have arrived and its body's end has not.
  private var isBodyPending = false
  /// The close scheduled while the server waits for a body.
  private var deadline: Scheduled<Void>?

  init(timeout: TimeAmount) { self.timeout = timeout }

  func channelRead(context: ChannelHandlerContext, data: NIOAny) {
    switch unwrapInboundIn(data) {
    case .head:
      unanswered += 1
      isBodyPending = true
    case .body: break
    case .end: isBodyPending = false
    }
    updateDeadline(context: context)
    context.fireChannelRead(data)
  }

  func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
    if case .end = unwrapOutboundIn(data) {
      unanswered -= 1
      updateDeadline(context: context)
    }
    context.write(data, promise: promise)
  }

  func channelInactive(context: ChannelHandlerContext) {
    deadline?.cancel()
    deadline = nil
    context.fireChannelInactive()
  }

  /// Runs the clock while the one unanswered request is the one whose body is still arriving.
  private func updateDeadline(context: ChannelHandlerContext) {
    if isBodyPending && unanswered == 1 {
      guard deadline == nil else { return }
      deadline = context.eventLoop.scheduleTask(in: timeout) { [weak self] in
        self?.deadline = nil
        context.close(promise: nil)
      }
    } else {
      deadline?.cancel()
      deadline = nil
    }
  }
}
