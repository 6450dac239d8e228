import Foundation

/// Streams the lines of a file or standard input as UTF-8 strings, 64 KiB at a time, so memory
/// stays bounded by the longest line, not the file. By default LF, CRLF and a lone CR each end a
/// line, so no line holds a CR and "\r\r\n" is a line end followed by an empty line; JSON lines
/// end at LF and CRLF only (`LineEnds`). A UTF-8 byte-order mark at the start is skipped;
/// invalid UTF-8 is an error naming its line.
public final class LineReader {
  /// The name errors give: the path, or `<stdin>` for standard input.
  public let fileName: String
  /// Which bytes end a line.
  private let ends: LineEnds
  /// The 1-based number of the line `next()` returned last.
  public private(set) var lineNumber = 0
  private let handle: FileHandle
  private let closesHandle: Bool
  private var buffer: [UInt8] = []
  /// Where the next line starts in `buffer`.
  private var bufferStart = 0
  /// How far from `bufferStart` the buffer is known to hold no line end: a long line is scanned
  /// once, not once per chunk read.
  private var scanned = 0
  private var atEndOfFile = false
  /// Set, before a read that would wait (`beforeWaiting`), when the bytes read end with a CR:
  /// it then ends its line at once rather than when the next byte shows whether it is half of
  /// a CRLF, so a writer that ends its lines with a lone CR is answered as it writes them.
  private var trailingCREndsLine = false
  /// Set when a line so ended was read: an LF that starts the next read is that CR's (a CRLF
  /// written in two pieces), neither a line end nor a line of its own.
  private var dropsLeadingLF = false
  /// Called before a read that would wait for input, so a streaming caller can first finish the
  /// work it holds (`tag` answers the sentences it has read while the writer is thinking).
  public var beforeWaiting: (() throws -> Void)?
  /// The size and SHA-256 of everything read, when set (to an empty digest) before reading.
  public var digest: ReadDigest?
  /// Whether NUL bytes are text: then a first line whose NULs look like UTF-16's or UTF-32's
  /// (without a byte-order mark) is read as UTF-8, as it is when NUL separates fields
  /// (`score -d '\0'`); otherwise such a line is refused, naming the encoding.
  public var nulIsText = false

  /// The longest line read: a file with longer ones (`/dev/zero`, a binary file) is refused
  /// at the line instead of growing the buffer until memory runs out. A CoNLL line is a token
  /// and its columns, a text line a sentence, a JSON line a request (`trellis-serve` takes
  /// bodies of 1 MiB by default).
  public static let lineLimit = 16 << 20
  /// UTF-8's byte-order mark, passed over at the start of a file.
  package static let byteOrderMark: [UInt8] = [0xEF, 0xBB, 0xBF]
  /// What is wrong with a line longer than `lineLimit`, after its place (`FILE:LINE: `).
  public static let lineTooLong = "is longer than \(lineLimit >> 20) MiB; is this a text file?"

  /// The name errors give `path`: `<stdin>` for "-", standard input.
  public static func displayName(of path: String) -> String { path == "-" ? "<stdin>" : path }

  /// Opens `path` ("-" for standard input).
  public init(path: String, ends: LineEnds = .lfCRLFOrCR) throws {
    self.ends = ends
    if path == "-" {
      fileName = Self.displayName(of: path)
      handle = .standardInput
      closesHandle = false
      return
    }
    fileName = path
    handle = try openForReading(path)
    closesHandle = true
  }

  deinit { if closesHandle { try? handle.close() } }

  /// The next line without its terminator (`ends`), or nil at the end of the input.
  public func next() throws -> String? {
    try nextLine { String(decoding: $0, as: UTF8.self) }
  }

  /// `make` of the next line's bytes, checked to be UTF-8, without its terminator; nil at the
  /// end of the input. The bytes are valid only during the call. A line longer than
  /// `lineLimit` is refused, or with `tooLong` passed over and answered by `tooLong()`.
  public func nextLine<Line>(
    _ make: (UnsafeBufferPointer<UInt8>) throws -> Line, tooLong: (() throws -> Line)? = nil
  ) throws -> Line? {
    var line: Line?
    try forEachLine(
      { bytes in
        line = try make(bytes)
        return false
      },
      tooLong: tooLong.map { tooLong in
        {
          line = try tooLong()
          return false
        }
      })
    return line
  }

