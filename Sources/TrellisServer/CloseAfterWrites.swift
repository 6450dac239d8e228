import NIOCore

/// Holds back a connection's full close until the writes queued before it have reached the
/// socket, so that a graceful shutdown answers the requests in flight in full.
///
/// On graceful shutdown Hummingbird 2.28 closes a connection as soon as it has queued the end of
/// the response in progress, and NIO drops whatever is still queued when a connection closes:
/// a response larger than the socket buffer (tens of megabytes for a large request) was cut
/// short. This handler sits on the socket side of Hummingbird's connection handler, sees that
/// close first and passes it on once the last write has completed, or after `limit` when the
/// client stops reading. A half close (`.output`) already waits in NIO and passes straight on.
final class CloseAfterWrites: ChannelOutboundHandler, RemovableChannelHandler {
  typealias OutboundIn = NIOAny
  typealias OutboundOut = NIOAny

  /// The longest a close waits for a client to take the rest of a response.
  static let limit = TimeAmount.seconds(60)

  /// The last write still in progress, if any.
  private var lastWrite: EventLoopFuture<Void>?

  func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
    let promise = promise ?? context.eventLoop.makePromise()
    let written = promise.futureResult
    lastWrite = written
    written.whenComplete { [weak self] _ in
      if self?.lastWrite === written { self?.lastWrite = nil }
    }
    context.write(data, promise: promise)
  }

  func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
    guard mode == .all, let lastWrite else {
      return context.close(mode: mode, promise: promise)
    }
    context.flush()
    let deadline = context.eventLoop.scheduleTask(in: Self.limit) {
      context.close(mode: mode, promise: nil)
    }
    lastWrite.whenComplete { _ in
      deadline.cancel()
      context.close(mode: mode, promise: promise)
    }
  }
}
