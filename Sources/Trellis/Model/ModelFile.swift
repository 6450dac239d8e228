import Foundation

/// The model file: one self-describing binary file.
///
///   bytes 0..<8     magic "TRELLIS\0"
///   bytes 8..<12    format version, UInt32 little-endian
///   bytes 12..<16   header length `n`, UInt32 little-endian
///   next n bytes    header: JSON (sorted keys) with the configuration, vocabularies, labels and
///                   the parameter layout
///   next 4·count    parameters, Float32 little-endian, in slab order
///   last 4 bytes    CRC-32 (IEEE) of everything before it
///
/// JSON keeps the header readable with `head -c`; the checksum tells a bit flip from a
/// truncation; the layout in the header lets a loader refuse a file whose shapes differ from the
/// model it rebuilds instead of reading garbage.
public enum ModelFile {
  static let magic: [UInt8] = Array("TRELLIS\0".utf8)
  /// The newest format this build writes and reads.
  public static let formatVersion: UInt32 = 1

  struct Header: Codable {
    var configuration: TaggerConfiguration
    var words: Vocabulary
    var labels: Vocabulary
    /// The character CNN's characters; absent without one.
    var characters: Vocabulary?
    var slots: [ParameterSlot]
  }

  /// The file's bytes for `model`; the same model gives the same bytes.
  public static func encode(_ model: TaggerModel, name: String = "model") throws -> Data {
    guard model.store.valuesAreFinite() else {
      throw TrellisError(file: name, "would hold a non-finite weight; refusing to write it")
    }
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    let header = try encoder.encode(
      Header(
        configuration: model.configuration, words: model.words, labels: model.labels,
        characters: model.characters.count > 0 ? model.characters : nil, slots: model.store.slots))
    var data = Data(magic)
    appendLittleEndian(formatVersion, to: &data)
    appendLittleEndian(UInt32(header.count), to: &data)
    data.append(header)
    let store = model.store
    appendLittleEndian(UnsafeBufferPointer(start: store.values, count: store.count), to: &data)
    appendLittleEndian(crc32(data), to: &data)
    return data
  }

  /// Writes atomically: a temporary file in the same directory, then `rename(2)`, so a reader
  /// (or a crash) never sees half a model, and an existing model survives a failed write.
  public static func write(_ model: TaggerModel, to path: String) throws {
    try writeAtomically(try encode(model, name: path), to: path)
  }

  /// Reads a model, refusing truncated, corrupted, foreign and newer-version files.
  public static func read(from path: String) throws -> TaggerModel {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue
    else { throw TrellisError(file: path, isDirectory.boolValue ? "is a directory, not a model file" : "no such model file") }
    guard let data = FileManager.default.contents(atPath: path) else {
      throw TrellisError(file: path, "cannot be read (permissions?)")
    }
    return try decode(data, name: path)
  }

