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
  public var workers = min(64, max(1, ProcessInfo.processInfo.activeProcessorCount))
  /// How long a connection may send nothing, in seconds, whether between requests or in the
  /// middle of one, before it is closed: a stalled upload must not hold a graceful shutdown.
  public var idleTimeoutSeconds = 60

  public init() {}

  /// Throws an `OptionError` naming the first value outside its range.
  public func validate() throws {
    try check(maxBodyBytes, 1...(1 << 30), "max-body-bytes")
    try check(maxSentences, 1...1_000_000, "max-sentences")
    try check(maxTokens, 1...100_000_000, "max-tokens")
    try check(batchSentences, 1...TaggingOptions.batchSizeLimit, "batch-sentences")
    try check(batchWaitMicroseconds, 0...1_000_000, "batch-wait-microseconds")
    try check(workers, 1...64, "workers")
    try check(idleTimeoutSeconds, 1...86_400, "idle-timeout-seconds")
  }
}

/// Throws unless `range` contains `value`, worded as the library's own option checks.
func check(_ value: Int, _ range: ClosedRange<Int>, _ option: String) throws {
  guard range.contains(value) else {
    throw OptionError(option, "must be in \(range) (got \(value))")
  }
}
