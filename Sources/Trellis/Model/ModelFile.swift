import Foundation

/// The model file: one self-describing binary file.
///
///   bytes 0..<8     magic "TRELLIS\0"
///   bytes 8..<12    format version, UInt32 little-endian
///   bytes 12..<16   header length `n`, UInt32 little-endian
///   next n bytes    header: JSON (sorted keys) with the configuration, vocabularies, labels,
///                   the parameter layout and (format 2 on) the model's `Provenance`
///   next 4·count    parameters, Float32 little-endian, in slab order
///   last 4 bytes    CRC-32 (IEEE) of everything before it
///
/// JSON keeps the header readable with `head -c`; the checksum tells a bit flip from a
/// truncation; the layout in the header lets a loader refuse a file whose shapes differ from the
/// model it rebuilds instead of reading garbage.
public enum ModelFile {
  package static let magic: [UInt8] = Array("TRELLIS\0".utf8)
  /// Bytes before the header (magic, version, header length) and after the parameters (CRC).
  static let preludeSize = 16
  static let checksumSize = 4
  /// The newest format this build writes and reads. Version 2 added the provenance; version 1
  /// files still load, without it. Version 3 is a model with stacked layers or feature columns
  /// (`writtenVersion(of:)`).
  public static let formatVersion: UInt32 = 3

  /// The version a file of a model of `configuration` is written in: the oldest that holds it,
  /// so that an older Trellis reads every model it can and refuses the rest as newer. Release
  /// 0.3.0 (format 2) ignored `layers` and `featureColumns`, and then called such a file's
  /// parameters a layout that does not match its configuration, as if it were damaged.
  static func writtenVersion(of configuration: TaggerConfiguration) -> UInt32 {
    configuration.layers > 1 || !configuration.featureColumns.isEmpty ? 3 : 2
  }

  /// Writes atomically: a temporary file in the same directory, then `rename(2)`, so a reader
  /// (or a crash) never sees half a model, and an existing model survives a failed write.
  /// Safe to call from several threads: the process's writes take turns. Refuses, before
  /// writing, what `trellis train --model` refuses: a file at `path` that is neither empty nor
  /// a model, a path through an open file descriptor (`/dev/fd/N`, `/dev/stdout`, which name
  /// whatever file the descriptor has open: the file a program read, or its redirected
  /// output, was replaced), a directory, device or FIFO, a missing directory. The weights are
  /// read from the model as they are written: a caller changing them meanwhile (another
  /// thread training it) writes a file of mixed weights, which may not load.
  public static func write(_ model: TaggerModel, to path: String) throws {
    var output = FileRoles()
    output.replaced = [("model", path)]
    output.kinds = ["model": (magic, "model")]
    try output.check()
    let encoding = try Encoding(model, name: path)
    try writeAtomically(to: path) { handle in
      try encoding.write { try handle.write(contentsOf: $0) }
    }
  }

  /// Reads a model, refusing truncated, corrupted, foreign and newer-version files. The header
  /// is read and checked first, so a foreign or damaged file is refused before its bulk is read.
  public static func read(from path: String) throws -> TaggerModel {
    let handle = try openRegularFile(path)
    defer { try? handle.close() }
    let descriptor = handle.fileDescriptor
    let size = Int((try? handle.seekToEnd()) ?? 0)
    try? handle.seek(toOffset: 0)
    let prelude = [UInt8](try handle.read(upToCount: preludeSize) ?? Data())
    let headerLength = try checkPrelude(
      prelude, fileSize: size, name: path,
      checksumMatches: fileChecksumMatches(descriptor, size: size))
    let headerBytes = try handle.read(upToCount: headerLength) ?? Data()
    // A header refused is damage when the checksum says so (a flipped bit), and a lie or a
    // format this build does not know when it does not.
    let layout: (header: Header, expectedSize: Int)
    do {
      layout = try checkHeader(headerBytes, headerLength: headerLength, name: path)
    } catch  where !fileChecksumMatches(descriptor, size: size) {
      throw TrellisError(file: path, "is corrupted (checksum mismatch)")
    }
    guard size == layout.expectedSize else {
      throw sizeMismatch(size, layout.expectedSize, name: path)
    }
    // The weights go from the file straight into the model's slab, checksummed as they are:
    // the whole file read into memory first, and copied, was twice a model's size at the
    // peak (a 10 M-parameter model's `tag` held 80 MB more).
    let model = try model(
      of: layout.header, formatVersion: readLittleEndian(prelude, at: 8), name: path)
    let weights = UnsafeMutableRawBufferPointer(
      start: model.store.values, count: 4 * model.store.count)
    var trailer = [UInt8](repeating: 0, count: 4)
    guard try readFully(handle, into: weights, name: path),
      try trailer.withUnsafeMutableBytes({ try readFully(handle, into: $0, name: path) })
    else {
      throw TrellisError(file: path, "is truncated (it shrank while it was read)")
    }
    var checksum = crc32(Data(prelude) + headerBytes)
    checksum = crc32(UnsafeRawBufferPointer(weights), continuing: checksum)
    guard checksum == readLittleEndian(trailer, at: 0) else {
      throw TrellisError(file: path, "is corrupted (checksum mismatch)")
    }
    if 1.littleEndian != 1 {
      for k in 0..<model.store.count {
        model.store.values[k] = Float(
          bitPattern: UInt32(littleEndian: model.store.values[k].bitPattern))
      }
    }
    return try finished(model, name: path)
  }

