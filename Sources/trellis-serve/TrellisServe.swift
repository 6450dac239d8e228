import ArgumentParser
import Foundation
import Logging
import Trellis
import TrellisServer

/// The process's entry: a synchronous one, so that the open-file and address-space limits are
/// checked before anything starts libdispatch's threads, which trap without a descriptor for
/// their events (an async entry had them running before `validate`, and `ulimit -n 5` ended
/// the server with SIGILL in 5 runs of 8). Then the command runs in a task, while the main
/// thread serves the main queue.
@main
enum TrellisServeEntry {
  static func main() {
    holdClosedStandardDescriptors()
    // The address space one worker needs: below it the async runtime's threads hung or
    // trapped before the options were read (`run` checks again for --workers).
    if let refusal = openFileLimitRefusal(program: TaggingServer.name)
      ?? serverAddressSpaceRefusal(program: TaggingServer.name, workers: 1)
    {
      FileHandle.standardError.write(Data((refusal + "\n").utf8))
      exit(1)
    }
    Task {
      await TrellisServe.main()
      exit(0)
    }
    dispatchMain()
  }
}

struct TrellisServe: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: TaggingServer.name,
    abstract: "Serve a Trellis model over HTTP.",
    discussion: """
      POST /v1/tag takes {"sentences": [{"id": …, "tokens": […]} or {"id": …, "text": "…"}], \
      "confidence": false, "nbest": 0} and answers {"results": […]}, one object per sentence \
      as `trellis tag --input jsonl` writes it. GET /v1/model describes the model as \
      `trellis info --json` does; GET /health answers {"status":"ok"}; GET /metrics gives \
      counts and latencies in Prometheus's text format. SIGTERM, SIGINT or SIGHUP \
      stops accepting connections, finishes the requests in flight and exits 0.
      """,
    version: trellisVersionDescription)

  @Option(help: "The model file.") var model: String
  // The numeric options parse `.unconditional`ly, as `trellis`'s do (TrellisCommand says why).
  @Option(help: "The address to listen on; \(TaggingServer.defaultHost) serves this machine only.")
  var host = TaggingServer.defaultHost
  @Option(parsing: .unconditional, help: "The port; 0 takes any free one (printed once listening).")
  var port = TaggingServer.defaultPort
  @Option(parsing: .unconditional, help: "The largest request body in bytes (larger: 413).")
  var maxBodyBytes = ServerLimits().maxBodyBytes
  @Option(parsing: .unconditional, help: "The most sentences in one request (more: 400).")
  var maxSentences = ServerLimits().maxSentences
  @Option(
    parsing: .unconditional,
    help: "The most tokens in one request, all sentences together (more: 400).")
  var maxTokens = ServerLimits().maxTokens
  @Option(
    parsing: .unconditional,
    help: """
      The most labels one request's n-best lists may hold: each sentence's tokens x the \
      sequences of its list (nbest, fewer for a long sentence; more: 400).
      """)
  var maxNbestLabels = ServerLimits().maxNbestLabels
  @Option(
    parsing: .unconditional,
    help: """
      The most work waiting to be tagged, in tokens (twice with confidences, once more a \
      sequence of an n-best list), all requests together; while it is reached: 503 with \
      Retry-After.
      """)
  var maxQueuedTokens = ServerLimits().maxQueuedTokens
  @Option(
    parsing: .unconditional, help: "The most sentences tagged together, from concurrent requests.")
  var batchSentences = ServerLimits().batchSentences
  @Option(
    parsing: .unconditional,
    help: "How long a request waits for others to share its batch, in microseconds.")
  var batchWaitMicroseconds = ServerLimits().batchWaitMicroseconds
  @Option(parsing: .unconditional, help: "Threads tagging batches.") var workers = ServerLimits()
    .workers
  @Option(
    parsing: .unconditional,
    help: "Seconds the server waits for a piece of a request (idle, or stalled in one).")
  var idleTimeoutSeconds = ServerLimits().idleTimeoutSeconds
  @Option(parsing: .unconditional, help: "Seconds the server waits for a request's body in all.")
  var bodyTimeoutSeconds = ServerLimits().bodyTimeoutSeconds
  @Option(
    parsing: .unconditional,
    help: """
      The most connections open at once (more wait for one to close); the open-file limit is \
      raised to fit them.
      """)
  var maxConnections = ServerLimits().maxConnections

  var limits: ServerLimits {
    var limits = ServerLimits()
    limits.maxBodyBytes = maxBodyBytes
    limits.maxSentences = maxSentences
    limits.maxTokens = maxTokens
    limits.maxNbestLabels = maxNbestLabels
    limits.maxQueuedTokens = maxQueuedTokens
    limits.batchSentences = batchSentences
    limits.batchWaitMicroseconds = batchWaitMicroseconds
    limits.workers = workers
    limits.idleTimeoutSeconds = idleTimeoutSeconds
    limits.bodyTimeoutSeconds = bodyTimeoutSeconds
    limits.maxConnections = maxConnections
    return limits
  }

  func validate() throws {
    if let refusal = CommandLine.argumentNotUTF8 { throw ValidationError(refusal) }
    do {
      try TaggingServer.validate(port: port)
      try limits.validate()
    } catch let error as OptionError {
      throw ValidationError(error.description)
    }
  }

  func run() async throws {
    // Before the model and the event loops: a thread the limit leaves no stack for traps.
    if let refusal = serverAddressSpaceRefusal(program: TaggingServer.name, workers: limits.workers)
    {
      FileHandle.standardError.write(Data((refusal + "\n").utf8))
      Foundation.exit(1)
    }
    try limits.raiseOpenFileLimit()
    // Each batch's arrays (confidences' forward–backward tables) reused from the heap.
    reuseLargeFreedBlocks()
    // One arena for each tagging worker and event loop, where glibc makes up to 8 a core.
    limitMallocArenas(to: 2 * TaggingOptions.activeCores)
    // A client that hangs up is an error on its connection, not a signal that ends the server.
    signal(SIGPIPE, SIG_IGN)
    let tagger = try ModelFile.read(from: model)
    tagger.prepareForTagging()  // before listening, so the first request does not pay it
    var logger = Logger(label: TaggingServer.name)
    logger.logLevel = .notice
    let server = try TaggingServer(
      model: tagger, modelFile: model, host: host, port: port, limits: limits, logger: logger
    ) { [host] port in
      let address = host.contains(":") ? "[\(host)]" : host  // an IPv6 address in a URL
      print("trellis-serve: listening on http://\(address):\(port)")
      fflush(stdout)
    }
    try await server.runUntilSignalled()
  }
}
