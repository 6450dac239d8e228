import Foundation
import XCTest

@testable import ConllEval
@testable import Trellis

/// Files and numbers that reach the loaders and the confidences from outside: each is refused
/// with a message, or answered correctly, never a trap, a hang or a read past a table.
final class LoaderSafetyTests: XCTestCase {
  /// A model of the tiny corpus with the character CNN, one epoch.
  func characterModel() throws -> TaggerModel {
    var configuration = TaggerConfiguration()
    (configuration.embeddingSize, configuration.hiddenSize) = (4, 4)
    (configuration.characterFilters, configuration.characterEmbeddingSize) = (4, 4)
    var options = TrainingOptions()
    options.epochs = 1
    return try Trainer(configuration: configuration, options: options).train(
      train: try readLabelledCoNLL(path: fixture("train.conll")), dev: [])
  }

  /// The CNN indexes its table with the reserved ids 0 and 1 unchecked: a header whose
  /// characters lack them (or are absent) would have tagging read past the table.
  func testACharacterTableWithoutItsReservedRowsIsRefused() throws {
    let data = try ModelFile.encode(try characterModel())
    XCTAssertNoThrow(try ModelFile.decode(try withRewrittenHeader(data) { _ in }, name: "m"))
    for characters in [nil, ["x", "y"], ["<pad>"]] as [[String]?] {
      let lie = try withRewrittenHeader(data) { header in
        let rows = characters?.count ?? 0
        var slots = header["slots"] as! [[String: Any]]
        // The table's rows follow the vocabulary, so the layout still matches the file's.
        let index = slots.firstIndex { $0["name"] as? String == "characters.embedding" }!
        let removed = (slots[index]["rows"] as! Int - rows) * (slots[index]["columns"] as! Int)
        slots[index]["rows"] = rows
        for k in (index + 1)..<slots.count {
          slots[k]["offset"] = slots[k]["offset"] as! Int - removed
        }
        header["slots"] = slots
        header["characters"] = characters ?? NSNull()
      }
      XCTAssertThrowsError(
        try ModelFile.decode(lie, name: "m"), "\(String(describing: characters))"
      ) {
        XCTAssertEqual($0 as? TrellisError, TrellisError(file: "m", "has an invalid vocabulary"))
      }
    }
  }

  /// A FIFO given as the model is refused at once; opening it for reading used to wait for a
  /// writer forever.
  func testAFIFOGivenAsTheModelIsRefusedWithoutWaiting() throws {
    let path = temporaryPath("fifo-\(UUID().uuidString).model")
    XCTAssertEqual(mkfifo(path, 0o600), 0)
    defer { unlink(path) }
    XCTAssertThrowsError(try ModelFile.read(from: path)) {
      XCTAssertEqual(
        $0 as? TrellisError,
        TrellisError(file: path, "is a pipe or device, not a model file; give the file itself"))
    }
  }

  /// A flipped bit in a model file's header is damage, and said to be, not an unknown format.
  func testAFlippedBitInTheHeaderIsAChecksumMismatch() throws {
    var data = try ModelFile.encode(try characterModel())
    let path = temporaryPath("flipped-\(UUID().uuidString).model")
    defer { try? FileManager.default.removeItem(atPath: path) }
    let quote = try XCTUnwrap(data.firstIndex(of: UInt8(ascii: "\"")))  // the header's first key
    data[quote + 1] ^= 0x20
    try data.write(to: URL(fileURLWithPath: path))
    XCTAssertThrowsError(try ModelFile.read(from: path)) {
      XCTAssertEqual(
        $0 as? TrellisError, TrellisError(file: path, "is corrupted (checksum mismatch)"))
    }
  }

  /// A file cut anywhere after its header (a partial download) says it is truncated, from a
  /// file as from bytes, not that a checksum or the layout is wrong.
  func testAFileCutAfterItsHeaderIsTruncated() throws {
    let data = try ModelFile.encode(try characterModel())
    let path = temporaryPath("cut-\(UUID().uuidString).model")
    defer { try? FileManager.default.removeItem(atPath: path) }
    let headerEnd = 16 + Int(readLittleEndian([UInt8](data), at: 12))
    for count in [headerEnd + 4, (headerEnd + data.count) / 2, data.count - 1] {
      let cut = data.prefix(count)
      let expected = "is truncated (\(count) of \(data.count) bytes)"
      XCTAssertThrowsError(try ModelFile.decode(cut, name: "m")) {
        XCTAssertEqual($0 as? TrellisError, TrellisError(file: "m", expected))
      }
      try cut.write(to: URL(fileURLWithPath: path))
      XCTAssertThrowsError(try ModelFile.read(from: path)) {
        XCTAssertEqual($0 as? TrellisError, TrellisError(file: path, expected))
      }
    }
  }

