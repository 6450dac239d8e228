import Foundation
import Trellis

/// Appends one JSON object per line; a line per epoch (and per step with --log-steps). Opened
/// like any tool's log (truncated in place, so /dev/null stays a device), or after its end
/// for a resumed run, which then continues its interrupted run's log; a failed write throws,
/// which stops training with the log's name in the message.
final class JSONLinesLog {
  /// A JSON object's first byte, which a log begins with (as does `bench --json`'s report): a
  /// file at `--log` that begins otherwise is someone else's (`FileRoles.kinds`).
  static let firstBytes = Array("{".utf8)

  let path: String
  let handle: FileHandle
  let encoder = JSONEncoder()

  init(path: String, appending: Bool) throws {
    self.path = path
    handle = try openForStreaming(path, appending: appending)
    encoder.outputFormatting = [.sortedKeys]
    encoder.keyEncodingStrategy = .convertToSnakeCase
    // A diverging run is exactly what a log must show: non-finite values become strings.
    encoder.nonConformingFloatEncodingStrategy = .convertToString(
      positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
  }

  func write<Record: Encodable>(_ record: Record) throws {
    var line = try encoder.encode(record)
    line.append(0x0A)
    do { try handle.write(contentsOf: line) } catch {
      throw TrellisError(
        file: path, "cannot be written: \(String(cString: strerror(errno == 0 ? EIO : errno)))")
    }
  }
}

/// What `--embeddings` read and how many of the data's distinct words it covers, e.g.
///   embeddings: glove.txt: GloVe text, 400000 vectors, 757 kept (scope data)
///   embeddings: 783 words in the data: 757 exact (96.7%), 0 lowercased (0.0%), 26 missing (3.3%)
func embeddingsReport(_ vectors: PretrainedEmbeddings, path: String) -> String {
  let coverage = vectors.coverage
  func share(_ count: Int, _ kind: String) -> String {
    let percent = 100 * Double(count) / Double(max(coverage.words, 1))
    return "\(count) \(kind) (" + String(format: "%.1f%%", percent) + ")"
  }
  let skipped = vectors.skippedVectorCount
  return "embeddings: \(path): \(vectors.format), \(vectors.fileVectorCount) vectors, "
    + (skipped == 0 ? "" : "\(skipped) skipped (no token can match), ")
    + "\(vectors.keptVectorCount) kept (scope \(vectors.scope))\n"
    + "embeddings: \(coverage.words) words in the data: \(share(coverage.exact, "exact")), "
    + "\(share(coverage.lowercased, "lowercased")), \(share(coverage.missing, "missing"))"
}
