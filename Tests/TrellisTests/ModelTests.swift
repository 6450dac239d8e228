import Foundation
import XCTest

@testable import Trellis

/// The package root, for the fixtures in Corpora/.
let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
  .deletingLastPathComponent().deletingLastPathComponent()

func fixture(_ name: String) -> String {
  packageRoot.appendingPathComponent("Corpora/tiny/\(name)").path
}

func temporaryPath(_ name: String) -> String {
  let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
    "trellis-tests-\(getpid())")
  try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
  return directory.appendingPathComponent(name).path
}

final class ModelTests: XCTestCase {
  func smallConfiguration(encoder: EncoderKind = .bilstm, head: HeadKind = .crf)
    -> TaggerConfiguration
  {
    var configuration = TaggerConfiguration()
    configuration.encoder = encoder
    configuration.head = head
    configuration.embeddingSize = 16
    configuration.hiddenSize = 16
    return configuration
  }

  func overfitOptions() -> TrainingOptions {
    var options = TrainingOptions()
    options.epochs = 150
    options.batchSize = 5
    options.dropout = 0
    options.unknownReplacement = 0
    options.learningRate = 0.02
    options.patience = 0
    return options
  }

  /// Every head with every encoder fits five sentences exactly: the whole pipeline can learn.
  func testEveryHeadAndEncoderOverfitsFiveSentences() throws {
    let sentences = try readLabelledCoNLL(path: fixture("overfit.conll"))
    XCTAssertEqual(sentences.count, 5)
    for head in HeadKind.allCases {
      for encoder in EncoderKind.allCases {
        let model = try Trainer(
          configuration: smallConfiguration(encoder: encoder, head: head), options: overfitOptions()
        )
        .train(train: sentences, dev: [])
        let counts = try model.evaluate(sentences)
        XCTAssertEqual(
          counts.accuracy, 100, "\(encoder) + \(head): training accuracy \(counts.accuracy)")
      }
    }
    var withCharacters = smallConfiguration()
    withCharacters.characterFilters = 8
    let model = try Trainer(configuration: withCharacters, options: overfitOptions()).train(
      train: sentences, dev: [])
    XCTAssertEqual(try model.evaluate(sentences).accuracy, 100, "bilstm + crf + character CNN")
  }

  /// A model with a character CNN survives the model file and tags the same afterwards.
  func testCharacterModelRoundTrips() throws {
    var configuration = smallConfiguration()
    configuration.characterFilters = 6
    let model = try trainTwoEpochs(configuration)
    XCTAssertGreaterThan(model.characters.count, 10)
    let loaded = try ModelFile.decode(try ModelFile.encode(model), name: "m")
    XCTAssertEqual(loaded.characters, model.characters)
    let test = try readLabelledCoNLL(path: fixture("test.conll")).map(\.tokens)
    XCTAssertEqual(loaded.tag(test), model.tag(test))
  }

  /// `configuration` trained two epochs on the tiny training fixture, without a dev set.
  func trainTwoEpochs(_ configuration: TaggerConfiguration) throws -> TaggerModel {
    var options = TrainingOptions()
    options.epochs = 2
    return try Trainer(configuration: configuration, options: options)
      .train(train: readLabelledCoNLL(path: fixture("train.conll")), dev: [])
  }

  func trainTiny(seed: UInt64, epochs: Int = 2) throws -> TaggerModel {
    var options = TrainingOptions()
    options.epochs = epochs
    options.seed = seed
    return try Trainer(configuration: smallConfiguration(), options: options)
      .train(
        train: readLabelledCoNLL(path: fixture("train.conll")),
        dev: readLabelledCoNLL(path: fixture("dev.conll")))
  }

  func testSameSeedGivesTheSameModelBytesAndAnotherSeedDoesNot() throws {
    let first = try ModelFile.encode(trainTiny(seed: 3))
    let second = try ModelFile.encode(trainTiny(seed: 3))
    let other = try ModelFile.encode(trainTiny(seed: 4))
    XCTAssertEqual(first, second)
    XCTAssertNotEqual(first, other)
  }

