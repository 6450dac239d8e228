import Foundation

/// The open files a Trellis program holds at most before its own work: the standard streams,
/// an input, the model, an output and its temporary, a checkpoint, a log, and libdispatch's
/// epoll and event descriptors, with room to spare. Under `ulimit -n 5`, libdispatch's first
/// thread could not make its event descriptor, and `trellis` and `trellis-serve` died of
/// SIGILL without a word.
package let openFilesNeeded = 16

/// The refusal `program` prints when the soft limit on open files (`ulimit -n`) is below
/// `openFilesNeeded`, else nil. A process-wide check for an executable's entry, before
/// anything starts a thread.
package func openFileLimitRefusal(program: String) -> String? {
  var limit = rlimit()
  guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0,
    limit.rlim_cur < rlim_t(openFilesNeeded)
  else { return nil }
  return "Error: the open-file limit (ulimit -n) is \(limit.rlim_cur); \(program) needs at "
    + "least \(openFilesNeeded)"
}
