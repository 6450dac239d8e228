import Dispatch
import Foundation

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

/// Whether this process could start a thread when first asked (one started and joined, tens
/// of µs, once). libdispatch retries starting its workers for ever when the system refuses a
/// thread: a process that began at its thread limit (`ulimit -u`, a container's pids limit)
/// hung in its first tagging call, the C ABI's and the Python package's too, and could not be
/// interrupted; such a process now tags on its calling thread. (A process that reaches the
/// limit only later has Dispatch's workers by then, which it reuses.) A pool of threads of
/// Trellis's own in Dispatch's place made `trellis tag` of a large file 4–15% slower, each
/// hand-off waking a sleeping thread.
let threadsCanStart: Bool = {
  var thread = pthread_t()
  guard pthread_create(&thread, nil, { _ in nil }, nil) == 0 else { return false }
  pthread_join(thread, nil)
  return true
}()
