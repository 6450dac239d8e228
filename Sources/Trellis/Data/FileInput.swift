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

/// Which bytes end a line, and where the next line end is: the one rule for line ends, which
/// `LineReader`, `ByteChunkReader` and the C ABI's JSON lines all use.
public enum LineEnds: Sendable {
  /// LF, CRLF or a lone CR: CoNLL, text and vector files, whatever system wrote them.
  case lfCRLFOrCR
  /// LF or CRLF: JSON lines, whose format ends lines at LF only. A lone CR is JSON whitespace
  /// inside a request; ending the line there cut a valid request in two, each half refused,
  /// and gave more answers than lines.
  case lfOrCRLF

  /// The first line end in `bytes` at or after `from`: its index and length (2 for CRLF, else
  /// 1), or nil when there is none yet. A CR that is the last byte waits for the next read,
  /// which may bring its LF, unless the input has ended. A caller that found no end resumes at
  /// the last byte it searched, so the CR of a CRLF is never before `from`.
  public func lineEnd(in bytes: UnsafeBufferPointer<UInt8>, from: Int, atEndOfFile: Bool)
    -> (index: Int, length: Int)?
  {
    for index in from..<bytes.count {
      switch bytes[index] {
      case 0x0A where index > from && bytes[index - 1] == 0x0D: return (index - 1, 2)
      case 0x0A: return (index, 1)
      case 0x0D where self == .lfOrCRLF: continue
      case 0x0D where index + 1 < bytes.count: return (index, bytes[index + 1] == 0x0A ? 2 : 1)
      case 0x0D: return atEndOfFile ? (index, 1) : nil
      default: continue
      }
    }
    return nil
  }
}