  /// Calls `body` with the bytes of each next line, checked to be UTF-8, without its
  /// terminator, until it returns false or the input ends; `lineNumber` is the line's during
  /// the call, and the bytes are valid only during it. Lines are found in one access to the
  /// buffer for as many as it holds: an access per line (and the reader's state saved after
  /// each) was most of what reading a CoNLL line cost (callgrind).
  ///
  /// A line longer than `lineLimit` is refused (`lineTooLong`) unless `tooLong` is given: then
  /// its bytes are dropped as they are read, so memory stays bounded whatever its length, and
  /// `tooLong` is called in place of `body` (and returns the same).
  public func forEachLine(
    _ body: (UnsafeBufferPointer<UInt8>) throws -> Bool, tooLong: (() throws -> Bool)? = nil
  ) throws {
    // Set while the bytes read belong to a line longer than the limit that `tooLong` answers.
    var passesLongLine = false
    while true {
      let wantsMore = try buffer.withUnsafeBufferPointer { bytes -> Bool in
        var (start, scanned) = (bufferStart, self.scanned)
        defer { (bufferStart, self.scanned) = (start, scanned) }
        while true {
          let line: UnsafeBufferPointer<UInt8>
          if let end = ends.lineEnd(
            in: bytes, from: scanned, atEndOfFile: atEndOfFile || trailingCREndsLine)
          {
            line = UnsafeBufferPointer(rebasing: bytes[start..<end.index])
            start = end.index + end.length
          } else if atEndOfFile, start < bytes.count,
            lineNumber > 0 || !bytes[start...].elementsEqual(Self.byteOrderMark)
          {
            // A byte-order mark alone is an empty file, not an empty line.
            line = UnsafeBufferPointer(rebasing: bytes[start...])
            start = bytes.count
          } else {
            scanned = max(bytes.count - 1, scanned)
            // A last CR may be half of a CRLF whose LF the next read brings: not the line's.
            let pending = bytes.count - start - (bytes.last == UInt8(ascii: "\r") ? 1 : 0)
            if !passesLongLine, pending > Self.lineLimit {
              guard tooLong != nil else { throw lineTooLongError() }
              passesLongLine = true
            }
            // Its bytes dropped but the last, a CR whose LF the next read may bring.
            if passesLongLine { start = scanned }
            return true
          }
          scanned = start
          if passesLongLine || line.count > Self.lineLimit {
            guard let tooLong else { throw lineTooLongError() }
            passesLongLine = false
            lineNumber += 1
            guard try tooLong() else { return false }
          } else {
            guard try body(try checked(line)) else { return false }
          }
        }
      }
      if trailingCREndsLine {
        // The CR ended a line that was read only if nothing is left after it.
        (trailingCREndsLine, dropsLeadingLF) = (false, bufferStart == buffer.count)
      }
      if !wantsMore || atEndOfFile { return }
      try readMore()
    }
  }

  /// Drops the lines handed out from the buffer and reads the next chunk into it; or, when the
  /// read would wait and the buffer ends with a CR, reads nothing and lets that CR end its line
  /// (`trailingCREndsLine`), so that the line is handed out first.
  private func readMore() throws {
    buffer.removeSubrange(0..<bufferStart)
    scanned -= bufferStart
    bufferStart = 0
    if let beforeWaiting, !inputIsWaiting() {
      if ends == .lfCRLFOrCR, buffer.last == UInt8(ascii: "\r") {
        trailingCREndsLine = true
        return
      }
      try beforeWaiting()
    }
    let chunk = try readChunk()
    if chunk.isEmpty {
      atEndOfFile = true
    } else {
      digest?.update(chunk)
      let dropped = dropsLeadingLF && chunk.first == UInt8(ascii: "\n") ? 1 : 0
      buffer.append(contentsOf: chunk.dropFirst(dropped))
    }
    dropsLeadingLF = false
  }

  /// The refusal of the next line, longer than `lineLimit`.
  private func lineTooLongError() -> TrellisError {
    TrellisError(file: fileName, line: lineNumber + 1, Self.lineTooLong)
  }

  /// Up to 64 KiB: what one read(2) returns, so a line is handed out as soon as it arrives on
  /// a pipe (FileHandle's `read(upToCount:)` waits for the whole count); empty at the end.
  private func readChunk() throws -> ArraySlice<UInt8> {
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    let count = chunk.withUnsafeMutableBytes {
      readSome(handle.fileDescriptor, into: $0.baseAddress!, count: $0.count)
    }
    guard count >= 0 else {
      let reason = String(cString: strerror(errno))
      throw TrellisError(file: fileName, line: lineNumber + 1, "read failed: \(reason)")
    }
    return chunk[..<count]
  }

  /// Whether a read would return at once (data, the end of the input or an error): always for
  /// a regular file, for a pipe or terminal only when the writer has written ahead.
  private func inputIsWaiting() -> Bool {
    var request = pollfd(fd: handle.fileDescriptor, events: Int16(POLLIN), revents: 0)
    return poll(&request, 1, 0) > 0
  }

  /// Counts the line and returns it checked to be UTF-8, without a byte-order mark on the first.
  private func checked(_ line: UnsafeBufferPointer<UInt8>) throws -> UnsafeBufferPointer<UInt8> {
    lineNumber += 1
    var line = line
    if lineNumber == 1, line.starts(with: Self.byteOrderMark) {
      line = UnsafeBufferPointer(rebasing: line.dropFirst(3))
    }
    // UTF-16 and UTF-32 are what some editors save "Unicode text" as: name them, and the way
    // out.
    if lineNumber == 1,
      let refusal = wideEncodingRefusal(file: fileName, firstLine: line, nulIsText: nulIsText)
    {
      throw refusal
    }
    // ASCII is valid UTF-8 as it is; `String(validating:)` costs a generic metadata lookup
    // per call, which was most of this function on a large file.
    guard isASCII(line) || String(validating: line, as: UTF8.self) != nil else {
      throw TrellisError(file: fileName, line: lineNumber, invalidUTF8Refusal(of: line))
    }
    return line
  }
}

