import NIOCore

/// Closes a connection whose client has stopped taking its answers: one whose socket stays
/// unwritable (NIO's buffer past its high-water mark, the kernel's full) for the idle timeout.
///
/// The idle timeout (`ClientPacing`) counts only while the server waits for a request, not
/// while a response waits to be written, so a client that asked for a large answer (or
/// pipelined many) and then read nothing would hold its connection, and one of
/// `--max-connections`' slots, for good. A client that reads, however slowly, makes the socket
/// writable again before the deadline.
final class CloseStalledWriters: ChannelInboundHandler, RemovableChannelHandler {
  typealias InboundIn = NIOAny

  private let timeout: TimeAmount
  /// The close scheduled while the socket is unwritable.
  private var deadline: Scheduled<Void>?

  init(timeout: TimeAmount) { self.timeout = timeout }

  func channelWritabilityChanged(context: ChannelHandlerContext) {
    if context.channel.isWritable {
      deadline?.cancel()
      deadline = nil
    } else if deadline == nil {
      deadline = context.eventLoop.scheduleTask(in: timeout) { [weak self] in
        self?.deadline = nil
        context.close(promise: nil)
      }
    }
    context.fireChannelWritabilityChanged()
  }

  func channelInactive(context: ChannelHandlerContext) {
    deadline?.cancel()
    deadline = nil
    context.fireChannelInactive()
  }
}
