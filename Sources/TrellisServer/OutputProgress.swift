import NIOCore

#if canImport(Glibc)
  import Glibc
#endif

/// How far a connection's output has gone, to tell a client that reads slowly from one that
/// has stopped. NIO's buffer alone is the wrong gauge: Linux reports a socket writable again
/// only once much of its send buffer (megabytes on loopback) has drained, so a client reading
/// 120 KB/s took no byte out of NIO's buffer for over 10 s, and was closed as stalled mid-answer.
/// The bytes its peer has acknowledged (`tcpi_bytes_acked`) grow as the client reads.
struct OutputProgress {
  /// The bytes NIO holds for the socket, not yet sent; nil where the channel cannot say.
  var unsent: Int?
  /// The bytes the peer has acknowledged; nil where the channel cannot say.
  var acknowledged: Int?

  init(of channel: Channel) {
    unsent = try? channel.syncOptions?.getOption(.bufferedWritableBytes)
    acknowledged = Self.acknowledgedBytes(of: channel)
  }

  /// Whether the output moved on since `earlier`, given `written` bytes queued meanwhile: the
  /// peer acknowledged more, or bytes left NIO's buffer (those queued less its growth; answers'
  /// heads, which callers do not count, make that an underestimate, so a client that read
  /// nothing never seems to have). Neither known: no.
  func movedOn(since earlier: OutputProgress, written: Int) -> Bool {
    if let now = acknowledged, let then = earlier.acknowledged, now > then { return true }
    guard let now = unsent, let then = earlier.unsent else { return false }
    return written - (now - then) > 0
  }

  /// `struct tcp_info` of linux/tcp.h up to `tcpi_bytes_acked`, a 64-bit count at byte 120
  /// (glibc's copy of the struct ends before it); the kernel fills what it has of these bytes.
  private struct TCPInfoPrefix: Sendable {
    var words:
      (
        UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64,
        UInt64, UInt64, UInt64, UInt64, UInt64, UInt64
      ) = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
  }

  /// The answer of a socket option read on the channel's event loop, which NIO gives at once.
  private final class Answer: @unchecked Sendable { var bytes: Int? }

  private static func acknowledgedBytes(of channel: Channel) -> Int? {
    #if os(Linux)
      guard let provider = channel as? SocketOptionProvider, channel.eventLoop.inEventLoop else {
        return nil
      }
      let answer = Answer()
      let info: EventLoopFuture<TCPInfoPrefix> = provider.unsafeGetSocketOption(
        level: SocketOptionLevel(IPPROTO_TCP), name: SocketOptionName(TCP_INFO))
      info.whenSuccess { answer.bytes = Int(clamping: $0.words.15) }
      return answer.bytes
    #else
      return nil
    #endif
  }
}