  /// Fills `buffer` from the file's next bytes; false when the file ends first.
  private static func readFully(
    _ handle: FileHandle, into buffer: UnsafeMutableRawBufferPointer, name: String
  ) throws -> Bool {
    var filled = 0
    while filled < buffer.count {
      let got = Glibc.read(
        handle.fileDescriptor, buffer.baseAddress! + filled, buffer.count - filled)
      if got < 0 && errno == EINTR { continue }
      guard got >= 0 else {
        throw TrellisError(file: name, "cannot be read: \(String(cString: strerror(errno)))")
      }
      if got == 0 { return false }
      filled += got
    }
    return true
  }

  /// A model of `header`'s layout, vocabularies and provenance, its weights zero.
  private static func model(of header: Header, formatVersion: UInt32, name: String) throws
    -> TaggerModel
  {
    let model: TaggerModel
    do {
      model = try TaggerModel(
        configuration: header.configuration, words: header.words, labels: header.labels,
        characters: header.characters ?? Vocabulary(), featureVocabularies: header.features ?? [])
    } catch let failure as ParameterStore.AllocationFailure {
      throw TrellisError(
        file: name, "needs \(failure.megabytes) MB for its weights, more than this system gives")
    }
    model.provenance = header.provenance
    model.formatVersion = formatVersion
    return model
  }

  /// `model` once its weights are in: derived tables rebuilt, non-finite weights refused.
  private static func finished(_ model: TaggerModel, name: String) throws -> TaggerModel {
    model.store.didChangeValues()
    guard model.store.valuesAreFinite() else {
      throw TrellisError(file: name, "has a non-finite weight")
    }
    return model
  }

  /// Rebuilds a model from the bytes `encode` made, refusing damaged, foreign and newer-version
  /// data as `read` does; `name` stands for the file in error messages.
  public static func decode(_ data: Data, name: String) throws -> TaggerModel {
    let bytes = [UInt8](data)
    let checksumMatches = trailingChecksumMatches(bytes)
    let headerLength = try checkPrelude(
      Array(bytes.prefix(preludeSize)), fileSize: bytes.count, name: name,
      checksumMatches: checksumMatches)
    let layout: (header: Header, expectedSize: Int)
    do {
      layout = try checkHeader(
        Data(bytes[preludeSize..<(preludeSize + headerLength)]), headerLength: headerLength,
        name: name)
    } catch  where !checksumMatches {
      throw TrellisError(file: name, "is corrupted (checksum mismatch)")
    }
    guard bytes.count == layout.expectedSize else {
      throw sizeMismatch(bytes.count, layout.expectedSize, name: name)
    }
    guard checksumMatches else {
      throw TrellisError(file: name, "is corrupted (checksum mismatch)")
    }
    let model = try model(
      of: layout.header, formatVersion: readLittleEndian(bytes, at: 8), name: name)
    readLittleEndian(
      bytes, at: preludeSize + headerLength,
      into: UnsafeMutableBufferPointer(start: model.store.values, count: model.store.count))
    return try finished(model, name: name)
  }