  func testModelFileRoundTripsAndTagsIdentically() throws {
    let model = try trainTiny(seed: 1)
    let path = temporaryPath("roundtrip.model")
    try ModelFile.write(model, to: path)
    let loaded = try ModelFile.read(from: path)
    XCTAssertEqual(loaded.configuration, model.configuration)
    XCTAssertEqual(loaded.words, model.words)
    XCTAssertEqual(loaded.labels, model.labels)
    XCTAssertEqual(loaded.store.snapshot(), model.store.snapshot())
    let test = try readLabelledCoNLL(path: fixture("test.conll")).map(\.tokens)
    XCTAssertEqual(loaded.tag(test), model.tag(test))
    XCTAssertEqual(try ModelFile.encode(loaded), try ModelFile.encode(model))
    // `write` streams the weights from the model; `encode` gathers them: the same bytes.
    XCTAssertEqual(
      try Data(contentsOf: URL(fileURLWithPath: path)), try ModelFile.encode(model, name: path))
  }

  /// Each damage refused with its reason, the same from bytes in memory (`decode`) and from a
  /// file (`read`, which streams the weights into the model and checksums them as it goes).
  func testDamagedModelFilesAreRefusedWithAReason() throws {
    let data = try ModelFile.encode(trainTiny(seed: 1, epochs: 1))
    let path = temporaryPath("damaged-\(UUID().uuidString).model")
    defer { try? FileManager.default.removeItem(atPath: path) }
    func refusal(_ bytes: Data) -> String {
      func reason(_ load: () throws -> TaggerModel, _ name: String) -> String {
        do {
          _ = try load()
          return "accepted"
        } catch {
          return "\(error)".replacingOccurrences(of: name, with: "m")
        }
      }
      let inMemory = reason({ try ModelFile.decode(bytes, name: "m") }, "m")
      guard (try? bytes.write(to: URL(fileURLWithPath: path))) != nil else { return "unwritten" }
      XCTAssertEqual(reason({ try ModelFile.read(from: path) }, path), inMemory)
      return inMemory
    }
    XCTAssertEqual(
      refusal(data.prefix(data.count - 9)).contains("truncated"), true,
      refusal(data.prefix(data.count - 9)))
    XCTAssertTrue(refusal(data.prefix(12)).contains("truncated"))
    XCTAssertTrue(
      refusal(Data("hello, world, not a model".utf8)).contains("not a Trellis model file"))
    XCTAssertTrue(refusal(Data()).contains("is empty (0 bytes), not a model"), refusal(Data()))
    var flipped = data
    flipped[data.count / 2] ^= 0x10
    XCTAssertTrue(refusal(flipped).contains("corrupted"), refusal(flipped))
    // A newer format's file checksums; the same bytes with the old checksum are a flipped
    // bit, as is a header length past the file's end (both had been refused as a newer
    // Trellis's and as truncated).
    var damagedVersion = data
    damagedVersion[8] = UInt8(ModelFile.formatVersion + 1)
    XCTAssertEqual(refusal(damagedVersion), "m: is corrupted (checksum mismatch)")
    var future = damagedVersion.prefix(data.count - 4)
    appendLittleEndian(crc32(future), to: &future)
    XCTAssertTrue(refusal(future).contains("newer Trellis"), refusal(future))
    var longHeader = data
    longHeader[14] ^= 0x10
    XCTAssertTrue(
      refusal(longHeader).hasPrefix("m: is truncated or corrupted (checksum mismatch; header says"),
      refusal(longHeader))
    var checkpoint = data
    checkpoint.replaceSubrange(0..<8, with: Checkpoint.magic)
    XCTAssertTrue(
      refusal(checkpoint).contains("is a training checkpoint, not a model"), refusal(checkpoint))
    XCTAssertTrue(refusal(data + Data([0])).contains("trailing"))
    XCTAssertEqual(refusal(data), "accepted")
  }

  func testAWriteThatFailsLeavesTheExistingModelIntact() throws {
    let model = try trainTiny(seed: 1, epochs: 1)
    let path = temporaryPath("kept.model")
    try ModelFile.write(model, to: path)
    let before = FileManager.default.contents(atPath: path)
    model.store.values[0] = .nan
    XCTAssertThrowsError(try ModelFile.write(model, to: path))
    XCTAssertEqual(FileManager.default.contents(atPath: path), before)
    XCTAssertThrowsError(try ModelFile.write(model, to: "/nonexistent-directory/x.model"))
  }

