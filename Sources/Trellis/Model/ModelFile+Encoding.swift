import Foundation

extension ModelFile {
  /// The file's bytes for `model`; the same model gives the same bytes.
  public static func encode(_ model: TaggerModel, name: String = "model") throws -> Data {
    let encoding = try Encoding(model, name: name)
    var data = Data(capacity: encoding.size)
    encoding.write { data.append(contentsOf: $0) }
    return data
  }

  /// A model's file before it is written: its prelude and header encoded, its weights read
  /// from the model's store as they are written. Writes stream the weights from there: each
  /// model and checkpoint write used to encode the whole file first, a copy of the weights
  /// that was the largest block a training of a large model allocated after its workspaces
  /// (one of 72 M parameters under `ulimit -v 4000000` ended there with a trap).
  struct Encoding {
    private let model: TaggerModel
    /// Magic, format version, header length and header.
    private let prelude: Data

    /// The file's size in bytes.
    var size: Int { prelude.count + 4 * model.store.count + checksumSize }

    /// Refuses a model with a non-finite weight, whose file would not load.
    init(_ model: TaggerModel, name: String) throws {
      guard model.store.valuesAreFinite() else {
        throw TrellisError(file: name, "would hold a non-finite weight; refusing to write it")
      }
      let encoder = JSONEncoder()
      encoder.outputFormatting = [.sortedKeys]
      let header = try encoder.encode(
        Header(
          configuration: model.configuration, words: model.words, labels: model.labels,
          characters: model.characters.count > 0 ? model.characters : nil,
          features: model.featureVocabularies.isEmpty ? nil : model.featureVocabularies,
          slots: model.store.slots,
          provenance: model.provenance))
      var prelude = Data(magic)
      appendLittleEndian(writtenVersion(of: model.configuration), to: &prelude)
      appendLittleEndian(UInt32(header.count), to: &prelude)
      prelude.append(header)
      (self.model, self.prelude) = (model, prelude)
    }

    /// Passes the file's bytes to `write`, in order, in a few pieces.
    func write(_ write: (UnsafeRawBufferPointer) throws -> Void) rethrows {
      var crc = crc32(prelude)
      try prelude.withUnsafeBytes(write)
      let values = UnsafeBufferPointer(start: model.store.values, count: model.store.count)
      try withLittleEndianBytes(of: values) { bytes in
        crc = crc32(bytes, continuing: crc)
        try write(bytes)
      }
      try withUnsafeBytes(of: crc.littleEndian, write)
    }
  }
}

/// Passes `values` to `body` as little-endian Float32 bytes: their own bytes, at once, on
/// little-endian hosts (every platform Swift runs on today); converted a megabyte at a time
/// otherwise.
func withLittleEndianBytes(
  of values: UnsafeBufferPointer<Float>, _ body: (UnsafeRawBufferPointer) throws -> Void
) rethrows {
  guard 1.littleEndian != 1 else { return try body(UnsafeRawBufferPointer(values)) }
  let piece = 1 << 18
  var converted = [UInt32](repeating: 0, count: min(piece, values.count))
  for start in stride(from: 0, to: values.count, by: piece) {
    let count = min(piece, values.count - start)
    for k in 0..<count { converted[k] = values[start + k].bitPattern.littleEndian }
    try converted.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[..<(4 * count)])) }
  }
}