  /// Checks the prelude (magic, version, header length) against a file of `fileSize`
  /// bytes and returns the header length. A version or length refused is damage when the
  /// file's checksum says so (`checksumMatches`, asked only then): one flipped bit had a
  /// whole file called truncated, or written by a newer Trellis.
  private static func checkPrelude(
    _ prelude: [UInt8], fileSize: Int, name: String, checksumMatches: @autoclosure () -> Bool
  ) throws -> Int {
    guard fileSize > 0 else { throw TrellisError(file: name, "is empty (0 bytes), not a model") }
    guard prelude.count >= magic.count, Array(prelude[0..<magic.count]) == magic else {
      throw Array(prelude.prefix(Checkpoint.magic.count)) == Checkpoint.magic
        ? TrellisError(
          file: name,
          "is a training checkpoint, not a model: resume it (trellis train --resume), or give "
            + "the model the run wrote")
        : TrellisError(file: name, "is not a Trellis model file (bad magic number)")
    }
    guard prelude.count == preludeSize, fileSize >= preludeSize + checksumSize else {
      throw TrellisError(file: name, "is truncated (\(fileSize) bytes)")
    }
    let version = readLittleEndian(prelude, at: 8)
    let headerLength = Int(readLittleEndian(prelude, at: 12))
    let versionIsKnown = (1...formatVersion).contains(version)
    let sizes = "header says \(headerLength) bytes, file has \(fileSize)"
    guard versionIsKnown, preludeSize + headerLength + checksumSize <= fileSize else {
      guard checksumMatches() else {
        throw TrellisError(
          file: name,
          versionIsKnown
            ? "is truncated or corrupted (checksum mismatch; \(sizes))"
            : "is corrupted (checksum mismatch)")
      }
      guard versionIsKnown else {
        throw TrellisError(
          file: name,
          version == 0
            ? "has an invalid format version 0"
            : "was written by a newer Trellis (format version \(version); this build reads up "
              + "to \(formatVersion))")
      }
      throw TrellisError(file: name, "is truncated (\(sizes))")
    }
    return headerLength
  }

  /// The decoded header, checked: configuration in range, slot sizes without overflow, the
  /// layout the configuration implies, and the file size all of that implies.
  private static func checkHeader(_ headerBytes: Data, headerLength: Int, name: String) throws
    -> (header: Header, expectedSize: Int)
  {
    let header: Header
    let decoder = JSONDecoder()
    decoder.userInfo[.readsModelFile] = true
    do { header = try Header.decode(headerBytes, decoder: decoder) } catch {
      throw TrellisError(file: name, "has an unreadable header: \(error)")
    }
    // Sizes come from the file: check them with overflow in mind before trusting any of them.
    do { try header.configuration.validate() } catch let error as OptionError {
      throw TrellisError(
        file: name, "has an invalid configuration: \(error.option) \(error.message)")
    }
    // Whether the sizes fit the file is the caller's check (a truncated file says so); here
    // only that their sum and the file size it implies are numbers at all.
    var parameterCount = 0
    for slot in header.slots {
      let (count, overflow) = slot.rows.multipliedReportingOverflow(by: slot.columns)
      let (sum, sumOverflow) = parameterCount.addingReportingOverflow(count)
      guard slot.rows >= 0, slot.columns >= 0, !overflow, !sumOverflow, sum < Int.max / 8 else {
        throw TrellisError(file: name, "has an impossible parameter layout (slot \(slot.name))")
      }
      parameterCount = sum
    }
    let features = header.features ?? []
    // Tagging reads the reserved rows of every table it indexes (padding and unknown words,
    // padding and unknown characters, unknown feature values) without bounds checks.
    func hasReservedEntries(_ vocabulary: Vocabulary) -> Bool {
      vocabulary.id(for: ReservedWord.padding) == ReservedWord.paddingId
        && vocabulary.id(for: ReservedWord.unknown) == ReservedWord.unknownId
    }
    guard hasReservedEntries(header.words), header.labels.count > 0,
      header.configuration.characterFilters == 0
        || header.characters.map(hasReservedEntries) == true,
      features.count == header.configuration.featureColumns.count,
      features.allSatisfy({ $0.id(for: ReservedWord.unknown) == ReservedWord.unknownId })
    else { throw TrellisError(file: name, "has an invalid vocabulary") }
    // A label no CoNLL column can hold (a damaged or foreign file's, or one written before
    // training refused such labels) would add columns or lines to every output.
    if let label = header.labels.strings.first(where: { !TrainingData.fitsAColumn($0) }) {
      throw TrellisError(
        file: name, "has a label no CoNLL column can hold: \(RawJSON.string(label))")
    }
    // The layout the configuration implies must be the file's, before the model allocates it.
    guard
      TaggerModel.layout(
        configuration: header.configuration, wordCount: header.words.count,
        labelCount: header.labels.count,
        characterCount: header.characters?.count ?? 0, featureValueCounts: features.map(\.count))
        == header.slots
    else {
      throw TrellisError(file: name, "has a parameter layout that does not match its configuration")
    }
    return (header, preludeSize + headerLength + 4 * parameterCount + checksumSize)
  }

