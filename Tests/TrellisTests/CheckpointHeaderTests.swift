import Foundation
import XCTest

@testable import Trellis

/// A checkpoint whose checksum is right but whose header lies (a hand-edited or foreign file)
/// is refused with a message naming it, before its counters or rows are used.
final class CheckpointHeaderTests: XCTestCase {
  /// The checkpoint after one epoch on the tiny corpus, frozen rows included.
  func checkpoint() throws -> [UInt8] {
    let path = temporaryPath("header.checkpoint")
    try? FileManager.default.removeItem(atPath: path)
    var configuration = TaggerConfiguration()
    (configuration.embeddingSize, configuration.hiddenSize) = (4, 4)
    var options = TrainingOptions()
    options.epochs = 1
    _ = try Trainer(configuration: configuration, options: options).train(
      train: try readLabelledCoNLL(path: fixture("train.conll")), dev: [], checkpoint: path)
    return Array(try Data(contentsOf: URL(fileURLWithPath: path)))
  }

  /// `bytes` with its JSON header's `key` set to `value` and the checksum made right again.
  func withHeader(_ bytes: [UInt8], _ key: String, _ value: Any) throws -> String {
    let length = Int(readLittleEndian(bytes, at: 12))
    var header = try XCTUnwrap(
      JSONSerialization.jsonObject(with: Data(bytes[16..<16 + length])) as? [String: Any])
    header[key] = value
    let edited = try JSONSerialization.data(withJSONObject: header)
    var data = Data(bytes[0..<12])
    appendLittleEndian(UInt32(edited.count), to: &data)
    data.append(edited)
    data.append(contentsOf: bytes[(16 + length)..<(bytes.count - 4)])
    appendLittleEndian(crc32(data), to: &data)
    let path = temporaryPath("edited-\(key).checkpoint")
    try data.write(to: URL(fileURLWithPath: path))
    return path
  }

  /// An epoch is told (`onEpoch`, the log's record) before its checkpoint is written: a run
  /// stopped between the two lost the epoch's record for good, its resumed run starting after
  /// it. So each report finds the checkpoint of the epoch before it on disk.
  func testAnEpochIsToldBeforeItsCheckpointIsWritten() throws {
    let path = temporaryPath("told.checkpoint")
    try? FileManager.default.removeItem(atPath: path)
    var configuration = TaggerConfiguration()
    (configuration.embeddingSize, configuration.hiddenSize) = (4, 4)
    var options = TrainingOptions()
    options.epochs = 3
    let trainer = Trainer(configuration: configuration, options: options)
    var checkpointed: [Int] = []
    trainer.onEpoch = { _ in
      checkpointed.append(
        FileManager.default.fileExists(atPath: path)
          ? try Checkpoint.read(from: path).1.completedEpochs : 0)
    }
    _ = try trainer.train(
      train: try readLabelledCoNLL(path: fixture("train.conll")), dev: [], checkpoint: path)
    XCTAssertEqual(checkpointed, [0, 1, 2])
    XCTAssertEqual(try Checkpoint.read(from: path).1.completedEpochs, 3)
  }

  /// Checkpoints are version 3, which release 0.3.0 refuses as "written by another Trellis
  /// version" (it resumed a run whose settings it did not know, or took stacked layers for a
  /// damaged file); this build still resumes version 2, and refuses others.
  func testCheckpointsAreVersion3AndVersion2StillResumes() throws {
    let bytes = try checkpoint()
    XCTAssertEqual(readLittleEndian(bytes, at: 8) as UInt32, 3)
    func read(version: UInt32) throws {
      var data = Data(bytes[0..<8])
      appendLittleEndian(version, to: &data)
      data.append(contentsOf: bytes[12..<(bytes.count - 4)])
      appendLittleEndian(crc32(data), to: &data)
      let path = temporaryPath("version-\(version).checkpoint")
      try data.write(to: URL(fileURLWithPath: path))
      _ = try Checkpoint.read(from: path)
    }
    XCTAssertNoThrow(try read(version: 2))
    XCTAssertNoThrow(try read(version: 3))
    for version: UInt32 in [1, 4] {
      XCTAssertThrowsError(try read(version: version)) {
        XCTAssertTrue("\($0)".contains("written by another Trellis version"), "\($0)")
      }
    }
    // The same version field damaged, its checksum left as it was: a flipped bit, not a run
    // to start afresh; and a model given for a checkpoint says so.
    var damaged = Data(bytes)
    damaged[8] ^= 4
    let path = temporaryPath("damaged.checkpoint")
    try damaged.write(to: URL(fileURLWithPath: path))
    XCTAssertThrowsError(try Checkpoint.read(from: path)) {
      XCTAssertTrue("\($0)".hasSuffix("is truncated or corrupted (checksum mismatch)"), "\($0)")
    }
    damaged = Data(bytes)
    damaged.replaceSubrange(0..<8, with: ModelFile.magic)
    try damaged.write(to: URL(fileURLWithPath: path))
    XCTAssertThrowsError(try Checkpoint.read(from: path)) {
      XCTAssertTrue("\($0)".contains("is a model, not a training checkpoint"), "\($0)")
    }
    // A checkpoint cut short before its first 16 bytes is truncated, not of another kind.
    try Data(bytes.prefix(12)).write(to: URL(fileURLWithPath: path))
    XCTAssertThrowsError(try Checkpoint.read(from: path)) {
      XCTAssertTrue("\($0)".hasSuffix("is truncated (12 bytes)"), "\($0)")
    }
  }