  public static func decode(_ data: Data, name: String) throws -> TaggerModel {
    let bytes = [UInt8](data)
    guard bytes.count >= magic.count, Array(bytes[0..<magic.count]) == magic else {
      throw TrellisError(file: name, "is not a Trellis model file (bad magic number)")
    }
    guard bytes.count >= 20 else { throw TrellisError(file: name, "is truncated (\(bytes.count) bytes)") }
    let version = readLittleEndian(bytes, at: 8)
    guard version <= formatVersion else {
      throw TrellisError(
        file: name,
        "was written by a newer Trellis (format version \(version); this build reads up to \(formatVersion))")
    }
    guard version >= 1 else { throw TrellisError(file: name, "has an invalid format version \(version)") }
    let headerLength = Int(readLittleEndian(bytes, at: 12))
    guard 16 + headerLength + 4 <= bytes.count else {
      throw TrellisError(file: name, "is truncated (header says \(headerLength) bytes, file has \(bytes.count))")
    }
    let storedChecksum = readLittleEndian(bytes, at: bytes.count - 4)
    let header: Header
    do {
      header = try JSONDecoder().decode(Header.self, from: Data(bytes[16..<(16 + headerLength)]))
    } catch {
      let corrupted = crc32(Data(bytes[0..<(bytes.count - 4)])) != storedChecksum
      throw TrellisError(file: name, corrupted ? "is corrupted (checksum mismatch)" : "has an unreadable header: \(error)")
    }
    // Sizes come from the file: check them with overflow in mind before trusting any of them.
    do { try header.configuration.validate() } catch let error as OptionError {
      throw TrellisError(file: name, "has an invalid configuration: \(error.option) \(error.message)")
    }
    var parameterCount = 0
    for slot in header.slots {
      let (count, overflow) = slot.rows.multipliedReportingOverflow(by: slot.columns)
      guard slot.rows >= 0, slot.columns >= 0, !overflow, count <= bytes.count / 4 else {
        throw TrellisError(file: name, "has an impossible parameter layout (slot \(slot.name))")
      }
      parameterCount += count
    }
    let expectedSize = 16 + headerLength + 4 * parameterCount + 4
    guard bytes.count == expectedSize else {
      throw TrellisError(
        file: name,
        bytes.count < expectedSize
          ? "is truncated (\(bytes.count) of \(expectedSize) bytes)"
          : "has \(bytes.count - expectedSize) unexpected trailing bytes")
    }
    guard crc32(Data(bytes[0..<(bytes.count - 4)])) == storedChecksum else {
      throw TrellisError(file: name, "is corrupted (checksum mismatch)")
    }
    guard header.words.id(for: ReservedWord.padding) == ReservedWord.paddingId,
      header.words.id(for: ReservedWord.unknown) == ReservedWord.unknownId, header.labels.count > 0
    else { throw TrellisError(file: name, "has an invalid vocabulary") }
    // The layout the configuration implies must be the file's, before the model allocates it.
    guard
      TaggerModel.layout(
        configuration: header.configuration, wordCount: header.words.count, labelCount: header.labels.count,
        characterCount: header.characters?.count ?? 0) == header.slots
    else {
      throw TrellisError(file: name, "has a parameter layout that does not match its configuration")
    }
    let model = TaggerModel(
      configuration: header.configuration, words: header.words, labels: header.labels,
      characters: header.characters ?? Vocabulary())
    let start = 16 + headerLength
    for k in 0..<parameterCount {
      model.store.values[k] = Float(bitPattern: readLittleEndian(bytes, at: start + 4 * k))
    }
    model.store.didChangeValues()
    guard model.store.valuesAreFinite() else { throw TrellisError(file: name, "has a non-finite weight") }
    return model
  }
}

/// Writes `data` to a temporary file beside `path`, flushes it, and renames it over `path`.
func writeAtomically(_ data: Data, to path: String) throws {
  let url = URL(fileURLWithPath: path)
  let temporary = url.deletingLastPathComponent()
    .appendingPathComponent(".\(url.lastPathComponent).\(ProcessInfo.processInfo.processIdentifier).tmp")
  do {
    try data.write(to: temporary)
    let handle = try FileHandle(forWritingTo: temporary)
    try handle.synchronize()
    try handle.close()
    guard rename(temporary.path, url.path) == 0 else {
      throw TrellisError(file: path, "cannot be replaced: \(String(cString: strerror(errno)))")
    }
  } catch let error as TrellisError {
    try? FileManager.default.removeItem(at: temporary)
    throw error
  } catch {
    try? FileManager.default.removeItem(at: temporary)
    throw TrellisError(file: path, "cannot be written: \(error.localizedDescription)")
  }
}

func appendLittleEndian(_ value: UInt32, to data: inout Data) {
  withUnsafeBytes(of: value.littleEndian) { data.append(contentsOf: $0) }
}

func readLittleEndian(_ bytes: [UInt8], at offset: Int) -> UInt32 {
  UInt32(bytes[offset]) | UInt32(bytes[offset + 1]) << 8 | UInt32(bytes[offset + 2]) << 16
    | UInt32(bytes[offset + 3]) << 24
}

/// Appends Floats as little-endian Float32: the raw bytes in one copy on little-endian hosts
/// (every platform Swift runs on today), value by value otherwise.
func appendLittleEndian(_ values: UnsafeBufferPointer<Float>, to data: inout Data) {
  if 1.littleEndian == 1 {
    data.append(UnsafeBufferPointer(start: UnsafeRawPointer(values.baseAddress)?.assumingMemoryBound(to: UInt8.self), count: values.count * 4))
  } else {
    for value in values { appendLittleEndian(value.bitPattern, to: &data) }
  }
}

/// CRC-32 with the IEEE polynomial (reflected 0xEDB88320), as zlib and PNG compute it.
func crc32(_ data: Data) -> UInt32 {
  var crc: UInt32 = 0xFFFF_FFFF
  data.withUnsafeBytes { bytes in
    crc32Table.withUnsafeBufferPointer { table in
      for byte in bytes { crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
    }
  }
  return crc ^ 0xFFFF_FFFF
}

private let crc32Table: [UInt32] = (0..<256).map { n in
  var c = UInt32(n)
  for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
  return c
}