  private static func sizeMismatch(_ size: Int, _ expected: Int, name: String) -> TrellisError {
    TrellisError(
      file: name,
      size < expected
        ? "is truncated (\(size) of \(expected) bytes)"
        : "has \(size - expected) unexpected trailing bytes")
  }
}

func appendLittleEndian(_ value: UInt32, to data: inout Data) {
  withUnsafeBytes(of: value.littleEndian) { data.append(contentsOf: $0) }
}

func readLittleEndian(_ bytes: [UInt8], at offset: Int) -> UInt32 {
  UInt32(bytes[offset]) | UInt32(bytes[offset + 1]) << 8 | UInt32(bytes[offset + 2]) << 16
    | UInt32(bytes[offset + 3]) << 24
}

/// Fills `values` from little-endian Float32 bytes starting at `offset`: one copy on
/// little-endian hosts, as `appendLittleEndian` writes them, value by value otherwise.
func readLittleEndian(
  _ bytes: [UInt8], at offset: Int, into values: UnsafeMutableBufferPointer<Float>
) {
  precondition(offset + 4 * values.count <= bytes.count)
  if 1.littleEndian == 1 {
    bytes.withUnsafeBytes {
      UnsafeMutableRawBufferPointer(values).copyMemory(
        from: UnsafeRawBufferPointer(rebasing: $0[offset..<(offset + 4 * values.count)]))
    }
  } else {
    for k in values.indices {
      values[k] = Float(bitPattern: readLittleEndian(bytes, at: offset + 4 * k))
    }
  }
}

/// CRC-32 with the IEEE polynomial (reflected 0xEDB88320), as zlib and PNG compute it.
func crc32(_ data: Data) -> UInt32 {
  data.withUnsafeBytes { crc32($0) }
}

/// Whether the last 4 bytes of a model file or checkpoint hold the CRC-32 of the bytes before
/// them (computed in place, without copying the file).
func trailingChecksumMatches(_ bytes: [UInt8]) -> Bool {
  guard bytes.count >= 4 else { return false }
  return bytes.withUnsafeBytes { crc32(UnsafeRawBufferPointer(rebasing: $0.dropLast(4))) }
    == readLittleEndian(bytes, at: bytes.count - 4)
}

/// The CRC-32 of the bytes that gave `crc` followed by `bytes` (zlib's `crc32(crc, buf)`;
/// 0 for no bytes before), so a file written in pieces is checksummed without joining them.
/// Slicing by 8 (Kounavis & Berry 2005): eight bytes per step through eight tables,
/// `crc32Tables[k·256 + n]` being the CRC update of byte n followed by k zero bytes, instead of
/// eight dependent table lookups; then byte by byte for the rest. The same value as the
/// one-table loop (`CRC32Tests`), several times faster on a model file.
func crc32(_ bytes: UnsafeRawBufferPointer, continuing crc: UInt32 = 0) -> UInt32 {
  var crc = ~crc
  var i = 0
  crc32Tables.withUnsafeBufferPointer { table in
    func entry(_ k: Int, _ byte: UInt32) -> UInt32 { table[k << 8 | Int(byte & 0xFF)] }
    while i + 8 <= bytes.count {
      let low = crc ^ UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: i, as: UInt32.self))
      let high = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: i + 4, as: UInt32.self))
      crc =
        entry(7, low) ^ entry(6, low >> 8) ^ entry(5, low >> 16) ^ entry(4, low >> 24)
        ^ entry(3, high) ^ entry(2, high >> 8) ^ entry(1, high >> 16) ^ entry(0, high >> 24)
      i += 8
    }
    for byte in bytes[i...] { crc = entry(0, crc ^ UInt32(byte)) ^ (crc >> 8) }
  }
  return ~crc
}

/// Table 0: the CRC update of one byte (polynomial 0xEDB88320, reflected); table k: of one byte
/// followed by k zero bytes, `t_k[n] = (t_{k−1}[n] >> 8) ^ t_0[t_{k−1}[n] & 0xFF]`.
private let crc32Tables: [UInt32] = {
  var table = (0..<256).map { n in
    var c = UInt32(n)
    for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
    return c
  }
  for k in 1..<8 {
    for n in 0..<256 {
      let previous = table[(k - 1) * 256 + n]
      table.append((previous >> 8) ^ table[Int(previous & 0xFF)])
    }
  }
  return table
}()