  /// A path ending in "/" or "/." names a directory, but the file URL the write went through
  /// drops the slash and the dot: writing a model to "data.conll/" replaced data.conll.
  func testAPathNamingADirectoryReplacesNoFile() throws {
    let model = makeModel()
    let path = temporaryPath("data.conll")
    try Data("to\tO\n".utf8).write(to: URL(fileURLWithPath: path))
    for spelling in [path + "/", path + "/.", path + "/.."] {
      XCTAssertThrowsError(try ModelFile.write(model, to: spelling), spelling)
    }
    XCTAssertEqual(FileManager.default.contents(atPath: path), Data("to\tO\n".utf8))
  }

  /// A write refuses what `trellis train --model` refuses: a file of another kind (notes),
  /// and a path through an open file descriptor, which named the file the descriptor had
  /// open (an input the program read was replaced by the model). Both were replaced.
  func testAWriteReplacesNoFileOfAnotherKindNorADescriptorsFile() throws {
    let model = makeModel()
    let notes = temporaryPath("notes.txt")
    try Data("notes\n".utf8).write(to: URL(fileURLWithPath: notes))
    XCTAssertThrowsError(try ModelFile.write(model, to: notes)) { error in
      XCTAssertTrue("\(error)".contains("is not a Trellis model"), "\(error)")
    }
    let input = try XCTUnwrap(FileHandle(forReadingAtPath: notes))
    defer { try? input.close() }
    for path in ["/dev/fd/\(input.fileDescriptor)", "/proc/self/fd/\(input.fileDescriptor)"] {
      XCTAssertThrowsError(try ModelFile.write(model, to: path)) { error in
        XCTAssertTrue("\(error)".contains("names an open file descriptor"), "\(error)")
      }
    }
    XCTAssertEqual(FileManager.default.contents(atPath: notes), Data("notes\n".utf8))
    let empty = temporaryPath("empty.model")
    XCTAssertTrue(FileManager.default.createFile(atPath: empty, contents: Data()))
    try ModelFile.write(model, to: empty)
    try ModelFile.write(model, to: empty)
  }

  /// An empty literal needs no type: `tag([])` and `analyze([])` were ambiguous between the
  /// tokens' and the `TokenInput`s' overloads, and did not compile.
  func testEmptyLiteralsAreTaggedWithoutAType() {
    let model = makeModel()
    XCTAssertEqual(model.tag([]), [])
    XCTAssertTrue(model.analyze([]).isEmpty)
    XCTAssertEqual(model.tag([TokenInput(tokens: [])]), [[]])
  }

  /// Writes from several threads take turns: to one path they took one temporary name, and
  /// one thread's rename moved another's half-written file into place or found it gone.
  func testWritesFromSeveralThreadsAllLand() throws {
    let model = makeModel()
    let expected = try ModelFile.encode(model, name: "x")
    let path = temporaryPath("shared.model")
    var failed = [Bool](repeating: false, count: 40)
    failed.withUnsafeMutableBufferPointer { failed in
      DispatchQueue.concurrentPerform(iterations: failed.count) { index in
        failed[index] = (try? ModelFile.write(model, to: path)) == nil
      }
    }
    XCTAssertEqual(failed.filter { $0 }.count, 0)
    XCTAssertEqual(try ModelFile.encode(ModelFile.read(from: path), name: "x"), expected)
  }

  /// A header that lies about sizes but carries a valid checksum (a hostile or badly written
  /// file) is refused before anything is allocated, instead of overflowing or exhausting memory.
  /// A format-1 file (no provenance, version 1 in the prelude) still loads and tags alike.
  func testFormatVersion1FilesStillLoad() throws {
    let model = try trainTiny(seed: 1, epochs: 1)
    var bytes = [UInt8](try ModelFile.encode(model))
    bytes.replaceSubrange(8..<12, with: [1, 0, 0, 0])
    var data = Data(bytes.dropLast(4))
    appendLittleEndian(crc32(data), to: &data)
    let loaded = try ModelFile.decode(data, name: "v1")
    XCTAssertEqual(loaded.formatVersion, 1)
    XCTAssertNil(loaded.provenance)
    let test = try readLabelledCoNLL(path: fixture("test.conll")).map(\.tokens)
    XCTAssertEqual(loaded.tag(test), model.tag(test))
  }