  /// Slabs the system refuses are an error, and the store keeps the ones it had.
  func testAnAllocationTheSystemRefusesThrows() throws {
    let store = ParameterStore()
    _ = store.reserve("small", rows: 2, columns: 3)
    try store.allocate()
    store.values[5] = 7
    _ = store.reserve("huge", rows: 1 << 40, columns: 1 << 10)  // 4 PiB of Floats
    XCTAssertThrowsError(try store.allocate()) {
      XCTAssertEqual(($0 as? ParameterStore.AllocationFailure)?.count, 6 + (1 << 50))
    }
    XCTAssertEqual(store.values[5], 7)
  }

  /// Transitions 800 apart and emissions 1,000 apart (a model trained near divergence): the
  /// best path, 0 1 0, goes through an emission that underflows in the scaled recursions
  /// (e^−800) although its transitions make up for it, and they lost it: log Z −200 (the path
  /// 0 0 0), finite, instead of 200. Confidences and log Z must be those of enumeration.
  func testConfidencesHoldForScoresBeyondTheScaledRecursionsRange() throws {
    let L = 2
    let head = CRFHead(labelCount: L)
    // trans (L, L), start (L), end (L).
    let θ: [Float] = [-100, 500, 500, -300, 0, 0, 0, 0]
    let emissions: [Float] = [0, -1000, 0, -800, 0, -1000]  // (T = 3, L)
    let paths = (0..<(1 << 3)).map { code in (0..<3).map { (code >> $0) & 1 } }
    try θ.withUnsafeBufferPointer { θ in
      try emissions.withUnsafeBufferPointer { e in
        let view = MatrixView(base: e.baseAddress!, rows: 3, columns: L)
        let scores = paths.map { head.chain.score(of: $0, emissions: view, parameters: θ) }
        let top = scores.max()!
        let logZ = top + log(scores.reduce(0) { $0 + exp($1 - top) })
        let best = paths[scores.firstIndex(of: top)!]
        XCTAssertEqual(best, [0, 1, 0])
        let confidence = try XCTUnwrap(
          head.confidences(
            of: [best], emissions: [view], parameters: θ, constraints: nil, sameOutput: nil)?
            .first)
        XCTAssertEqual(confidence.logPartition!, logZ, accuracy: 1e-9)
        XCTAssertEqual(confidence.sequence, exp(top - logZ), accuracy: 1e-12)
        for t in 0..<3 {
          let marginal = zip(paths, scores).filter { $0.0[t] == best[t] }
            .reduce(0) { $0 + exp($1.1 - logZ) }
          XCTAssertEqual(confidence.tokens[t], marginal, accuracy: 1e-12, "token \(t)")
        }
        let partitions = try XCTUnwrap(
          head.logPartitions(emissions: [view], parameters: θ, constraints: nil))
        XCTAssertEqual(partitions[0], logZ, accuracy: 1e-9)
      }
    }
  }

  /// Under constraints no state stands in for one whose weight underflowed, so emissions can
  /// drift weights apart with every score allowed equal (spread 0, so the spread test passes): the
  /// scaled pass lost the best path, B-a I-a E-a (log Z −1407, O O O's, instead of −800), all
  /// its scales normal. Its score above log Z sends the batch to log space.
  func testConfidencesHoldWhenConstraintsLetTheScaledPassLoseTheBestPath() throws {
    let labels = ["O", "B-a", "I-a", "E-a", "S-a"]
    let L = labels.count
    let head = CRFHead(labelCount: L)
    let constraints = try XCTUnwrap(TransitionConstraints(chunkLabels: labels, scheme: .bioes))
    let θ = [Float](repeating: 0, count: L * L + 2 * L)
    var emissions = [Float](repeating: -2000, count: 3 * L)  // (T = 3, L)
    (emissions[0], emissions[1]) = (-707, 0)  // O, B-a
    (emissions[L], emissions[L + 2]) = (0, -800)  // O, I-a
    (emissions[2 * L], emissions[2 * L + 3]) = (-700, 0)  // O, E-a
    try θ.withUnsafeBufferPointer { θ in
      try emissions.withUnsafeBufferPointer { e in
        let view = MatrixView(base: e.baseAddress!, rows: 3, columns: L)
        let reference = head.chain.forwardBackward(
          emissions: view, parameters: θ, constraints: constraints)
        XCTAssertEqual(reference.logZ, -800, accuracy: 1e-9)
        let best = [1, 2, 3]
        let confidence = try XCTUnwrap(
          head.confidences(
            of: [best], emissions: [view], parameters: θ, constraints: constraints,
            sameOutput: nil)?.first)
        XCTAssertEqual(confidence.logPartition!, reference.logZ, accuracy: 1e-9)
        for t in 0..<3 {
          XCTAssertEqual(
            confidence.tokens[t], reference.unary[t * L + best[t]], accuracy: 1e-12, "token \(t)")
        }
        let logZ = try XCTUnwrap(
          head.logPartitions(emissions: [view], parameters: θ, constraints: constraints))[0]
        let top = head.nBest(
          1, emissions: view, parameters: θ, constraints: constraints, logPartition: logZ)[0]
        XCTAssertEqual(top.path, best)
        XCTAssertEqual(top.probability!, exp(-800 - reference.logZ), accuracy: 1e-12)
      }
    }
  }

