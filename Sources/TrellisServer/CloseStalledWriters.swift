import NIOCore
import NIOHTTPTypes

/// Closes a connection whose client has stopped taking its answers: one whose socket stays
/// unwritable (NIO's buffer past its high-water mark, the kernel's full) for the idle timeout
/// with none of what the server wrote leaving it.
///
/// The idle timeout (`ClientPacing`) counts only while the server waits for a request, not
/// while a response waits to be written, so a client that asked for a large answer (or
/// pipelined many) and then read nothing would hold its connection, and one of
/// `--max-connections`' slots, for good. A client that reads, however slowly, keeps it: the
/// socket turns writable again only once NIO's buffer has drained to its low-water mark, which
/// for a large answer read at 150 KB/s took longer than the timeout, and such a client lost the
/// rest of its answer. So a wait that ends unwritable starts another when the output moved on
/// during it (`OutputProgress`).
final class CloseStalledWriters: ChannelDuplexHandler, RemovableChannelHandler {
  typealias InboundIn = NIOAny
  typealias OutboundIn = HTTPResponsePart
  typealias OutboundOut = HTTPResponsePart

  private let timeout: TimeAmount
  /// The close scheduled while the socket is unwritable.
  private var deadline: Scheduled<Void>?
  /// The bytes of every answer's body written to the connection so far.
  private var bodyBytesWritten = 0

  init(timeout: TimeAmount) { self.timeout = timeout }

  func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
    if case .body(let bytes) = unwrapOutboundIn(data) { bodyBytesWritten += bytes.readableBytes }
    context.write(data, promise: promise)
  }

  func channelWritabilityChanged(context: ChannelHandlerContext) {
    if context.channel.isWritable {
      deadline?.cancel()
      deadline = nil
    } else if deadline == nil {
      startWaiting(context)
    }
    context.fireChannelWritabilityChanged()
  }

  func channelInactive(context: ChannelHandlerContext) {
    deadline?.cancel()
    deadline = nil
    context.fireChannelInactive()
  }

  private func startWaiting(_ context: ChannelHandlerContext) {
    let start = (written: bodyBytesWritten, progress: OutputProgress(of: context.channel))
    deadline = context.eventLoop.scheduleTask(in: timeout) { [weak self] in
      guard let self else { return }
      self.deadline = nil
      let progress = OutputProgress(of: context.channel)
      if progress.movedOn(since: start.progress, written: self.bodyBytesWritten - start.written)
        && !context.channel.isWritable
      {
        self.startWaiting(context)
      } else {
        context.close(promise: nil)
      }
    }
  }
}