  func testHeadersThatLieAreRefused() throws {
    let bytes = try checkpoint()
    let counterRefusal = "holds a counter that is negative or beyond 2^53"
    XCTAssertNoThrow(try Checkpoint.read(from: try withHeader(bytes, "step", 3)))
    for (key, value, message) in [
      ("step", -1, counterRefusal),
      ("completedEpochs", -2, counterRefusal),
      ("epochsWithoutImprovement", -1, counterRefusal),
      // A counter at Int.max trapped at its next `+= 1`.
      ("step", Int.max, counterRefusal),
      ("epochsWithoutImprovement", Int.max, counterRefusal),
      ("optimizerCounters", [Int.max], counterRefusal),
      ("optimizerCounters", [-1], counterRefusal),
      ("frozenEmbeddingRows", [2, 1_000_000], "freezes embedding rows the model does not have"),
      ("frozenEmbeddingRows", [-1], "freezes embedding rows the model does not have"),
      ("optimizerSlabCount", 5, "holds optimiser state that does not match its options"),
    ] as [(String, Any, String)] {
      let path = try withHeader(bytes, key, value)
      XCTAssertThrowsError(try Checkpoint.read(from: path), key) { error in
        XCTAssertEqual(error as? TrellisError, TrellisError(file: path, message), "\(key)")
      }
    }
  }

  /// Bytes after the last array were ignored; model files refuse them, and so do checkpoints.
  func testTrailingBytesAreRefused() throws {
    let bytes = try checkpoint()
    var data = Data(bytes.dropLast(4) + [0, 0, 0])
    appendLittleEndian(crc32(data), to: &data)
    let path = temporaryPath("trailing.checkpoint")
    try data.write(to: URL(fileURLWithPath: path))
    XCTAssertThrowsError(try Checkpoint.read(from: path)) {
      XCTAssertEqual(
        $0 as? TrellisError, TrellisError(file: path, "has 3 unexpected trailing bytes"))
    }
  }

  /// A fresh run finds an earlier run's checkpoint by its first bytes and refuses to replace
  /// it; a FIFO at the path is not opened (opening it for reading waited for a writer), and
  /// other files are no checkpoint.
  func testAFreshRunRefusesAnEarlierCheckpointAndNeverOpensAFIFO() throws {
    let path = temporaryPath("header.checkpoint")
    _ = try checkpoint()
    XCTAssertTrue(Checkpoint.isCheckpoint(atPath: path))
    var options = TrainingOptions()
    options.epochs = 1
    XCTAssertThrowsError(
      try Trainer(configuration: TaggerConfiguration(), options: options).train(
        train: try readLabelledCoNLL(path: fixture("train.conll")), dev: [], checkpoint: path)
    ) { XCTAssertTrue("\($0)".contains("holds an earlier run's checkpoint"), "\($0)") }
    let fifo = temporaryPath("checkpoint.fifo")
    try? FileManager.default.removeItem(atPath: fifo)
    XCTAssertEqual(mkfifo(fifo, 0o600), 0)
    XCTAssertFalse(Checkpoint.isCheckpoint(atPath: fifo))
    XCTAssertFalse(Checkpoint.isCheckpoint(atPath: fixture("train.conll")))
  }
}