  /// Converting labels that are not chunk labels would read them as O: refused with the line.
  func testTrainingInAnotherSchemeRefusesLabelsItWouldErase() throws {
    var configuration = TaggerConfiguration()
    (configuration.embeddingSize, configuration.hiddenSize) = (4, 4)
    configuration.characterFilters = 0
    configuration.trainingScheme = .bioes
    let train = [
      Sentence(fields: [["the", "B-NP"], ["cat", "I-NP"]], firstLine: 1),
      Sentence(fields: [["sat", "VBD"]], firstLine: 4),
    ]
    XCTAssertFalse(isChunkLabel("VBD"))
    XCTAssertTrue(isChunkLabel("S-NP") && isChunkLabel("O"))
    XCTAssertThrowsError(
      try Trainer(configuration: configuration, options: TrainingOptions())
        .train(train: train, dev: [])
    ) {
      XCTAssertEqual(
        $0 as? TrellisError,
        TrellisError(
          file: "training data", line: 4,
          "label \"VBD\" is not a chunk label (O, B-X, I-X, E-X, S-X), so training in bioes "
            + "would read it as O; leave out --scheme"))
    }
  }

  /// A workspace grown for one sentence past `batchTokenStepLimit` is freed after the call; a
  /// server kept the 800 MB of four 50,000-token requests for good. Ordinary calls keep theirs.
  func testAWorkspaceGrownPastTheBatchLimitIsNotKept() {
    let model = makeModel()
    let retained = { model.workspaces.withWorkspace { $0.emissions.capacity } }
    _ = model.tag([["w2", "w3"]])
    XCTAssertGreaterThan(retained(), 0, "an ordinary call's workspace is kept")
    let long = Array(repeating: "w2", count: TaggerModel.batchTokenStepLimit + 1)
    _ = model.tag([long])
    XCTAssertEqual(retained(), 0, "the grown workspace was freed; this one is new")
  }

  /// Calls at once take a workspace each; once they end, at most `idleLimit` are kept (a
  /// burst of calls kept one a call until the model was freed). Nested calls on one thread hold
  /// their workspaces at once, as concurrent calls do.
  func testABurstOfCallsKeepsAtMostTheIdleLimit() {
    let pool = WorkspacePool()
    func nest(_ depth: Int) {
      guard depth > 0 else { return }
      pool.withWorkspace { _ in nest(depth - 1) }
    }
    nest(WorkspacePool.idleLimit + 3)
    XCTAssertEqual(pool.idleCount, WorkspacePool.idleLimit)
    nest(1)
    XCTAssertEqual(pool.idleCount, WorkspacePool.idleLimit, "a workspace kept is used again")
  }

  /// Under BIO, I-a is reached only from B-a: B-a's emission −690 and B-a → I-a's −53.5 make
  /// the second token's one term α̂[B-a] · E[B-a][I-a] = e^−743.5, a subnormal Double (three
  /// units of 2^−1074 for 2.58), as the step's scale c, where O and B-a score −800 (ψ exactly
  /// 0). Its rounding puts the scaled log Z 0.16 above the best path's score, within the
  /// bound a path's score must keep, and its backward weight 1/c overflows, so the marginals
  /// are not finite: a pass whose scales are not normal numbers must not answer, and log
  /// space does (B-a I-a holds all but e^−56 of the mass).
  func testConfidencesHoldWhenAScaleOfTheScaledPassIsSubnormal() throws {
    let labels = ["O", "B-a", "I-a"]
    let L = labels.count
    let head = CRFHead(labelCount: L)
    let constraints = try XCTUnwrap(TransitionConstraints(chunkLabels: labels, scheme: .bio))
    var θ = [Float](repeating: 0, count: L * L + 2 * L)
    θ[1 * L + 2] = -53.5  // B-a → I-a
    let emissions: [Float] = [0, -690, 0, -800, -800, 0]  // (T = 2, L)
    try θ.withUnsafeBufferPointer { θ in
      try emissions.withUnsafeBufferPointer { e in
        let view = MatrixView(base: e.baseAddress!, rows: 2, columns: L)
        XCTAssertTrue(head.chain.scaledRecursionsFit(parameters: θ, constraints: constraints))
        let reference = head.chain.forwardBackward(
          emissions: view, parameters: θ, constraints: constraints)
        XCTAssertEqual(reference.logZ, -743.5, accuracy: 1e-9)
        let best = [1, 2]
        let confidence = try XCTUnwrap(
          head.confidences(
            of: [best], emissions: [view], parameters: θ, constraints: constraints,
            sameOutput: nil)?.first)
        XCTAssertEqual(confidence.logPartition!, reference.logZ, accuracy: 1e-9)
        XCTAssertEqual(confidence.sequence, exp(-743.5 - reference.logZ), accuracy: 1e-12)
        for t in 0..<2 {
          XCTAssertEqual(
            confidence.tokens[t], reference.unary[t * L + best[t]], accuracy: 1e-12, "token \(t)")
        }
      }
    }
  }
}
