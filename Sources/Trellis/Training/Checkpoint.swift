import Foundation

/// The checkpoint file, written after every epoch:
///
///   bytes 0..<8   magic "TRELLCKP"
///   bytes 8..<12  format version, UInt32 little-endian
///   then          a UInt32-length-prefixed JSON header (options, counters, random state, which
///                 arrays follow), a UInt32-length-prefixed model file (`ModelFile`, with its
///                 own checksum), the arrays as Float32, each `count` long: the
///                 optimiser's slabs (`OptimizerState`), then the best parameters if any
///   last 4 bytes  CRC-32 of everything before it
package enum Checkpoint {
  package static let magic: [UInt8] = Array("TRELLCKP".utf8)
  /// Version 3: runs may have settings that release 0.3.0, which wrote and read version 2,
  /// would resume without a word (annealing, variational dropout, frozen embeddings) or take
  /// for a damaged file (stacked layers, feature columns). This build resumes both versions.
  static let formatVersion: UInt32 = 3
  static let readVersions: ClosedRange<UInt32> = 2...formatVersion

  /// Whether the file at `path` (through a symbolic link, its target) is a regular file that
  /// begins as a checkpoint; a FIFO is not opened, which would wait for a writer.
  package static func isCheckpoint(atPath path: String) -> Bool {
    var info = stat()
    guard stat(path, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { return false }
    return leadingBytes(of: path, count: magic.count) == magic
  }

  struct Header: Codable {
    var options: TrainingOptions
    var completedEpochs: Int
    var step: Int
    var rngState: UInt64
    var optimizerCounters: [Int]
    var optimizerSlabCount: Int
    var bestF1: Double?
    var hasBest: Bool
    var epochsWithoutImprovement: Int
    var record: TrainingRecord?
    /// Absent from checkpoints of runs without frozen rows.
    var frozenEmbeddingRows: [Int]?
    /// `TrainingState.devSHA256` and `trainSHA256`; absent from checkpoints written before
    /// they were recorded.
    var devSHA256: String?
    var trainSHA256: String?
    /// `TrainingState.bestModelWaitsForTheEnd`; absent where false.
    var bestModelWaitsForTheEnd: Bool?
    /// `TrainingState.updatesBeforeStopping`; absent from checkpoints of versions that did
    /// not wait.
    var updatesBeforeStopping: Int?

    /// Sets `state`'s counters, record, digests and flags as the header holds them.
    func counters(into state: inout TrainingState) {
      state.epochsWithoutImprovement = epochsWithoutImprovement
      state.record = record ?? TrainingRecord()
      (state.devSHA256, state.trainSHA256) = (devSHA256, trainSHA256)
      state.frozenEmbeddingRows = frozenEmbeddingRows ?? []
      state.bestModelWaitsForTheEnd = bestModelWaitsForTheEnd ?? false
      state.updatesBeforeStopping = updatesBeforeStopping ?? 0
    }
  }

  static func write(
    model: TaggerModel, state: TrainingState, options: TrainingOptions, to path: String
  ) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    let optimizer = state.optimizer.state
    let header = try encoder.encode(
      Header(
        options: options, completedEpochs: state.completedEpochs, step: state.step,
        rngState: state.rng.state,
        optimizerCounters: optimizer.counters, optimizerSlabCount: optimizer.slabs.count,
        bestF1: state.bestF1,
        hasBest: !state.bestValues.isEmpty,
        epochsWithoutImprovement: state.epochsWithoutImprovement, record: state.record,
        frozenEmbeddingRows: state.frozenEmbeddingRows.isEmpty ? nil : state.frozenEmbeddingRows,
        devSHA256: state.devSHA256, trainSHA256: state.trainSHA256,
        bestModelWaitsForTheEnd: state.bestModelWaitsForTheEnd ? true : nil,
        updatesBeforeStopping: state.updatesBeforeStopping))
    let modelFile = try ModelFile.Encoding(model, name: path)
    guard let modelSize = UInt32(exactly: modelFile.size) else {
      throw TrellisError(
        file: path, "cannot hold a model file of \(modelFile.size) bytes (its field holds 4 GiB)")
    }
    var prefix = Data(magic)
    appendLittleEndian(formatVersion, to: &prefix)
    appendLittleEndian(UInt32(header.count), to: &prefix)
    prefix.append(header)
    appendLittleEndian(modelSize, to: &prefix)
    // Written piece by piece, each array from where it is: joined first, the checkpoint was the
    // largest block a training run allocated after its workspaces.
    try writeAtomically(to: path) { handle in
      var crc: UInt32 = 0
      func write(_ bytes: UnsafeRawBufferPointer) throws {
        crc = crc32(bytes, continuing: crc)
        try handle.write(contentsOf: bytes)
      }
      try prefix.withUnsafeBytes(write)
      try modelFile.write(write)
      for array in optimizer.slabs + [state.bestValues] {
        try array.withUnsafeBufferPointer { try withLittleEndianBytes(of: $0, write) }
      }
      try withUnsafeBytes(of: crc.littleEndian, write)
    }
  }

  static func read(from path: String) throws -> (TaggerModel, TrainingState, TrainingOptions) {
    guard let data = FileManager.default.contents(atPath: path) else {
      throw TrellisError(file: path, "cannot be read: no checkpoint to resume from")
    }
    let bytes = [UInt8](data)
    try checkPrelude(bytes, path: path)
    var offset = 12
    func chunk() throws -> Data {
      guard offset + 4 <= bytes.count else { throw TrellisError(file: path, "is truncated") }
      let length = Int(readLittleEndian(bytes, at: offset))
      guard offset + 4 + length <= bytes.count else {
        throw TrellisError(file: path, "is truncated")
      }
      defer { offset += 4 + length }
      return Data(bytes[(offset + 4)..<(offset + 4 + length)])
    }
    let header: Header
    do { header = try JSONDecoder().decode(Header.self, from: try chunk()) } catch let error
      as TrellisError
    {
      throw error
    } catch {
      throw TrellisError(file: path, "has an unreadable header: \(error)")
    }
    try check(header, path: path)
    let model = try ModelFile.decode(try chunk(), name: path)
    let count = model.store.count
    func floats() throws -> [Float] {
      guard offset + 4 * count <= bytes.count - 4 else {
        throw TrellisError(file: path, "is truncated")
      }
      defer { offset += 4 * count }
      return (0..<count).map { Float(bitPattern: readLittleEndian(bytes, at: offset + 4 * $0)) }
    }
    var state = try TrainingState(
      rng: SplitMix64(seed: header.rngState), model: model, options: header.options)
    state.completedEpochs = header.completedEpochs
    state.step = header.step
    let expected = state.optimizer.state
    guard header.optimizerCounters.count == expected.counters.count,
      header.optimizerSlabCount == expected.slabs.count
    else { throw TrellisError(file: path, "holds optimiser state that does not match its options") }
    state.optimizer.state = OptimizerState(
      counters: header.optimizerCounters,
      slabs: try (0..<header.optimizerSlabCount).map { _ in try floats() })
    state.bestF1 = header.bestF1
    state.bestValues = header.hasBest ? try floats() : []
    guard offset == bytes.count - 4 else {
      throw TrellisError(file: path, "has \(bytes.count - 4 - offset) unexpected trailing bytes")
    }
    header.counters(into: &state)
    guard state.frozenEmbeddingRows.allSatisfy({ (0..<model.words.count).contains($0) }) else {
      throw TrellisError(file: path, "freezes embedding rows the model does not have")
    }
    return (model, state, header.options)
  }

  /// Options in range, and counters too: they only grow by one at a time, and beyond 2⁵³ (more
  /// steps than any run takes, and the largest whole number Adam's Double bias corrections
  /// hold exactly) the next `+= 1` could overflow and trap.
  private static func check(_ header: Header, path: String) throws {
    do { try header.options.validate() } catch let error as OptionError {
      throw TrellisError(file: path, "holds an invalid option: \(error.description)")
    }
    let counters =
      [header.completedEpochs, header.step, header.epochsWithoutImprovement]
      + header.optimizerCounters
    guard counters.allSatisfy({ (0...(1 << 53)).contains($0) }) else {
      throw TrellisError(file: path, "holds a counter that is negative or beyond 2^53")
    }
  }

  /// Magic number, checksum and format version: the checksum first, so a damaged version
  /// field is damage, not a run to throw away as another version's.
  private static func checkPrelude(_ bytes: [UInt8], path: String) throws {
    guard !bytes.isEmpty else { throw TrellisError(file: path, "is empty (0 bytes)") }
    // The magic, the version and the header's length are the least a checkpoint holds.
    guard bytes.count >= magic.count + 8, Array(bytes.prefix(magic.count)) == magic else {
      throw Array(bytes.prefix(ModelFile.magic.count)) == ModelFile.magic
        ? TrellisError(
          file: path, "is a model, not a training checkpoint (--checkpoint names the checkpoint)")
        : Array(bytes.prefix(magic.count)) == magic
          ? TrellisError(file: path, "is truncated (\(bytes.count) bytes)")
          : TrellisError(file: path, "is not a Trellis checkpoint (bad magic number)")
    }
    guard trailingChecksumMatches(bytes) else {
      throw TrellisError(file: path, "is truncated or corrupted (checksum mismatch)")
    }
    guard readVersions.contains(readLittleEndian(bytes, at: 8)) else {
      throw TrellisError(
        file: path, "was written by another Trellis version; start training afresh")
    }
  }
}
