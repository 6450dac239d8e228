import Dispatch
import Foundation
import Synchronization
import TrellisKernels

/// `run(body)`: `body(0)` on the calling thread and `body(1)` on a second thread, returning
/// when both are done, as `DispatchQueue.concurrentPerform(iterations: 2)` does, for the
/// passes that split one batch over two threads (the encoder's directions and products, the
/// output layer's products, the head's halves, the optimiser's halves: several calls per
/// training step).
///
/// Dispatch's worker sleeps between calls, and waking it took about 30 µs each time: `perf
/// sched timehist` of 3 ATIS epochs counted 2,148 wake-ups and 63 ms of scheduling delay in
/// 1.2 s. The pair's second thread instead spins for `spinNanoseconds` after each call before
/// it sleeps, so the next call of the same step finds it awake. One caller at a time: a call
/// made while the pair is busy (from another thread, or nested in a body) goes to Dispatch
/// (`performConcurrently`).
final class ThreadPair: @unchecked Sendable {
  /// The process's pair; its thread starts on the first call.
  static let shared = ThreadPair()

  /// How long the second thread waits awake for the next call: longer than the gaps inside a
  /// training step (tens of µs), short enough to cost nothing noticeable when no call follows.
  static let spinNanoseconds: UInt64 = 100_000

  private let busy = Atomic<Bool>(false)
  /// Calls posted so far and the last one the second thread finished.
  private let posted = Atomic<Int>(0)
  private let completed = Atomic<Int>(0)
  /// Set by the second thread before it sleeps; whoever resets it owns the wake-up signal.
  private let sleeping = Atomic<Bool>(false)
  private var wake = DispatchSemaphore(value: 0)
  /// The body of the current call: written before `posted` is raised (releasing) and read
  /// after it is seen (acquiring), so the two threads never touch it at once.
  private var job: ((Int) -> Void)?
  /// The process whose second thread serves the pair (0: none started yet). Read and written
  /// only by the caller that holds `busy`.
  private var servedProcess: pid_t = 0
  /// Whether that process's second thread could be started.
  private var hasSecondThread = false
  /// Runs between posting a call and waking the second thread: nil but in ThreadPairTests,
  /// which hold the caller there as a preempted caller is held.
  private let afterPosting: (() -> Void)?
  /// Starts `serve` on a thread of its own and says whether it could: `startThread` but in
  /// ThreadPairTests, which make it fail.
  private let startServing: (ThreadPair) -> Bool

  init(
    afterPosting: (() -> Void)? = nil,
    startServing: @escaping (ThreadPair) -> Bool = { $0.startThread() }
  ) {
    self.afterPosting = afterPosting
    self.startServing = startServing
  }

  func run(_ body: (Int) -> Void) {
    guard busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged
    else {
      return performConcurrently(iterations: 2, body)
    }
    defer { busy.store(false, ordering: .releasing) }
    startSecondThreadIfNeeded()
    // Without a second thread both halves run here, one after the other: every body of the
    // pair lets either half run first (`share` leaves a late thread's work to the other).
    guard hasSecondThread else {
      body(0)
      return body(1)
    }
    withoutActuallyEscaping(body) { body in
      job = body
      let call = posted.wrappingAdd(1, ordering: .sequentiallyConsistent).newValue
      afterPosting?()
      if sleeping.exchange(false, ordering: .sequentiallyConsistent) { wake.signal() }
      body(0)
      Self.spin(until: completed.load(ordering: .acquiring) == call)
      job = nil
    }
  }

  /// Starts the second thread on the first call, and again on the first call in a process
  /// forked after it started: `fork` copies only the calling thread, so the child had a pair
  /// whose second thread did not exist, and its first call waited for it forever (a Python
  /// pipeline that tagged, then forked workers). The child's counters, flag and semaphore are
  /// the parent's at the fork, so they start afresh with the thread.
  private func startSecondThreadIfNeeded() {
    let process = getpid()
    guard servedProcess != process else { return }
    servedProcess = process
    posted.store(0, ordering: .relaxed)
    completed.store(0, ordering: .relaxed)
    sleeping.store(false, ordering: .relaxed)
    wake = DispatchSemaphore(value: 0)
    hasSecondThread = startServing(self)  // orders the stores above before the thread's loads
  }

  /// Starts `serve` on a new thread of 8 MiB of stack, or says it could not: under `ulimit
  /// -v` Foundation's `Thread.start()` failed without a word, and every call then waited for
  /// a thread that did not exist (a server's first request hung, spinning a core, and SIGTERM
  /// could not end it).
  private func startThread() -> Bool {
    var attributes = pthread_attr_t()
    pthread_attr_init(&attributes)
    defer { pthread_attr_destroy(&attributes) }
    pthread_attr_setstacksize(&attributes, 8 << 20)
    pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
    var thread = pthread_t()
    let pair = Unmanaged.passUnretained(self).toOpaque()
    return pthread_create(
      &thread, &attributes,
      { pair in
        Unmanaged<ThreadPair>.fromOpaque(pair!).takeUnretainedValue().serve()
        return nil
      }, pair) == 0
  }

