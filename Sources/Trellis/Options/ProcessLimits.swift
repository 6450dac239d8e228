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
/// least with `threads` threads of its own (tagging workers, event loops): each reserves a
/// stack (8 MiB, glibc's default under `ulimit -s 8192`) beside the program, the model and
/// malloc's arenas. Where a thread could not get its stack, NIO stopped the server with
/// SIGILL. With an ATIS model on 2 cores and 2 workers it started in 1 of 4 runs under
/// `ulimit -v 327680` and in each of 4 under 393216; each worker added 8.2 MB (1 to 32
/// workers: 356,812 to 611,068 KB at start), and 24 workers did not start under 524288.
package func serverAddressSpaceNeeded(threads: Int) -> Int { 393_216 + 8_192 * threads }

/// The refusal `program` prints when the soft limit on its address space (`ulimit -v`) is
/// below `kilobytes`, else nil. A process-wide check for an executable's start, before the
/// threads it needs.
package func addressSpaceLimitRefusal(program: String, kilobytes: Int) -> String? {
  var limit = rlimit()
  guard getrlimit(__rlimit_resource_t(RLIMIT_AS.rawValue), &limit) == 0,
    limit.rlim_cur != rlim_t.max, limit.rlim_cur / 1024 < rlim_t(kilobytes)
  else { return nil }
  return "Error: the address-space limit (ulimit -v) is \(limit.rlim_cur / 1024) KB; \(program) "
    + "needs at least \(kilobytes) KB to start, and more for its requests"
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
