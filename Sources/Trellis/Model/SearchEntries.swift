import Foundation

/// The entries of the n-best searches running in the process, which start only while they
/// fit within `TaggingOptions.nbestEntryLimit` (512 MiB) together, or alone: each may keep that
/// many, and a call's threads and a server's workers searched several sentences at once
/// (`tag --nbest 100 --threads 2` of two sentences of 6,000 tokens, 40 labels: about 760 MB,
/// now 435 MB). Searches that fit together, the common ones, run side by side.
final class SearchEntries: @unchecked Sendable {
  /// The process's one count.
  static let process = SearchEntries()

  private let condition = NSCondition()
  private var running = 0

  /// `body`, once a search of `entries` fits beside those running.
  func whileHolding<Result>(_ entries: Int, _ body: () -> Result) -> Result {
    condition.lock()
    while running > 0 && running + entries > TaggingOptions.nbestEntryLimit { condition.wait() }
    running += entries
    condition.unlock()
    defer {
      condition.lock()
      running -= entries
      condition.broadcast()
      condition.unlock()
    }
    return body()
  }
}
