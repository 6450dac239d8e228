import Dispatch
import Foundation
import Synchronization
import TrellisKernels

/// `DispatchQueue.concurrentPerform(iterations:execute:)`, or every iteration on the calling
/// thread, in order, where there is one or the process cannot start a thread
/// (`threadsCanStart`, not asked for one iteration: a call on one thread starts none): every
/// body must allow the iterations to run one after another (the callers' bodies take work from
/// a shared queue until it is empty, or each build their own part).
func performConcurrently(iterations: Int, _ body: (Int) -> Void) {
  if iterations > 1 && threadsCanStart {
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
/// held until all are, and joined: a few hundred µs, once), and open the descriptors Dispatch
/// makes as it starts. libdispatch retries starting its workers for ever when the system
/// refuses a thread: a process at or near its thread limit (`ulimit -u`, a container's pids
/// limit) hung in its first tagging call, the C ABI's and the Python package's too, and could
/// not be interrupted; with one thread to spare, one probe thread passed, Dispatch's first
/// worker started and itself hung starting the next. Its first worker makes an epoll instance,
/// an eventfd and a timerfd, and traps when it cannot: a host at its open-file limit (`ulimit
/// -n`) died of SIGILL in its first tagging call. Such processes now tag on the calling
/// thread; otherwise Dispatch is started here, while the descriptors are there, and keeps
/// them. One that reaches a limit in the moment after the check can still hang or trap. A pool
/// of threads of Trellis's own in Dispatch's place made `trellis tag` of a large file slower
/// (3–7% on CoNLL, 15% on text), each hand-off waking a sleeping thread.
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
  guard started.count == threadsAsked, trellis_dispatch_descriptors_available() != 0 else {
    return false
  }
  let dispatchStarted = DispatchSemaphore(value: 0)
  DispatchQueue.global().async { dispatchStarted.signal() }
  dispatchStarted.wait()
  return true
}()

/// The threads `threadsCanStart` asks for at once: Dispatch's workers for the process's cores,
/// and two more for the work handed off beside them (`runOnWorkerThread`).
private let threadsAsked = TaggingOptions.activeCores + 2
