import Foundation
import Trellis

/// Tags the sentences of concurrent requests together, on threads of its own: tagging is
/// CPU-bound, so it must keep off NIO's event loops and Swift's cooperative pool, which
/// would otherwise stop reading sockets while a batch runs.
///
/// A worker takes whatever is pending when it is free. While other requests are still being
/// read, it waits for them, up to `limits.batchWaitMicroseconds` after the oldest pending one
/// arrived or until `limits.batchSentences` sentences are pending, so that requests that arrive
/// together share a batch, yet a lone request is tagged at once. Requests with other tagging
/// options form batches of their own. Each request gets its own answers, in its order. While
/// the work waiting (`work(sentenceLengths:options:labels:)`) is at `limits.maxQueuedTokens`
/// or more, requests are refused. A request still waiting when its connection closes (its
/// client reset it) is taken back untagged.
final class TaggingQueue: @unchecked Sendable {
  /// One request's sentences, waiting to be tagged.
  private struct Job {
    /// The connection the job came on, whose closing takes it back (`withdrawJobs(of:)`).
    var connection: ObjectIdentifier
    var requests: [TaggingRequest]
    var tokens: Int
    /// `work(sentenceLengths:options:labels:)` of the job.
    var work: Int
    var options: TaggingOptions
    var arrival: Date
    var continuation: CheckedContinuation<[String], any Error>
  }

  private let model: TaggerModel
  private let limits: ServerLimits
  /// Told the sentences and tokens of each batch tagged.
  private let metrics: ServiceMetrics
  /// Guards `pending`, `pendingWork`, `arriving` and `isStopping`; workers wait on it for
  /// work or for a batch to fill.
  private let condition = NSCondition()
  private var pending: [Job] = []
  /// The work of `pending`'s jobs, which `limits.maxQueuedTokens` bounds.
  private var pendingWork = 0
  /// The connections whose closing `withdrawJobs(of:)` is told of: one call a connection, not
  /// a request (a keep-alive connection's calls were kept until it closed).
  private var watchedConnections: Set<ObjectIdentifier> = []
  /// Requests being read, that will join `pending` (or fail) shortly.
  private var arriving = 0
  private var isStopping = false
  /// Set by each batch taken, cleared when an idle worker returns the heaps' free memory.
  private var taggedSinceRelease = false
  /// How long the queue stays empty before its free memory goes back to the system: a burst
  /// of 60 abandoned requests of 1 MB left an idle server holding 288 MB of its 292 MB peak
  /// (`scripts/serve-burst-memory.py`).
  static let idleRelease: TimeInterval = 1
  /// Left by each worker thread as it ends.
  private let workersEnded = DispatchGroup()

  /// Starts `limits.workers` threads.
  init(model: TaggerModel, limits: ServerLimits, metrics: ServiceMetrics) {
    self.model = model
    self.limits = limits
    self.metrics = metrics
    for index in 0..<limits.workers {
      workersEnded.enter()
      let thread = Thread { [self] in
        while let batch = nextBatch() { tag(batch) }
        workersEnded.leave()
      }
      thread.name = "trellis-tagger-\(index)"
      thread.start()
    }
  }

  /// The JSON-lines answer to each request that `read` returns (`TaggingResponse.jsonLine()`),
  /// in order. While `read` runs (reading and checking a body), batches about to start wait for
  /// its requests. Throws what `read` throws, and `ServiceError` once the queue is stopping,
  /// when the work waiting is at `limits.maxQueuedTokens` or more (503 with `Retry-After`),
  /// when an answer cannot be written, or when the job is taken back (499) because its
  /// `connection` closed before a worker took it: tagged all the same, the requests of
  /// clients that had reset their connections kept live ones waiting behind their work.
  /// `whenClosed` is given, once a connection, the call to make when it closes.
  func answer(
    connection: ObjectIdentifier,
    whenClosed: (_ withdraw: @escaping @Sendable () -> Void) -> Void,
    _ read: () async throws -> (requests: [TaggingRequest], options: TaggingOptions)
  ) async throws -> [String] {
    locked { arriving += 1 }
    let job: (requests: [TaggingRequest], options: TaggingOptions)
    do {
      job = try await read()
    } catch {
      locked { arriving -= 1 }
      throw error
    }
    return try await withCheckedThrowingContinuation { continuation in
      var isNewConnection = false
      defer {
        if isNewConnection { whenClosed { [weak self] in self?.withdrawJobs(of: connection) } }
      }
      locked {
        arriving -= 1
        guard !isStopping else {
          continuation.resume(
            throwing: ServiceError(status: .serviceUnavailable, message: "the server is stopping"))
          return
        }
        guard !job.requests.isEmpty else { return continuation.resume(returning: []) }
        // Any request is taken while the work waiting is below the bound, whatever its size:
        // taking only requests that fit whole shut a large one out for as long as small ones
        // kept the queue near the bound.
        guard pendingWork < limits.maxQueuedTokens else {
          continuation.resume(throwing: busy())
          return
        }
        let lengths = job.requests.map(\.tokens.count)
        let tokens = lengths.reduce(0, +)
        let work = Self.work(
          sentenceLengths: lengths, options: job.options, labels: model.labels.count)
        pendingWork += work
        isNewConnection = watchedConnections.insert(connection).inserted
        pending.append(
          Job(
            connection: connection, requests: job.requests, tokens: tokens, work: work,
            options: job.options, arrival: Date(), continuation: continuation))
      }
    }
  }