  /// A stacked model keeps one-layer names for its first layer, round-trips through the model
  /// file, and a header without `layers` (a file from before stacking) reads as one layer.
  func testStackedEncoderRoundTripsAndOldHeadersReadAsOneLayer() throws {
    var configuration = smallConfiguration()
    configuration.layers = 2
    let model = try trainTwoEpochs(configuration)
    let names = Set(model.store.slots.map(\.name))
    XCTAssertTrue(names.isSuperset(of: ["forward.wx", "backward.wh", "layer2.forward.wx"]))
    XCTAssertEqual(model.encoder.layers[1].inputSize, 2 * configuration.hiddenSize)
    let bytes = try ModelFile.encode(model)
    let loaded = try ModelFile.decode(bytes, name: "m")
    XCTAssertEqual(loaded.configuration.layers, 2)
    // Version 3, which release 0.3.0 (format 2) refuses as newer: it took such a file for a
    // damaged one. A one-layer model stays version 2, which 0.3.0 reads.
    XCTAssertEqual(readLittleEndian([UInt8](bytes), at: 8) as UInt32, 3)
    XCTAssertEqual(loaded.formatVersion, 3)
    XCTAssertEqual(model.formatVersion, 3)
    let oneLayer = try ModelFile.encode(try trainTwoEpochs(smallConfiguration()))
    XCTAssertEqual(readLittleEndian([UInt8](oneLayer), at: 8) as UInt32, 2)
    var withFeatures = smallConfiguration()
    withFeatures.featureColumns = [FeatureColumn(column: 2)]
    XCTAssertEqual(ModelFile.writtenVersion(of: withFeatures), 3)
    let test = try readLabelledCoNLL(path: fixture("test.conll")).map(\.tokens)
    XCTAssertEqual(loaded.tag(test), model.tag(test))

    var header =
      try JSONSerialization.jsonObject(
        with: try JSONEncoder().encode(TaggerConfiguration())) as! [String: Any]
    header.removeValue(forKey: "layers")
    let decoder = JSONDecoder()
    decoder.userInfo[.readsModelFile] = true
    XCTAssertEqual(
      try decoder.decode(
        TaggerConfiguration.self, from: try JSONSerialization.data(withJSONObject: header)
      ).layers, 1)
  }

