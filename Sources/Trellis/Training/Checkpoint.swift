import Foundation

/// Everything training needs to continue exactly where it stopped: with these and the model's
/// parameters, epoch e+1 after a resume draws the same random numbers and makes the same
/// updates as in an uninterrupted run.
struct TrainingState {
  var completedEpochs = 0
  var step = 0
  var updates = 0
  var rng: SplitMix64
  /// Adam's moments; nil when training with SGD, which has no state.
  var adam: Adam?
  /// The running parameter average (`--average`), else empty.
  var average: [Float]
  var bestF1: Double?
  /// The parameters of the best epoch so far, else empty.
  var bestValues: [Float] = []
  var epochsWithoutImprovement = 0

  init(rng: SplitMix64, model: TaggerModel, options: TrainingOptions) {
    self.rng = rng
    adam = options.optimizer == .adam ? Adam(parameterCount: model.store.count) : nil
    average = options.average ? model.store.snapshot() : []
  }
}

/// The checkpoint file, written after every epoch:
///
///   bytes 0..<8   magic "TRELLCKP"
///   bytes 8..<12  format version, UInt32 little-endian
///   then          a UInt32-length-prefixed JSON header (options, counters, random state, which
///                 arrays follow), a UInt32-length-prefixed model file (`ModelFile`, with its
///                 own checksum), the arrays as Float32 (Adam m and v, average, best
///                 parameters; each `count` long where present)
///   last 4 bytes  CRC-32 of everything before it
enum Checkpoint {
  static let magic: [UInt8] = Array("TRELLCKP".utf8)
  static let formatVersion: UInt32 = 1

  struct Header: Codable {
    var options: TrainingOptions
    var completedEpochs: Int
    var step: Int
    var updates: Int
    var rngState: UInt64
    var adamStepCount: Int?
    var hasAverage: Bool
    var bestF1: Double?
    var hasBest: Bool
    var epochsWithoutImprovement: Int
  }

  static func write(model: TaggerModel, state: TrainingState, options: TrainingOptions, to path: String) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    let header = try encoder.encode(
      Header(
        options: options, completedEpochs: state.completedEpochs, step: state.step, updates: state.updates,
        rngState: state.rng.state, adamStepCount: state.adam?.stepCount, hasAverage: !state.average.isEmpty,
        bestF1: state.bestF1, hasBest: !state.bestValues.isEmpty,
        epochsWithoutImprovement: state.epochsWithoutImprovement))
    let modelBytes = try ModelFile.encode(model, name: path)
    var data = Data(magic)
    appendLittleEndian(formatVersion, to: &data)
    appendLittleEndian(UInt32(header.count), to: &data)
    data.append(header)
    appendLittleEndian(UInt32(modelBytes.count), to: &data)
    data.append(modelBytes)
    for array in [state.adam?.m ?? [], state.adam?.v ?? [], state.average, state.bestValues] {
      array.withUnsafeBufferPointer { appendLittleEndian($0, to: &data) }
    }
    appendLittleEndian(crc32(data), to: &data)
    try writeAtomically(data, to: path)
  }

  static func read(from path: String) throws -> (TaggerModel, TrainingState, TrainingOptions) {
    guard let data = FileManager.default.contents(atPath: path) else {
      throw TrellisError(file: path, "cannot be read: no checkpoint to resume from")
    }
    let bytes = [UInt8](data)
    guard bytes.count >= 16, Array(bytes[0..<8]) == magic else {
      throw TrellisError(file: path, "is not a Trellis checkpoint (bad magic number)")
    }
    guard readLittleEndian(bytes, at: 8) <= formatVersion else {
      throw TrellisError(file: path, "was written by a newer Trellis")
    }
    guard crc32(Data(bytes[0..<(bytes.count - 4)])) == readLittleEndian(bytes, at: bytes.count - 4) else {
      throw TrellisError(file: path, "is truncated or corrupted (checksum mismatch)")
    }
    var offset = 12
    func chunk() throws -> Data {
      guard offset + 4 <= bytes.count else { throw TrellisError(file: path, "is truncated") }
      let length = Int(readLittleEndian(bytes, at: offset))
      guard offset + 4 + length <= bytes.count else { throw TrellisError(file: path, "is truncated") }
      defer { offset += 4 + length }
      return Data(bytes[(offset + 4)..<(offset + 4 + length)])
    }
    let header = try JSONDecoder().decode(Header.self, from: try chunk())
    let model = try ModelFile.decode(try chunk(), name: path)
    let count = model.store.count
    func floats() throws -> [Float] {
      guard offset + 4 * count <= bytes.count - 4 else { throw TrellisError(file: path, "is truncated") }
      defer { offset += 4 * count }
      return (0..<count).map { Float(bitPattern: readLittleEndian(bytes, at: offset + 4 * $0)) }
    }
    var state = TrainingState(rng: SplitMix64(seed: header.rngState), model: model, options: header.options)
    state.completedEpochs = header.completedEpochs
    state.step = header.step
    state.updates = header.updates
    if let stepCount = header.adamStepCount {
      var adam = Adam(parameterCount: count)
      adam.m = try floats()
      adam.v = try floats()
      adam.stepCount = stepCount
      state.adam = adam
    }
    state.average = header.hasAverage ? try floats() : []
    state.bestF1 = header.bestF1
    state.bestValues = header.hasBest ? try floats() : []
    state.epochsWithoutImprovement = header.epochsWithoutImprovement
    return (model, state, header.options)
  }
}
