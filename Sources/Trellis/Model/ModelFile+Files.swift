import Foundation

extension ModelFile {
  /// The model file at `path` opened for reading, refused unless it is a regular file: the
  /// header is checked against the file's size before the bulk is read, and a pipe
  /// (`--model <(zcat m.gz)`) or a device has none to check it against.
  static func openRegularFile(_ path: String) throws -> FileHandle {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory),
      !isDirectory.boolValue
    else {
      throw TrellisError(
        file: path,
        isDirectory.boolValue ? "is a directory, not a model file" : "no such model file")
    }
    // Opened without blocking, so a FIFO with no writer is refused below instead of waiting
    // forever in open(2); the descriptor blocks again for the reads.
    let descriptor = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
    guard descriptor >= 0 else {
      throw TrellisError(file: path, "cannot be opened: \(String(cString: strerror(errno)))")
    }
    let handle = FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
    var info = stat()
    guard fstat(descriptor, &info) == 0, info.st_mode & S_IFMT == S_IFREG else {
      throw TrellisError(
        file: path, "is a pipe or device, not a model file; give the file itself")
    }
    _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) & ~O_NONBLOCK)
    return handle
  }

  /// Whether the CRC-32 of a file's first `size − 4` bytes is its last 4, read in 1 MiB
  /// pieces with pread(2), so the file's offset is left where it was.
  static func fileChecksumMatches(_ descriptor: Int32, size: Int) -> Bool {
    guard size >= 4 else { return false }
    var buffer = [UInt8](repeating: 0, count: 1 << 20)
    var (crc, offset) = (UInt32(0), 0)
    while offset < size - 4 {
      let got = buffer.withUnsafeMutableBytes {
        pread(descriptor, $0.baseAddress!, min($0.count, size - 4 - offset), off_t(offset))
      }
      if got < 0 && errno == EINTR { continue }
      guard got > 0 else { return false }
      crc = buffer.withUnsafeBytes {
        crc32(UnsafeRawBufferPointer(rebasing: $0.prefix(got)), continuing: crc)
      }
      offset += got
    }
    var trailer = [UInt8](repeating: 0, count: 4)
    let got = trailer.withUnsafeMutableBytes {
      pread(descriptor, $0.baseAddress!, 4, off_t(size - 4))
    }
    return got == 4 && crc == readLittleEndian(trailer, at: 0)
  }
}
