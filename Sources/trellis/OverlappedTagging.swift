import Dispatch
import Trellis

/// Overlaps tagging with reading and writing in `trellis tag`. A group of sentences is tagged
/// on a worker thread (which spreads its batches over the tagger's threads) while the calling
/// thread writes the answers of the group before and reads the next one: on a file, the text
/// work no longer leaves the cores idle between groups. Up to `groupsInFlight` groups are
/// tagged at once, so memory holds at most one group more than that, and answers are written
/// in input order. With one thread (`tag --threads 1`, a Spark task that owns one core)
/// everything stays on the calling thread.
final class OverlappedTagging {
  /// False: `submit` tags and writes on the calling thread, one group after the other.
  let overlaps: Bool
  /// How many groups may be tagged at once (one, or two: see `init`).
  let groupsInFlight: Int
  /// The groups being tagged, oldest first: each signalled when its answers are ready, and
  /// how to write them.
  private var inFlight: [(done: DispatchSemaphore, write: () throws -> Void)] = []

  /// `nextGroupEarly`: the next group may start while the last is tagged, so two run at once
  /// for a while. A group's passes (parsing, tagging, answering JSON lines; tagging alone for
  /// CoNLL and text) each end when their slowest thread does, later still when another
  /// process takes a core; the next group's work fills those waits. On ATIS test × 40, wall
  /// time: JSON lines 0.949–0.979 in four paired runs, CoNLL 0.935 (0.995 and 0.988 in two
  /// earlier ones), 3–4 MB more memory.
  init(threads: Int, nextGroupEarly: Bool = false) {
    overlaps = threads > 1
    groupsInFlight = nextGroupEarly ? 2 : 1
  }

  /// Waits for the oldest group when `groupsInFlight` are tagged, starts `tag` for the next
  /// one on a worker, then writes the finished group's answers with its `write` while the
  /// others are tagged.
  func submit<Answers>(
    _ tag: @escaping () -> Answers, write: @escaping (Answers) throws -> Void
  ) throws {
    guard overlaps else { return try write(tag()) }
    let finished = inFlight.count >= groupsInFlight ? takeFinished() : nil
    let answers = AnswerBox<Answers>()
    let done = DispatchSemaphore(value: 0)
    runOnWorkerThread {
      answers.value = tag()
      done.signal()
    }
    // `answers.value` is read only after `done` is signalled (`takeFinished`).
    inFlight.append((done, { try write(answers.value!) }))
    try finished?()
  }

  /// Waits for the groups in flight, if any, and writes their answers: before input would wait
  /// (a streaming reader gets every answer it can), before an error, and at the end.
  func drain() throws {
    while let write = takeFinished() { try write() }
  }

  private func takeFinished() -> (() throws -> Void)? {
    guard let (done, write) = inFlight.first else { return nil }
    done.wait()
    inFlight.removeFirst()
    return write
  }
}

/// The worker's answers, handed to the calling thread through `OverlappedTagging`'s semaphore.
private final class AnswerBox<Value>: @unchecked Sendable {
  var value: Value?
}

/// `tag`'s model, loaded on another thread while the calling thread reads the first input, its
/// tables built on two (`prepareForTagging(threads:)`); or at once, on the calling thread
/// alone, with `threads` 1 (a Spark task that owns one core).
final class ModelLoading {
  private let loaded = DispatchSemaphore(value: 0)
  private let box = AnswerBox<Result<TaggerModel, any Error>>()
  private let prepare: (TaggerModel) throws -> Void
  /// Set by the first `get()`: the loaded model, after `prepare`, or the error of either.
  private var prepared: Result<TaggerModel, any Error>?

  init(path: String, threads: Int, prepare: @escaping (TaggerModel) throws -> Void) {
    self.prepare = prepare
    let (box, loaded) = (box, loaded)
    let load: @Sendable () -> Void = {
      box.value = Result {
        let model = try ModelFile.read(from: path)
        model.prepareForTagging(threads: threads)
        return model
      }
      loaded.signal()
    }
    if threads > 1 { runOnWorkerThread(load) } else { load() }
  }

  /// The model, waiting for it to load; the first call runs `prepare` on it. Throws the load's
  /// or `prepare`'s error, on every call.
  func get() throws -> TaggerModel {
    if prepared == nil {
      loaded.wait()
      // `box.value` is read only after `loaded` is signalled.
      prepared = box.value!.flatMap { model in Result { try prepare(model) }.map { model } }
    }
    return try prepared!.get()
  }
}

/// `tag`'s input read into groups: each group is handed to `submit` (with the model) when it
/// holds `size` items or `budget` bytes of them (each item's `cost`), and whatever
/// has been read when the reader would wait for more (`answerEverythingRead`) or at the end.
final class InputGroups<Item> {
  private let model: ModelLoading
  private let overlap: OverlappedTagging
  private let size: Int
  private let budget: Int
  private let cost: (Item) -> Int
  /// Tags a group and hands it to `overlap`.
  private let submit: ([Item], TaggerModel) throws -> Void
  private var pending: [Item] = []
  private var pendingCost = 0
  /// Set when `answerEverythingRead` failed (a bad request's answer, or the model's load), whose
  /// error a streaming reader throws from its read: that error is then rethrown as it is, with
  /// nothing more answered. (Errors of answering in `readAll` itself never reach its catch.)
  private var answeringFailed = false

  init(
    model: ModelLoading, overlap: OverlappedTagging, size: Int, budget: Int,
    cost: @escaping (Item) -> Int, submit: @escaping ([Item], TaggerModel) throws -> Void
  ) {
    (self.model, self.overlap, self.size, self.submit) = (model, overlap, size, submit)
    (self.budget, self.cost) = (budget, cost)
  }

  /// Reads items with `next` to the end of the input. A read error (invalid UTF-8, a malformed
  /// CoNLL line) is thrown after the model's error, if any (as when the model loaded before
  /// reading), and after the answers to every item before the bad one, as a bad JSON-lines
  /// request stops after them: the items read are in the input whatever follows. An error in
  /// writing an earlier group's answers (a bad request) is not a read error: it ends the run
  /// at once, leaving the later groups unwritten, also when it comes out of `next` (a reader
  /// answering what it has read before it waits for more).
  func readAll(_ next: () throws -> Item?) throws {
    while true {
      let item: Item?
      do {
        item = try next()
      } catch {
        if answeringFailed { throw error }
        _ = try model.get()
        try submitPending()
        try overlap.drain()
        throw error
      }
      guard let item else { break }
      pending.append(item)
      pendingCost += cost(item)
      if pending.count == size || pendingCost >= budget { try submitPending() }
    }
    try answerEverythingRead()
  }

  /// Tags and answers every item read so far; a bad model is reported here, before the reader
  /// waits for input, even when none has come.
  func answerEverythingRead() throws {
    do {
      _ = try model.get()
      try submitPending()
      try overlap.drain()
    } catch {
      answeringFailed = true
      throw error
    }
  }

  /// What a reader runs before it waits for input (`LineReader.beforeWaiting`): answers
  /// everything read and writes the answers out. To a regular file they went 64 KiB at a time
  /// (`StandardOutput.endBatch`), so a producer that paused (`tail -f`) left them unwritten,
  /// and a signal while `tag` waited lost them.
  func beforeWaiting(writingTo output: StandardOutput) -> () throws -> Void {
    { [self] in
      try answerEverythingRead()
      try output.flush()
    }
  }

  private func submitPending() throws {
    guard !pending.isEmpty else { return }
    let group = pending
    (pending, pendingCost) = ([], 0)
    try submit(group, try model.get())
  }
}
