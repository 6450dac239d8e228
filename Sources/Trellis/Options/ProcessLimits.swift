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

/// The address space, in KB (`ulimit -v` counts KB), that `trellis-serve` starts in at the
/// least with `workers` tagging workers: 320 MiB for the program, the model and malloc's
/// arenas, and a stack (`ulimit -s`, 8 MiB unless set) for each of its threads: the workers,
/// an event loop and a thread of Swift's pool a core, and 5 others. Where a thread could not
/// get its stack, NIO stopped the server with SIGILL. With an ATIS model on 2 cores it
/// reserved 356,812 KB at start with 1 worker (10 threads) and 8.2 MB more a worker (611,068
/// KB with 32), and with 2 workers it started in 1 of 4 runs under `ulimit -v 327680`.
package func serverAddressSpaceNeeded(workers: Int) -> Int {
  var stack = rlimit()
  let stackKB =
    getrlimit(__rlimit_resource_t(RLIMIT_STACK.rawValue), &stack) == 0
      && stack.rlim_cur != rlim_t.max
    ? Int(stack.rlim_cur / 1024) : 8_192
  let threads = workers + 2 * ProcessInfo.processInfo.processorCount + 5
  return 327_680 + stackKB * threads
}

/// The refusal `trellis-serve` prints when the soft limit on its address space (`ulimit -v`)
/// is below what it needs to start with `workers` workers (`serverAddressSpaceNeeded`), else
/// nil. Checked before the threads start; what requests take comes on top.
package func serverAddressSpaceRefusal(program: String, workers: Int) -> String? {
  let needed = serverAddressSpaceNeeded(workers: workers)
  var limit = rlimit()
  guard getrlimit(__rlimit_resource_t(RLIMIT_AS.rawValue), &limit) == 0,
    limit.rlim_cur != rlim_t.max, limit.rlim_cur / 1024 < rlim_t(needed)
  else { return nil }
  return "Error: the address-space limit (ulimit -v) is \(limit.rlim_cur / 1024) KB; \(program) "
    + "needs at least \(needed) KB to start with \(workers) tagging worker\(workers == 1 ? "" : "s"), "
    + "and more for its requests"
}

/// Holds each of descriptors 0–2 that the process started without on /dev/null, opened the
/// other way round (standard input for writing, output and error for reading), so that reads
/// of the one and writes of the others still fail with EBADF, as on a closed descriptor, and
/// no file the program opens lands on them: with standard error closed (`2>&-`), `train`'s
/// `--log` was opened as descriptor 2 and took its progress lines between the JSON records.
/// A process-wide step for an executable's entry, before anything opens a file.
package func holdClosedStandardDescriptors() {
  for (descriptor, access) in [
    (STDIN_FILENO, O_WRONLY), (STDOUT_FILENO, O_RDONLY), (STDERR_FILENO, O_RDONLY),
  ] where fcntl(descriptor, F_GETFD) == -1 && errno == EBADF {
    // The lowest free descriptor is this one: those below it are open by now.
    let opened = open("/dev/null", access)
    if opened >= 0 && opened != descriptor {
      dup2(opened, descriptor)
      close(opened)
    }
  }
}
