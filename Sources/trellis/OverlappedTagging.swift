import Dispatch

/// Overlaps tagging with reading and writing in `trellis tag`. A group of sentences is tagged
/// on a worker thread (which spreads its batches over the tagger's threads) while the calling
/// thread writes the answers of the group before and reads the next one: on a file, the text
/// work no longer leaves the cores idle between groups. One group is tagged at a time, so
/// memory holds at most two groups, and answers are written in input order. With one thread
/// (`tag --threads 1`, a Spark task that owns one core) everything stays on the calling thread.
final class OverlappedTagging {
  /// False: `submit` tags and writes on the calling thread, one group after the other.
  let overlaps: Bool
  /// The group being tagged: signalled when its answers are ready, and how to write them.
  private var inFlight: (done: DispatchSemaphore, write: () throws -> Void)?
  private let worker = DispatchQueue(label: "trellis.tag")

  init(threads: Int) {
    overlaps = threads > 1
  }

  /// Waits for the group in flight, starts `tag` for the next one on the worker, then writes
  /// the finished group's answers with its `write` while the new group is tagged.
  func submit<Answers>(
    _ tag: @escaping () -> Answers, write: @escaping (Answers) throws -> Void
  ) throws {
    guard overlaps else { return try write(tag()) }
    let finished = takeFinished()
    let answers = AnswerBox<Answers>()
    let done = DispatchSemaphore(value: 0)
    worker.async {
      answers.value = tag()
      done.signal()
    }
    // `answers.value` is read only after `done` is signalled (`takeFinished`).
    inFlight = (done, { try write(answers.value!) })
    try finished?()
  }

  /// Waits for the group in flight, if any, and writes its answers: before input would wait
  /// (a streaming reader gets every answer it can), before an error, and at the end.
  func drain() throws {
    try takeFinished()?()
  }

  private func takeFinished() -> (() throws -> Void)? {
    guard let (done, write) = inFlight else { return nil }
    done.wait()
    inFlight = nil
    return write
  }
}

/// The worker's answers, handed to the calling thread through `OverlappedTagging`'s semaphore.
private final class AnswerBox<Value>: @unchecked Sendable {
  var value: Value?
}