  /// Only a model file from before `lowercaseCharacters` existed reads it from its word keys'
  /// case; a configuration file that leaves it out takes the default, as for every other field
  /// (one without it turned lowercasing on for `Eval/systems/`'s runs).
  func testAConfigurationWithoutLowercaseCharactersTakesTheDefault() throws {
    let path = temporaryPath("partial-configuration.json")
    try Data(#"{"configuration": {"head": "crf"}}"#.utf8).write(to: URL(fileURLWithPath: path))
    XCTAssertEqual(
      try TrainingRecipe.read(from: path).configuration.lowercaseCharacters,
      TaggerConfiguration().lowercaseCharacters)

    var header =
      try JSONSerialization.jsonObject(
        with: try JSONEncoder().encode(TaggerConfiguration())) as! [String: Any]
    header.removeValue(forKey: "lowercaseCharacters")
    let json = try JSONSerialization.data(withJSONObject: header)
    XCTAssertFalse(
      try JSONDecoder().decode(TaggerConfiguration.self, from: json).lowercaseCharacters)
    let modelFileDecoder = JSONDecoder()
    modelFileDecoder.userInfo[.readsModelFile] = true
    XCTAssertTrue(TaggerConfiguration().normalization.lowercase)
    XCTAssertTrue(
      try modelFileDecoder.decode(TaggerConfiguration.self, from: json).lowercaseCharacters)
  }

  func testLyingHeadersWithValidChecksumsAreRefused() throws {
    let data = try ModelFile.encode(trainTiny(seed: 1, epochs: 1))
    func rewritten(_ edit: (inout [String: Any]) -> Void) throws -> Data {
      try withRewrittenHeader(data, edit)
    }
    func refusal(_ data: Data) -> String {
      do {
        _ = try ModelFile.decode(data, name: "m")
        return "accepted"
      } catch {
        return "\(error)"
      }
    }
    XCTAssertEqual(refusal(try rewritten { _ in }), "accepted")  // the rewriting itself is faithful
    for (key, value) in [
      ("hiddenSize", 1 << 31), ("embeddingSize", 1 << 62), ("window", 10_000_000),
      ("characterFilters", 1 << 40),
    ] {
      let lie = try rewritten { header in
        var configuration = header["configuration"] as! [String: Any]
        configuration[key] = value
        header["configuration"] = configuration
      }
      XCTAssertTrue(refusal(lie).contains("invalid configuration"), "\(key): \(refusal(lie))")
    }
    let hugeSlot = try rewritten { header in
      var slots = header["slots"] as! [[String: Any]]
      slots[0]["rows"] = 1 << 62
      header["slots"] = slots
    }
    XCTAssertTrue(refusal(hugeSlot).contains("impossible parameter layout"), refusal(hugeSlot))
    let otherShape = try rewritten { header in
      var configuration = header["configuration"] as! [String: Any]
      configuration["hiddenSize"] = 17
      header["configuration"] = configuration
    }
    XCTAssertTrue(
      refusal(otherShape).contains("does not match its configuration"), refusal(otherShape))
    // Every model file has written each field of these settings, which a configuration file
    // may leave out: one missing is a damaged header, not today's default.
    for (setting, field) in [("normalization", "digitsToZero"), ("headOptions", "l2")] {
      let missing = try rewritten { header in
        var configuration = header["configuration"] as! [String: Any]
        var nested = configuration[setting] as! [String: Any]
        nested.removeValue(forKey: field)
        configuration[setting] = nested
        header["configuration"] = configuration
      }
      XCTAssertTrue(refusal(missing).contains("'\(field)' not found"), refusal(missing))
    }
    // The vocabularies, which the header's own reader reads (`Header.decode`).
    for (name, edit, expected) in [
      ("words of numbers", { $0["words"] = [1, 2] }, "item 0 is a number"),
      ("no words", { $0["words"] = nil }, "no \"words\""),
      ("labels an object", { $0["labels"] = ["O": 1] }, "not an object"),
      ("features of strings", { $0["features"] = ["a"] }, "each column"),
      ("features a number", { $0["features"] = 3 }, "arrays of strings, not a number"),
    ] as [(String, (inout [String: Any]) -> Void, String)] {
      let lie = refusal(try rewritten(edit))
      XCTAssertTrue(lie.contains("unreadable header") && lie.contains(expected), "\(name): \(lie)")
    }
    // A label no CoNLL column can hold would add columns or lines to every output.
    for label in ["B-a\tb", "B-a\nO", "B-a b", "", "B-\r"] {
      let lie = refusal(
        try rewritten { header in
          var labels = header["labels"] as! [String]
          labels[labels.count - 1] = label
          header["labels"] = labels
        })
      XCTAssertTrue(lie.contains("has a label no CoNLL column can hold"), "\(label): \(lie)")
    }
  }

  /// A header read with its vocabularies taken by `JSONScanner` is the header `JSONDecoder`
  /// reads, member for member (the same JSON again), with characters, feature columns,
  /// provenance, escapes and non-ASCII words, and members in another order.
  func testHeaderReaderMatchesJSONDecoder() throws {
    var configuration = TaggerConfiguration()
    (configuration.embeddingSize, configuration.hiddenSize) = (3, 2)
    configuration.characterFilters = 2
    configuration.featureColumns = [FeatureColumn(column: 2, size: 2)]
    var rng = SplitMix64(seed: 5)
    let model = try TaggerModel(
      configuration: configuration,
      words: Vocabulary(["<pad>", "<unk>", "caf\u{E9}", "cafe\u{301}", "a\"b", "\\", "日本", "😀"]),
      labels: Vocabulary(["O", "B-x", "I-x"]), characters: Vocabulary(["<pad>", "<unk>", "é"]),
      featureVocabularies: [Vocabulary(["<pad>", "<unk>", "NN\tP"])], rng: &rng)
    var recipe = TrainingRecipe()
    recipe.note = "a \"note\""
    model.provenance = Provenance(recipe: recipe, inputs: [])
    let bytes = [UInt8](try ModelFile.encode(model))
    let headerLength = Int(readLittleEndian(bytes, at: 12))
    let written = Data(bytes[16..<(16 + headerLength)])
    let object = try XCTUnwrap(JSONSerialization.jsonObject(with: written) as? [String: Any])
    let reordered = try JSONSerialization.data(withJSONObject: object)  // keys in any order
    var nulls = object  // optional vocabularies given as null rather than left out
    (nulls["characters"], nulls["features"]) = (NSNull(), NSNull())
    let withoutVocabularies = try JSONSerialization.data(withJSONObject: nulls)
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    for header in [written, reordered, withoutVocabularies] {
      let decoder = JSONDecoder()
      decoder.userInfo[.readsModelFile] = true
      XCTAssertEqual(
        try encoder.encode(ModelFile.Header.decode(header, decoder: decoder)),
        try encoder.encode(decoder.decode(ModelFile.Header.self, from: header)))
    }
  }
}
