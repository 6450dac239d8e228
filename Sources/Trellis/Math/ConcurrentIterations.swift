import Dispatch
import Foundation
import Synchronization

/// `DispatchQueue.concurrentPerform(iterations:execute:)`, or every iteration on the calling
/// thread, in order, where the process cannot start a thread (`threadsCanStart`): every body
/// must allow the iterations to run one after another (the callers' bodies take work from a
/// shared queue until it is empty, or each build their own part).
func performConcurrently(iterations: Int, _ body: (Int) -> Void) {
  if threadsCanStart {
    DispatchQueue.concurrentPerform(iterations: iterations, execute: body)
  } else {
    for i in 0..<iterations { body(i) }
  }
}

/// `body` on a thread of Dispatch's while the caller goes on, or on the calling thread, before
/// the return, where the process cannot start a thread (`threadsCanStart`): for work handed
/// off (`trellis tag`'s groups and its model's loading).
package func runOnWorkerThread(_ body: @escaping @Sendable () -> Void) {
  if threadsCanStart {
    DispatchQueue.global().async(execute: body)
  } else {
    body()
  }
}

/// Whether this process could start `threadsAsked` threads at once when first asked (started,
/// held until all are, and joined: a few hundred µs, once). libdispatch retries starting its
/// workers for ever when the system refuses a thread: a process at or near its thread limit
/// (`ulimit -u`, a container's pids limit) hung in its first tagging call, the C ABI's and the
/// Python package's too, and could not be interrupted; with one thread to spare, one probe
/// thread passed, Dispatch's first worker started and itself hung starting the next. Such a
/// process now tags on its calling thread. One that reaches the limit only after the check can
/// still hang there. A pool of threads of Trellis's own in Dispatch's place made `trellis tag`
/// of a large file slower (3–7% on CoNLL, 15% on text), each hand-off waking a sleeping thread.
let threadsCanStart: Bool = {
  final class Hold: @unchecked Sendable {
    let released = Atomic<Bool>(false)
  }
  let hold = Hold()
  var started: [pthread_t] = []
  for _ in 0..<threadsAsked {
    var thread = pthread_t()
    let context = Unmanaged.passUnretained(hold).toOpaque()
    let result = pthread_create(
      &thread, nil,
      { context in
        let hold = Unmanaged<Hold>.fromOpaque(context!).takeUnretainedValue()
        while !hold.released.load(ordering: .acquiring) { usleep(50) }
        return nil
      }, context)
    guard result == 0 else { break }
    started.append(thread)
  }
  hold.released.store(true, ordering: .releasing)
  for thread in started { pthread_join(thread, nil) }
  return started.count == threadsAsked
}()

/// The threads `threadsCanStart` asks for at once: Dispatch's workers for the process's cores,
/// and two more for the work handed off beside them (`runOnWorkerThread`).
private let threadsAsked = TaggingOptions.activeCores + 2