  /// Waits, awake, until `condition` holds: for work that another running thread is about to
  /// finish. Past a few thousand pauses that thread was descheduled, so it yields the core.
  static func spin(until condition: @autoclosure () -> Bool) {
    var spins = 0
    while !condition() {
      spins += 1
      if spins % 4096 == 0 { sched_yield() } else { trellis_spin_pause() }
    }
  }

  /// Runs `body` over `0..<count` in two halves, one on each thread, cut at a multiple of 16
  /// (the vector kernels' width), or over all of it on the calling thread below `minimum`: for
  /// elementwise passes (zeroing and updating the parameters, dropout and its masks), whose
  /// results cannot depend on the cut.
  func inHalves(of count: Int, from minimum: Int, _ body: (Range<Int>) -> Void) {
    guard let middle = Self.secondHalfStart(of: count, from: minimum) else {
      return body(0..<count)
    }
    run { half in body(half == 0 ? 0..<middle : middle..<count) }
  }

  /// Where `inHalves(of: count, from: minimum)` starts the second thread's half, nil when it
  /// runs all of `0..<count` on the calling thread.
  static func secondHalfStart(of count: Int, from minimum: Int) -> Int? {
    count >= minimum && count >= 32 ? count / 32 * 16 : nil
  }

  /// Runs `body(i)` for every i in `0..<count` on the pair, each thread taking the next i when
  /// it is free, so a thread slowed by anything else does fewer: for work cut into many
  /// independent pieces. Which thread runs an i varies from call to call, so `body(i)` must
  /// not depend on it.
  /// (One `SharedWork` with nothing to prepare: both threads take its chunks.)
  func forEach(_ count: Int, _ body: (Int) -> Void) {
    withoutActuallyEscaping(body) { body in share([SharedWork(prepare: { count }, chunk: body)]) }
  }

  /// Runs every work of `works` on the pair (at most one per thread: two). Each thread takes
  /// its own work first (the calling thread `works[0]`), then the other's: it runs the work's
  /// `prepare` unless the other thread claimed it, in which case it waits for that thread to
  /// finish it, and then runs the work's chunks that are left, each claimed by one thread. So
  /// the thread done with its own work first helps with the other's chunks instead of waiting
  /// at the end, and a thread that starts late (or a busy pair's `run` handing both bodies to
  /// one thread) leaves both works to the other: a thread only waits for a preparation that a
  /// running thread has claimed. As with `forEach`, a chunk's result must not depend on the
  /// thread that runs it.
  func share(_ works: [SharedWork]) {
    precondition(works.count <= 2, "one work per thread of the pair")
    let states = works.map { _ in SharedWorkState() }
    run { part in
      for k in works.indices {
        let w = (part + k) % works.count
        states[w].take(works[w])
      }
    }
  }

  /// The second thread: runs `job(1)` for each call posted, spinning between calls for
  /// `spinNanoseconds`, then sleeping until the next.
  private func serve() {
    var seen = 0
    while true {
      var next = posted.load(ordering: .acquiring)
      if next == seen {
        let deadline = DispatchTime.now().uptimeNanoseconds + Self.spinNanoseconds
        var spins = 0
        while next == seen {
          spins += 1
          if spins % 256 == 0 && DispatchTime.now().uptimeNanoseconds > deadline { break }
          trellis_spin_pause()
          next = posted.load(ordering: .acquiring)
        }
      }
      if next == seen {
        sleeping.store(true, ordering: .sequentiallyConsistent)
        next = posted.load(ordering: .sequentiallyConsistent)
        // A caller that saw `sleeping` signals; one that posted before it was set did not.
        if next == seen || !sleeping.exchange(false, ordering: .sequentiallyConsistent) {
          wake.wait()
          // The wake-up may be for a call this thread has run: a caller held (preempted)
          // between posting and taking `sleeping` can take the flag of a later sleep, after
          // this thread saw the call, ran it and spun out its wait. So look again instead of
          // running `job`, which still holds that call until its caller returns.
          continue
        }
      }
      seen = next
      job?(1)
      completed.store(seen, ordering: .releasing)
    }
  }
}

/// Work for `ThreadPair.share`: `prepare` (run by one thread) returns how many chunks follow,
/// `chunk(i)` runs chunk i, after `prepare` on whichever thread claims it. What `prepare`
/// leaves for the chunks is published to the other thread by `SharedWorkState`.
struct SharedWork {
  let prepare: () -> Int
  let chunk: (Int) -> Void
}

/// Which thread has a `SharedWork`'s preparation, whether it is done, and the next chunk.
private final class SharedWorkState: @unchecked Sendable {
  private let claimed = Atomic<Bool>(false)
  private let prepared = Atomic<Bool>(false)
  private let nextChunk = Atomic<Int>(0)
  /// Written before `prepared` is set (releasing), read after it is seen (acquiring).
  private var chunkCount = 0

  func take(_ work: SharedWork) {
    if !claimed.exchange(true, ordering: .relaxed) {
      chunkCount = work.prepare()
      prepared.store(true, ordering: .releasing)
    }
    ThreadPair.spin(until: prepared.load(ordering: .acquiring))
    // Only the claim needs to be atomic: `run`'s return orders every chunk's writes.
    while case let i = nextChunk.wrappingAdd(1, ordering: .relaxed).oldValue, i < chunkCount {
      work.chunk(i)
    }
  }
}
