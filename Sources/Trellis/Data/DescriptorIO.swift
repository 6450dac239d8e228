import Foundation

// Reads and writes that also work through a descriptor another process left non-blocking (an
// event loop's pipe, a shared one): read(2) and write(2) then fail with EAGAIN whenever a
// blocking call would wait, and `tag` gave up with "Resource temporarily unavailable" after
// its first 64 KiB of output, or before its first line of input. On EAGAIN these wait in
// poll(2) for the descriptor, then try again.

/// One read(2) of up to `count` bytes into `buffer`: the bytes read (0 at the end of the
/// input), or -1 with `errno` set for a failure other than EINTR or EAGAIN.
package func readSome(_ descriptor: Int32, into buffer: UnsafeMutableRawPointer, count: Int)
  -> Int
{
  while true {
    let got = read(descriptor, buffer, count)
    if got >= 0 { return got }
    switch errno {
    case EINTR: continue
    case EAGAIN, EWOULDBLOCK: awaitDescriptor(descriptor, events: POLLIN)
    default: return -1
    }
  }
}

/// All of `bytes` written to `descriptor`; throws `POSIXError` for a failure other than EINTR
/// or EAGAIN (EPIPE for a reader gone).
package func writeAll(_ bytes: UnsafeRawBufferPointer, to descriptor: Int32) throws {
  var written = 0
  while written < bytes.count {
    let count = write(descriptor, bytes.baseAddress! + written, bytes.count - written)
    if count >= 0 {
      written += count
      continue
    }
    switch errno {
    case EINTR: continue
    case EAGAIN, EWOULDBLOCK: awaitDescriptor(descriptor, events: POLLOUT)
    default: throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
    }
  }
}

/// Waits until `descriptor` is ready for `events`, or has an error or hang-up, which the call
/// tried again then reports.
private func awaitDescriptor(_ descriptor: Int32, events: Int32) {
  var request = pollfd(fd: descriptor, events: Int16(events), revents: 0)
  while poll(&request, 1, -1) < 0 && errno == EINTR {}
}
