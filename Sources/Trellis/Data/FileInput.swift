import Foundation

/// Opens `path` for reading, with the messages every reader of Trellis gives for a missing
/// file, a directory and a file that cannot be opened.
func openForReading(_ path: String) throws -> FileHandle {
  var isDirectory: ObjCBool = false
  guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
    throw TrellisError(file: path, "no such file")
  }
  guard !isDirectory.boolValue else {
    throw TrellisError(file: path, "is a directory, not a file")
  }
  guard let handle = FileHandle(forReadingAtPath: path) else {
    throw TrellisError(file: path, "cannot be opened for reading (permissions?)")
  }
  return handle
}

/// The first line end in `bytes` at or after `from`: its index and length (2 for CRLF, else 1
/// for LF or a lone CR), or nil when there is none yet. A CR that is the last byte waits for
/// the next read, which may bring its LF, unless the input has ended. The one rule for line
/// ends: `LineReader` and `ByteChunkReader` both use it.
func lineEnd(in bytes: UnsafeBufferPointer<UInt8>, from: Int, atEndOfFile: Bool)
  -> (index: Int, length: Int)?
{
  for index in from..<bytes.count {
    switch bytes[index] {
    case 0x0A: return (index, 1)
    case 0x0D where index + 1 < bytes.count: return (index, bytes[index + 1] == 0x0A ? 2 : 1)
    case 0x0D: return atEndOfFile ? (index, 1) : nil
    default: continue
    }
  }
  return nil
}
