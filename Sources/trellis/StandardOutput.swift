import Foundation

/// Standard output, collected into writes of 64 KiB; when it is not a regular file (a pipe, a
/// terminal, a socket) each batch is also written as soon as it is tagged, so the answers reach
/// a reader that is waiting for them.
final class StandardOutput {
  private var buffer: [UInt8] = []
  private let isRegularFile: Bool = {
    var status = stat()
    return fstat(STDOUT_FILENO, &status) == 0 && (status.st_mode & S_IFMT) == S_IFREG
  }()

  func write(_ text: String) {
    buffer.append(contentsOf: text.utf8)
  }

  /// Appends bytes through `body`: many pieces in one access to the buffer (each access to a
  /// class's stored property is checked for exclusivity, 1.7% of a CoNLL run when done per piece).
  func append(_ body: (inout [UInt8]) -> Void) {
    body(&buffer)
  }

  /// Ends a tagged batch: writes it out unless output goes to a regular file and less than
  /// 64 KiB is waiting.
  func endBatch() throws {
    if !isRegularFile || buffer.count >= 1 << 16 { try flush() }
  }

  /// Writes everything collected; a failed write (a full disk, a closed pipe) throws
  /// `StandardStreams.WriteFailure`.
  func flush() throws {
    guard !buffer.isEmpty else { return }
    try StandardStreams.write(buffer)
    buffer.removeAll(keepingCapacity: true)
  }
}