  /// Takes back, answered 499, the jobs of the closed `connection` that no worker has taken.
  private func withdrawJobs(of connection: ObjectIdentifier) {
    locked {
      watchedConnections.remove(connection)
      let (gone, kept) = (
        pending.filter { $0.connection == connection },
        pending.filter { $0.connection != connection }
      )
      pending = kept
      for job in gone {
        pendingWork -= job.work
        job.continuation.resume(
          throwing: ServiceError(
            status: .init(code: 499, reasonPhrase: "Client Closed Request"),
            message: "the connection closed before the request was tagged"))
      }
    }
  }

  /// What a request of sentences of `sentenceLengths` tokens asks of a worker, for a model of
  /// `labels` labels, in tokens tagged plainly: each token once, twice with confidences (the
  /// forward–backward pass beside the Viterbi), and as many times more as its n-best list
  /// holds sequences (the search does work for each), so that abandoned n-best requests
  /// cannot queue minutes of work under a bound in plain tokens. A long sentence's list is
  /// cut (`TaggingOptions.nbestLength`): counted `nbest` times, one sentence of 50,000 tokens
  /// with `"nbest": 1000` weighed 50 million tokens and had every request after it refused.
  static func work(sentenceLengths: [Int], options: TaggingOptions, labels: Int) -> Int {
    sentenceLengths.reduce(0) { sum, tokens in
      let sequences = TaggingOptions.nbestLength(options.nbest, tokens: tokens, labels: labels)
      return sum + tokens * ((options.confidence ? 2 : 1) + sequences)
    }
  }

  /// The 503 for a request that finds the queue full; called with the lock held.
  private func busy() -> ServiceError {
    ServiceError(
      status: .serviceUnavailable,
      message: "the server is busy: the requests waiting to be tagged hold \(pendingWork) "
        + "tokens of work, at or past \(limits.maxQueuedTokens) (--max-queued-tokens); retry "
        + "after a second",
      extraHeaders: [.retryAfter: "1"])
  }

  /// The work waiting to be tagged, in tokens tagged plainly
  /// (`work(sentenceLengths:options:labels:)`).
  var queuedWork: Int {
    condition.lock()
    defer { condition.unlock() }
    return pendingWork
  }

  /// Runs `body` with the lock held, then wakes the workers to look again.
  private func locked(_ body: () -> Void) {
    condition.lock()
    defer { condition.unlock() }
    body()
    condition.broadcast()
  }

  /// Tags what is pending, then ends the worker threads and waits for them.
  func stop() {
    condition.lock()
    isStopping = true
    condition.broadcast()
    condition.unlock()
    workersEnded.wait()
  }

  /// Waits for the next batch: the oldest job and the later ones with its options, as long as
  /// they fit in `limits.batchSentences` (the oldest always goes), once no request is being
  /// read, the batch is full or the oldest has waited long enough. Nil once stopping with
  /// nothing pending.
  private func nextBatch() -> [Job]? {
    condition.lock()
    defer { condition.unlock() }
    let wait = TimeInterval(limits.batchWaitMicroseconds) / 1e6
    while true {
      guard let oldest = pending.first else {
        if isStopping { return nil }
        if !taggedSinceRelease {
          condition.wait()
        } else if !condition.wait(until: Date().addingTimeInterval(Self.idleRelease)),
          pending.isEmpty, arriving == 0
        {
          taggedSinceRelease = false
          // Outside the lock: the event loops take it to queue each request.
          condition.unlock()
          releaseFreeMemory()
          condition.lock()
        }
        continue
      }
      let deadline = oldest.arrival.addingTimeInterval(wait)
      let waiting = pending.lazy.filter { $0.options == oldest.options }
        .reduce(0) { $0 + $1.requests.count }
      if isStopping || arriving == 0 || waiting >= limits.batchSentences || Date() >= deadline {
        return takeBatch()
      }
      _ = condition.wait(until: deadline)
    }
  }

  /// Removes the batch `nextBatch` describes from `pending`; called with the lock held.
  private func takeBatch() -> [Job] {
    taggedSinceRelease = true
    let members = Set(
      Self.batchMembers(
        of: pending.map { ($0.requests.count, $0.options) }, limit: limits.batchSentences))
    var (batch, kept): ([Job], [Job]) = ([], [])
    for (index, job) in pending.enumerated() {
      if members.contains(index) { batch.append(job) } else { kept.append(job) }
    }
    pending = kept
    pendingWork -= batch.reduce(0) { $0 + $1.work }
    return batch
  }

  /// The indices of the jobs (`pending`'s sentence counts and options, oldest first) that the
  /// next batch takes: the oldest, and each later job with its options whose sentences still
  /// fit within `limit` beside those taken (a later, smaller job may fit where an earlier
  /// one did not). The oldest goes even when it alone holds more than `limit`.
  static func batchMembers(of jobs: [(sentences: Int, options: TaggingOptions)], limit: Int)
    -> [Int]
  {
    guard let oldest = jobs.first else { return [] }
    var members: [Int] = []
    var sentences = 0
    for (index, job) in jobs.enumerated() where job.options == oldest.options {
      guard members.isEmpty || sentences + job.sentences <= limit else { continue }
      members.append(index)
      sentences += job.sentences
    }
    return members
  }

  /// Tags a batch in one `respond` call (whose passes use both cores once it holds two
  /// `options.batchSize` batches) and hands each job its answers.
  private func tag(_ batch: [Job]) {
    let responses = model.respond(to: batch.flatMap(\.requests), options: batch[0].options)
    metrics.recordTagged(
      sentences: responses.count, tokens: batch.reduce(0) { $0 + $1.tokens })
    var start = 0
    for job in batch {
      let mine = responses[start..<start + job.requests.count]
      start += job.requests.count
      do {
        job.continuation.resume(returning: try mine.map { try $0.jsonLine() })
      } catch {
        job.continuation.resume(
          throwing: ServiceError(
            status: .internalServerError, message: "cannot write the answer: \(error)"))
      }
    }
  }
}
