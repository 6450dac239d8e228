import Foundation

/// Streams a file's bytes through one buffer, for inputs that are not lines of UTF-8 text
/// throughout (word2vec binary) or that are scanned before anything is decoded (vector files).
/// Each byte is searched once and the buffer holds one read plus the record being assembled, so
/// reading is linear in the file's size and memory is bounded by the longest record (callers
/// bound that with `limit`), never by the file.
final class ByteChunkReader {
  let fileName: String
  private let handle: FileHandle
  private var buffer: [UInt8] = []
  /// The first byte not yet handed out.
  private var start = 0
  private var atEndOfFile = false
  /// Bytes handed out so far (for error messages about binary records).
  private(set) var offset = 0
  /// The largest the buffer grew (its capacity): about one read plus the longest record,
  /// whatever the file's size.
  private(set) var largestBuffer = 0
  /// The size and SHA-256 of every byte read so far (training's provenance of a vector file).
  private(set) var digest = ReadDigest()

  static let readSize = 1 << 20

  init(path: String) throws {
    fileName = path
    handle = try openForReading(path)
  }

  deinit { try? handle.close() }

  /// Up to `count` bytes ahead, without consuming them (fewer only at the end of the file).
  func peek(_ count: Int) throws -> ArraySlice<UInt8> {
    while buffer.count - start < count, !atEndOfFile { try refill() }
    return buffer[start..<min(start + count, buffer.count)]
  }

  /// The bytes before the next `delimiter` (consumed, not returned), or the rest of the file
  /// when none follows; nil when nothing is left. Throws `tooLong` when no delimiter comes
  /// within `limit` bytes, so a file that is not what its start suggested cannot make the
  /// buffer grow to its size.
  func next(upTo delimiter: UInt8, limit: Int, tooLong: @autoclosure () -> TrellisError) throws
    -> ArraySlice<UInt8>?
  {
    try nextRecord(limit: limit, tooLong: tooLong) { bytes, from in
      memchr(bytes.baseAddress! + from, Int32(delimiter), bytes.count - from).map {
        (UnsafeRawPointer($0) - UnsafeRawPointer(bytes.baseAddress!), 1)
      }
    }
  }

  /// The next line without its end, which is LF, CRLF or a lone CR as for `LineReader`; the
  /// rest as for `next(upTo:limit:tooLong:)`.
  func nextLine(limit: Int, tooLong: @autoclosure () -> TrellisError) throws -> ArraySlice<UInt8>? {
    try nextRecord(limit: limit, tooLong: tooLong) { bytes, from in
      LineEnds.lfCRLFOrCR.lineEnd(in: bytes, from: from, atEndOfFile: atEndOfFile)
    }
  }

  /// The bytes from `start` to the end `find` reports in the buffer from an index on (its
  /// index and length), consuming the end too.
  private func nextRecord(
    limit: Int, tooLong: () -> TrellisError,
    find: (UnsafeBufferPointer<UInt8>, Int) -> (index: Int, length: Int)?
  ) throws -> ArraySlice<UInt8>? {
    var searched = 0  // bytes after `start` known to hold no end but perhaps the last one's CR
    while true {
      let available = buffer.count - start
      let from = start + searched
      if from < buffer.count, let end = buffer.withUnsafeBufferPointer({ find($0, from) }) {
        guard end.index - start <= limit else { throw tooLong() }
        defer { consume(end.index + end.length - start) }
        return buffer[start..<end.index]
      }
      guard available <= limit else { throw tooLong() }
      if atEndOfFile {
        guard available > 0 else { return nil }
        defer { consume(available) }
        return buffer[start...]
      }
      searched = max(available - 1, 0)
      try refill()
    }
  }

  /// Reads the rest of the file, handing none of it out: for its `digest`.
  func readToEnd() throws {
    while !atEndOfFile {
      consume(buffer.count - start)
      try refill()
    }
  }

  /// The next `count` bytes, or nil when the file ends before them.
  func take(_ count: Int) throws -> ArraySlice<UInt8>? {
    guard try peek(count).count == count else { return nil }
    defer { consume(count) }
    return buffer[start..<start + count]
  }

  private func consume(_ count: Int) {
    start += count
    offset += count
  }

  /// Drops the consumed bytes, then appends one read: at least `readSize` bytes, and as many
  /// as are buffered, so a record longer than one read still costs amortised linear time.
  private func refill() throws {
    buffer.removeSubrange(0..<start)
    start = 0
    let chunk: Data
    do {
      chunk = try handle.read(upToCount: max(Self.readSize, buffer.count)) ?? Data()
    } catch {
      throw TrellisError(
        file: fileName, "read failed after \(offset) bytes: \(error.localizedDescription)")
    }
    if chunk.isEmpty {
      atEndOfFile = true
    } else {
      digest.update(chunk)
      buffer.append(contentsOf: chunk)
    }
    largestBuffer = max(largestBuffer, buffer.capacity)
  }
}
