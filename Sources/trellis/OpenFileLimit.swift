import Foundation

/// The open files a run holds at most: the standard streams, an input, the model, an output and
/// its temporary, a checkpoint, a log, and libdispatch's epoll and event descriptors, with room
/// to spare. Under `ulimit -n 5`, libdispatch's first thread could not make its event
/// descriptor and the process died of SIGILL without a word.
let openFilesNeeded = 16

/// The refusal to print when the soft limit on open files (`ulimit -n`) is below
/// `openFilesNeeded`, else nil.
func openFileLimitRefusal() -> String? {
  var limit = rlimit()
  guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0,
    limit.rlim_cur < rlim_t(openFilesNeeded)
  else { return nil }
  return "Error: the open-file limit (ulimit -n) is \(limit.rlim_cur); trellis needs at least "
    + "\(openFilesNeeded)"
}
