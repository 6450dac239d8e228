import NIOCore

/// Holds back a connection's full close until the writes queued before it have reached the
/// socket, so that a graceful shutdown, or an answer to `Connection: close`, is sent in full.
///
/// On graceful shutdown Hummingbird 2.28 closes a connection as soon as it has queued the end of
/// the response in progress, and NIO drops whatever is still queued when a connection closes:
/// a response larger than the socket buffer (tens of megabytes for a large request) was cut
/// short. This handler sits on the socket side of Hummingbird's connection handler, sees that
/// close first and passes it on once the last write has completed, or once the client has
/// taken none of the output for `timeout` (`OutputProgress`): a fixed 60 s cut a client that
/// read a 17 MB answer at 120 KB/s. A half close (`.output`) already waits in NIO and passes
/// straight on.
final class CloseAfterWrites: ChannelOutboundHandler, RemovableChannelHandler {
  typealias OutboundIn = NIOAny
  typealias OutboundOut = NIOAny

  private let timeout: TimeAmount
  /// The last write still in progress, if any.
  private var lastWrite: EventLoopFuture<Void>?
  /// The check of the client's progress scheduled while a close waits.
  private var deadline: Scheduled<Void>?

  init(timeout: TimeAmount) { self.timeout = timeout }

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
    closeUnlessMovedOn(context, mode: mode, since: OutputProgress(of: context.channel))
    lastWrite.whenComplete { [weak self] _ in
      self?.deadline?.cancel()
      context.close(mode: mode, promise: promise)
    }
  }

  /// Closes the connection after `timeout` unless its output moved on meanwhile, then looks
  /// again. No write is queued while a close waits.
  private func closeUnlessMovedOn(
    _ context: ChannelHandlerContext, mode: CloseMode, since earlier: OutputProgress
  ) {
    deadline = context.eventLoop.scheduleTask(in: timeout) { [weak self] in
      let progress = OutputProgress(of: context.channel)
      if progress.movedOn(since: earlier, written: 0) {
        self?.closeUnlessMovedOn(context, mode: mode, since: progress)
      } else {
        context.close(mode: mode, promise: nil)
      }
    }
  }
}
