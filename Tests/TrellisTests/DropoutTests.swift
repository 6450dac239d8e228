import XCTest

@testable import Trellis

/// Per-sentence (variational) dropout: one mask per sentence, the same at every step.
final class DropoutTests: XCTestCase {
  func testSentenceMaskIsTheSameAtEveryStepAndDiffersBetweenSentences() {
    let (T, B, width) = (7, 5, 40)
    let count = T * B * width
    var values = (0..<count).map { Float($0 % 13) + 1 }
    let original = values
    var mask = [Float](repeating: -1, count: count)
    var rng = SplitMix64(seed: 3)
    applySentenceDropout(
      &values, mask: &mask, steps: T, batch: B, width: width, rate: 0.5, rng: &rng)
    let scale: Float = 2
    for s in 0..<T {
      for b in 0..<B {
        for k in 0..<width {
          let row = (s * B + b) * width
          // Rows `s·B + b` all share sentence b's step-0 factor.
          XCTAssertEqual(mask[row + k], mask[b * width + k])
          XCTAssertTrue(mask[row + k] == 0 || mask[row + k] == scale)
          XCTAssertEqual(values[row + k], original[row + k] * mask[row + k])
        }
      }
    }
    let first = mask[0..<width]
    XCTAssertTrue((1..<B).contains { b in mask[b * width..<(b + 1) * width] != first })
    let dropped = mask[0..<B * width].filter { $0 == 0 }.count
    XCTAssertGreaterThan(dropped, B * width / 4)
    XCTAssertLessThan(dropped, 3 * B * width / 4)
  }

  /// Dropout in halves on two threads (training's batches) against one pass: the same values,
  /// masks and generator after, just below the threshold, at it, and with a tail past the
  /// kernel's 8 lanes;
  /// and the masks' backward pass in halves (from `ParameterStore.countWorthTwoThreads`).
  func testDropoutInHalvesIsOnePass() {
    for count in [
      dropoutValuesWorthTwoThreads - 1, dropoutValuesWorthTwoThreads,
      dropoutValuesWorthTwoThreads + 3, ParameterStore.countWorthTwoThreads + 5,
    ] {
      let values = (0..<count).map { Float($0 % 17) - 8 }
      var results: [[Float]] = []
      var generators: [UInt64] = []
      for concurrently in [false, true] {
        var (dropped, mask) = (values, [Float](repeating: .nan, count: count))
        var rng = SplitMix64(seed: 21)
        applyDropout(
          &dropped, mask: &mask, count: count, rate: 0.3, rng: &rng, concurrently: concurrently)
        results += [dropped, mask]
        generators.append(rng.state)
      }
      for (name, one, halves) in [
        ("values", results[0], results[2]), ("mask", results[1], results[3]),
      ] {
        let differing = zip(one, halves).filter { $0.bitPattern != $1.bitPattern }.count
        XCTAssertEqual(differing, 0, "\(name) that differ, of \(count)")
      }
      let gradient = (0..<count).map { Float($0 % 11) - 5 }
      var masked = [gradient, gradient]
      for (k, concurrently) in [false, true].enumerated() {
        applyDropoutMask(results[1], to: &masked[k], count: count, concurrently: concurrently)
      }
      let expected = zip(gradient, results[1]).map { $0 * $1 }
      for masked in masked {
        let differing = zip(masked, expected).filter { $0.bitPattern != $1.bitPattern }.count
        XCTAssertEqual(differing, 0, "gradient × mask that differ, of \(count)")
      }
      XCTAssertEqual(generators[0], generators[1], "generator, \(count)")
      var reference = SplitMix64(seed: 21)
      for _ in 0..<count { _ = reference.next() }
      XCTAssertEqual(generators[1], reference.state, "generator against the draws, \(count)")
    }
  }

