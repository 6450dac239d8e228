import Foundation
import Trellis

/// Appends one JSON object per line; a line per epoch (and per step with --log-steps). Opened
/// like any tool's log (truncated in place, so /dev/null stays a device), or after its end
/// for a resumed run, which then continues its interrupted run's log, or for a descriptor's
/// link (`--log /dev/stdout >> runs.jsonl`: what the shell opened, to append to, was
/// emptied, and the earlier runs in it lost); a failed write throws,
/// which stops training with the log's name in the message. A fresh run's log is opened when
/// the command starts, so a path it cannot write is refused before any work, but emptied only
/// at the first record, once training has started: a run refused on the way (an interrupted
/// run's checkpoint not resumed, bad `--embeddings`) had emptied the log of the run it names.
final class JSONLinesLog {
  /// How a log begins, its first record the run's recipe (`Train.reportProgress`): a file at
  /// `--log` that begins otherwise is someone else's (`FileRoles.kinds`). A JSON object's
  /// brace alone let a run replace any JSON file, a user's requests or saved `--print-config`.
  static let firstBytes = Array(#"{"recipe":"#.utf8)

  let path: String
  let handle: FileHandle
  let encoder = JSONEncoder()
  /// Whether the file's old contents go at the first record.
  private var emptiesAtFirstRecord: Bool

  /// The claim on the file itself, once opened (and made, for a new one): a hard link to it
  /// is another name for this log (`OutputClaim`).
  private let claim: OutputClaim

  init(path: String, appending: Bool) throws {
    self.path = path
    handle = try openForStreaming(path, appending: true)
    claim = try OutputClaim(streamed: [path])
    emptiesAtFirstRecord = !appending && descriptorLink(path) == nil
    if appending, descriptorLink(path) == nil, let written = Self.contents(of: handle) {
      try dropTornRecord(of: written)
    }
    encoder.outputFormatting = [.sortedKeys]
    encoder.keyEncodingStrategy = .convertToSnakeCase
    // A diverging run is exactly what a log must show: non-finite values become strings.
    encoder.nonConformingFloatEncodingStrategy = .convertToString(
      positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
  }

  /// A regular file's contents, mapped; nil for a device, a FIFO or an empty file.
  private static func contents(of handle: FileHandle) -> Data? {
    var status = stat()
    guard fstat(handle.fileDescriptor, &status) == 0, status.st_mode & S_IFMT == S_IFREG,
      status.st_size > 0
    else { return nil }
    return try? Data(
      contentsOf: URL(fileURLWithPath: "/proc/self/fd/\(handle.fileDescriptor)"),
      options: .alwaysMapped)
  }

  /// Cuts off a last line without its line feed: a record a failed write (a full disk) left
  /// torn, which the resumed run writes again, and which the records after it joined.
  private func dropTornRecord(of written: Data) throws {
    guard written.last != 0x0A else { return }
    let kept = written.lastIndex(of: 0x0A).map { $0 + 1 - written.startIndex } ?? 0
    guard ftruncate(handle.fileDescriptor, off_t(kept)) == 0 else {
      throw TrellisError(file: path, "cannot be cut to its whole records: \(errnoText())")
    }
  }

  func write<Record: Encodable>(_ record: Record) throws {
    var line = try encoder.encode(record)
    line.append(0x0A)
    func failure() -> TrellisError { TrellisError(file: path, "cannot be written: \(errnoText())") }
    if emptiesAtFirstRecord {
      // A device or FIFO has nothing to empty, and refuses ftruncate.
      var status = stat()
      if fstat(handle.fileDescriptor, &status) == 0 && status.st_mode & S_IFMT == S_IFREG {
        guard ftruncate(handle.fileDescriptor, 0) == 0 else { throw failure() }
      }
      emptiesAtFirstRecord = false
    }
    do { try handle.write(contentsOf: line) } catch { throw failure() }
  }
}

/// What `--embeddings` read and how many of the data's distinct words it covers, e.g.
///   embeddings: glove.txt: GloVe text, 400000 vectors, 757 kept (scope data)
///   embeddings: 783 words in the data: 757 exact (96.7%), 0 lowercased (0.0%), 26 missing (3.3%)
func embeddingsReport(_ vectors: PretrainedEmbeddings, path: String) -> [String] {
  let coverage = vectors.coverage
  func share(_ count: Int, _ kind: String) -> String {
    let percent = 100 * Double(count) / Double(max(coverage.words, 1))
    return "\(count) \(kind) (" + String(format: "%.1f%%", percent) + ")"
  }
  let skipped = vectors.skippedVectorCount
  return [
    "embeddings: \(path): \(vectors.format), \(vectors.fileVectorCount) vectors, "
      + (skipped == 0 ? "" : "\(skipped) skipped (no token can match), ")
      + "\(vectors.keptVectorCount) kept (scope \(vectors.scope))",
    "embeddings: \(coverage.words) words in the data: \(share(coverage.exact, "exact")), "
      + "\(share(coverage.lowercased, "lowercased")), \(share(coverage.missing, "missing"))",
  ]
}

/// The last failed call's reason (EIO where errno says nothing).
private func errnoText() -> String { String(cString: strerror(errno == 0 ? EIO : errno)) }
