import Foundation
import Trellis

/// What one `POST /v1/tag` may ask for, and how the server batches the work.
public struct ServerLimits: Equatable, Sendable {
  /// The largest request body; a larger one is answered 413 before it is read to the end.
  public var maxBodyBytes = 1 << 20
  /// The most sentences in one request.
  public var maxSentences = 1000
  /// The most tokens in one request, all its sentences together (text is counted after the
  /// tokenizer has split it).
  public var maxTokens = 50_000
  /// The most labels a request's n-best lists may hold: each of a sentence's k sequences
  /// repeats its labels in the answer (k = `nbest`, cut for a long sentence as tagging cuts
  /// it, `TaggingOptions.nbestLength`), so 200 sentences of 50 tokens with `"nbest": 1000`,
  /// an 89 KB body within every other limit, were answered with 126 MB and took the server to
  /// 594 MB. A million is about 13 MB of answer.
  public var maxNbestLabels = 1_000_000
  /// The most work waiting to be tagged, all pending requests together, in tokens tagged
  /// plainly (a token counts twice with confidences, and once more for each sequence its
  /// sentence's n-best list can hold): while the queue holds this much or more, requests are
  /// answered 503 with `Retry-After`; below it, a request of any size is taken, so the queue
  /// holds at most one request's work beyond it. Without a bound, a burst, or clients that
  /// gave up on their requests (the server cannot tell), queued work that every later request
  /// waited behind.
  /// The default is four plain requests at `maxTokens`.
  public var maxQueuedTokens = 200_000
  /// The most sentences a worker tags in one go, from as many requests as fit; a single larger
  /// request is tagged alone.
  public var batchSentences = 64
  /// How long the oldest pending request may wait for requests still being read to join its
  /// batch, in microseconds (a request is never kept waiting when none is being read).
  public var batchWaitMicroseconds = 1000
  /// Threads that tag batches, one per core: a batch of up to `TaggingOptions.batchSize`
  /// sentences runs only its two encoder directions on two cores, so a second worker tagging
  /// the next batch meanwhile helps (an ATIS model under 32 connections answered about 14% more
  /// requests per second with two workers than with one).
  public var workers = min(ServerLimits.workersLimit, max(1, TaggingOptions.activeCores))
  /// How long the server waits for a piece of a request, in seconds, whether between requests
  /// or in the middle of one, before it closes the connection: a stalled upload must not hold a
  /// graceful shutdown. Only the waits for the client count (`ClientPacing`).
  public var idleTimeoutSeconds = 60
  /// How long the server waits for a request's body in all, in seconds, before it closes the
  /// connection: the idle timeout restarts at every piece of a body, so a client trickling one
  /// would hold its connection for good. The default admits a `maxBodyBytes` body at 18 KB/s.
  public var bodyTimeoutSeconds = 60
  /// The most connections open at once; more wait in the system's listen queue until one
  /// closes. Without a cap, a server out of file descriptors kept waking to accept and failing,
  /// a core spent spinning until a connection closed.
  public var maxConnections = 512

  /// The most `workers`; the default is one per core up to it.
  public static let workersLimit = 64

  /// Descriptors the server holds besides its connections' (the standard streams, the listening
  /// socket, each event loop's epoll and wake-up descriptors), with room to spare.
  static let descriptorsBesideConnections = 64

  /// Every limit at its default.
  public init() {}

  /// Throws an `OptionError` naming the first value outside its range.
  public func validate() throws {
    try require(maxBodyBytes, in: 1...(1 << 30), "max-body-bytes")
    try require(maxSentences, in: 1...1_000_000, "max-sentences")
    try require(maxTokens, in: 1...100_000_000, "max-tokens")
    try require(maxNbestLabels, in: 1...1_000_000_000, "max-nbest-labels")
    try require(maxQueuedTokens, in: 1...1_000_000_000, "max-queued-tokens")
    try require(batchSentences, in: 1...TaggingOptions.batchSizeLimit, "batch-sentences")
    try require(batchWaitMicroseconds, in: 0...1_000_000, "batch-wait-microseconds")
    try require(workers, in: 1...Self.workersLimit, "workers")
    try require(idleTimeoutSeconds, in: 1...86_400, "idle-timeout-seconds")
    try require(bodyTimeoutSeconds, in: 1...86_400, "body-timeout-seconds")
    try require(maxConnections, in: 1...1_000_000, "max-connections")
  }

  /// Raises this process's soft limit on open files (`ulimit -Sn`) so that `maxConnections`
  /// connections fit beside the server's own descriptors; throws an `OptionError` when the hard
  /// limit (`ulimit -Hn`) is too low for them. Process-wide, so `trellis-serve` calls it, not
  /// `TaggingServer`.
  public func raiseOpenFileLimit() throws {
    let needed = rlim_t(maxConnections + Self.descriptorsBesideConnections)
    var limit = rlimit()
    let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
    guard getrlimit(resource, &limit) == 0, limit.rlim_cur < needed else { return }
    guard limit.rlim_max >= needed else {
      throw OptionError(
        "max-connections",
        "needs \(needed) open files with the server's own, and this process may open "
          + "\(limit.rlim_max) (ulimit -Hn): lower it, or raise that limit")
    }
    limit.rlim_cur = needed
    guard setrlimit(resource, &limit) == 0 else {
      let reason = String(cString: strerror(errno))
      throw OptionError(
        "max-connections", "cannot raise the open-file limit to \(needed): \(reason)")
    }
  }
}