  /// Inverted dropout keeps the expectation: each value is 0 or scaled by 1/(1 − p), the
  /// mask holds the same factor, and over 100,000 ones the mean is 1 within 1% (at p = 0.25,
  /// its standard error is 0.2%). Without the rescaling only the variational mask's test failed.
  func testDropoutScalesWhatItKeepsByTheInverseOfTheKeepRate() {
    let (count, p): (Int, Float) = (100_000, 0.25)
    var (values, mask) = (
      [Float](repeating: 1, count: count), [Float](repeating: .nan, count: count)
    )
    var rng = SplitMix64(seed: 5)
    applyDropout(&values, mask: &mask, count: count, rate: p, rng: &rng)
    XCTAssertTrue(values.allSatisfy { $0 == 0 || $0 == 1 / (1 - p) })
    XCTAssertEqual(mask, values)
    let mean = values.map(Double.init).reduce(0, +) / Double(count)
    XCTAssertEqual(mean, 1, accuracy: 0.01)
  }

  func testSentenceMasksChangeTrainingButStayReproducible() throws {
    let corpus = try readLabelledCoNLL(path: fixture("train.conll"))
    func train(_ variational: Bool) throws -> [Float] {
      var options = TrainingOptions()
      options.epochs = 2
      options.variationalDropout = variational
      var configuration = TaggerConfiguration()
      (configuration.embeddingSize, configuration.hiddenSize) = (16, 16)
      let model = try Trainer(configuration: configuration, options: options)
        .train(train: corpus, dev: [])
      return model.store.snapshot()
    }
    let perSentence = try train(true)
    XCTAssertEqual(perSentence, try train(true))
    XCTAssertNotEqual(perSentence, try train(false))
  }
}

/// Variational dropout's mask on the recurrent state (`RecurrentWorkspace.recurrentMask`).
final class RecurrentStateDropoutTests: XCTestCase {
  /// An Elman layer's states `(N, H)` for one sentence of `x`'s rows `(T, 3)`, with
  /// `recurrentMask` `(1, H)` on h_{s−1} when given.
  func states(
    _ layer: RecurrentLayer, _ store: ParameterStore, x: [Float], recurrentMask: [Float]?
  ) -> [Float] {
    let steps = PackedSteps(lengths: [x.count / layer.inputSize])
    let ws = RecurrentWorkspace()
    if let recurrentMask {
      ws.recurrentMask.reserve(recurrentMask.count).update(
        from: recurrentMask, count: recurrentMask.count)
    }
    ws.dropsRecurrentState = recurrentMask != nil
    x.withUnsafeBufferPointer {
      layer.inputProjection(store: store, x: $0.baseAddress!, rows: steps.rows, workspace: ws)
        .run(rows: 0..<steps.rows)
    }
    layer.forward(store: store, input: .projectedRows, steps: steps, workspace: ws)
    return Array(UnsafeBufferPointer(start: ws.h.pointer, count: steps.rows * layer.hiddenSize))
  }

  /// With the whole recurrent state dropped, step s reads no h_{s−1}: each token's state is
  /// that of a sentence of the token alone. With a mask of 2s (units kept at p = 0.5), each
  /// step reads 2·h_{s−1}, which a layer whose Wh is doubled reads unmasked.
  func testTheMaskScalesTheStateEachStepReads() throws {
    let (input, hidden, T) = (3, 4, 5)
    let store = ParameterStore()
    let layer = RecurrentLayer(
      cell: ElmanCell(), inputSize: input, hiddenSize: hidden, name: "r", store: store)
    try store.allocate()
    var rng = SplitMix64(seed: 3)
    layer.initialize(store, rng: &rng)
    let x = randomMatrix(rows: T, columns: input, scale: 1, rng: &rng)
    let dropped = states(
      layer, store, x: x, recurrentMask: [Float](repeating: 0, count: hidden))
    for s in 0..<T {
      let alone = states(
        layer, store, x: Array(x[s * input..<(s + 1) * input]), recurrentMask: nil)
      XCTAssertEqual(Array(dropped[s * hidden..<(s + 1) * hidden]), alone, "step \(s)")
    }
    XCTAssertNotEqual(states(layer, store, x: x, recurrentMask: nil), dropped)
    let doubledState = states(
      layer, store, x: x, recurrentMask: [Float](repeating: 2, count: hidden))
    let wh = store.value(layer.wh)
    for k in 0..<layer.wh.count { wh[k] *= 2 }
    let doubledWeights = states(layer, store, x: x, recurrentMask: nil)
    assertClose(
      doubledState.map(Double.init), doubledWeights.map(Double.init), absolute: 1e-6,
      relative: 0, "2·h_{s−1} against 2·Wh")
  }
}