/// What an invalid UTF-8 line is told, with the way out where its bytes read as Latin-1 text
/// (every byte past ASCII a letter or sign of ISO-8859-1, 0xA0...0xFF): the CoNLL-2002 and
/// German CoNLL-2003 releases are Latin-1. `python/tools/conll_to_jsonl.py` says the same.
func invalidUTF8Refusal(of line: UnsafeBufferPointer<UInt8>) -> String {
  guard line.allSatisfy({ $0 < 0x80 || $0 >= 0xA0 }) else { return "is not valid UTF-8" }
  return "is not valid UTF-8; if the file is Latin-1, convert it: iconv -f ISO-8859-1 -t UTF-8"
}

/// The refusal of a file whose first line (without its byte-order mark, if UTF-8's, and its
/// line end) shows UTF-16 or UTF-32 (`wideEncoding`), naming it and the way out; nil for any
/// other line. For every reader of text: CoNLL, text and JSON lines, and vector files.
func wideEncodingRefusal(
  file: String, firstLine: UnsafeBufferPointer<UInt8>, nulIsText: Bool = false
) -> TrellisError? {
  guard let (encoding, evidence) = wideEncoding(ofFirstLine: firstLine, nulIsText) else {
    return nil
  }
  return TrellisError(
    file: file, line: 1,
    "is not valid UTF-8 but \(encoding) (\(evidence)); convert it: iconv -f \(encoding) -t UTF-8")
}

/// The UTF-16 or UTF-32 encoding (as iconv names it) that a file's first line shows, and how:
/// by a byte-order mark (UTF-32LE's begins with UTF-16LE's), or, unless `nulIsText`, without
/// one by the NUL bytes beside each ASCII character, which make the line valid UTF-8 full of
/// NULs. Without a mark, UTF-16 needs its NULs beside both of the first two characters (or the
/// one of a line of one) and a line of whole code units before the line feed's byte: an even
/// count in UTF-16LE, whose line feed's NUL follows it, odd in UTF-16BE, whose NUL precedes it
/// (UTF-8 fields of one character between NULs, `.\0O\0O`, make an odd count). A NUL
/// elsewhere names no encoding.
private func wideEncoding(
  ofFirstLine line: UnsafeBufferPointer<UInt8>, _ nulIsText: Bool
) -> (encoding: String, evidence: String)? {
  let b = Array(line.prefix(4)) + [UInt8](repeating: 0xFF, count: 4 - min(line.count, 4))
  let mark = { (encoding: String) in "it starts with \(encoding)'s byte-order mark" }
  let nulls = { (encoding: String) in
    "its first characters have the NUL bytes of \(encoding) without a byte-order mark"
  }
  let isEven = line.count % 2 == 0
  switch (b[0], b[1], b[2], b[3]) {
  case (0xFF, 0xFE, 0, 0), (0, 0, 0xFE, 0xFF): return ("UTF-32", mark("UTF-32"))
  case (0xFF, 0xFE, _, _), (0xFE, 0xFF, _, _): return ("UTF-16", mark("UTF-16"))
  case _ where nulIsText: return nil
  case (0, 0, 0, 1...0x7F): return ("UTF-32BE", nulls("UTF-32BE"))
  case (1...0x7F, 0, 0, 0): return ("UTF-32LE", nulls("UTF-32LE"))
  // A line of one character ends before its line feed's second byte (LE) or in it (BE).
  case (0, 1...0x7F, 0, 1...0x7F) where !isEven,
    (0, 1...0x7F, 0, 0xFF) where line.count == 3:
    return ("UTF-16BE", nulls("UTF-16BE"))
  case (1...0x7F, 0, 1...0x7F, 0) where isEven,
    (1...0x7F, 0, 0xFF, 0xFF) where line.count == 2:
    return ("UTF-16LE", nulls("UTF-16LE"))
  default: return nil
  }
}

/// Whether every byte is below 0x80, tested eight at a time: byte by byte, the test was most of
/// what checking a CoNLL line cost (callgrind).
private func isASCII(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
  guard let base = bytes.baseAddress else { return true }
  let raw = UnsafeRawPointer(base)
  var highBits: UInt64 = 0
  var index = 0
  while index + 8 <= bytes.count {
    highBits |= raw.loadUnaligned(fromByteOffset: index, as: UInt64.self)
    index += 8
  }
  while index < bytes.count {
    highBits |= UInt64(bytes[index])
    index += 1
  }
  return highBits & 0x8080_8080_8080_8080 == 0
}
