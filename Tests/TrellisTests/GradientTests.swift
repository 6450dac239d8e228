import XCTest

@testable import Trellis

/// Finite-difference checks of every analytic gradient: each head alone (∂loss/∂emissions and
/// ∂loss/∂head parameters) and the whole model for every encoder, with and without a context
/// window and dropout (same mask on every evaluation).
///
/// Tolerance: the model runs in Float. Central differences with ε = 3e-3 have truncation error
/// ~ε²·f‴/6 and rounding error ~1e-7·|loss|/ε ≈ 2e-4 at these sizes, so
/// |analytic − numeric| ≤ 2e-4 + 1e-2·max(|analytic|, |numeric|) fails on any real mistake
/// (a wrong term is off by O(gradient)) but not on Float noise. (At ε = 1e-2 the truncation
/// error of a two-layer Elman RNN whose recurrent state is dropped, scaling the kept units by
/// 1/(1 − p), reached 8% of a gradient; 3e-3 and 1e-3 agree within the tolerance.) The
/// perceptron and SSVM losses are piecewise: their coordinates whose ±ε straddles a kink are
/// left out (`checkModel`).
final class GradientTests: XCTestCase {
  let epsilon: Float = 3e-3

  func testHeadGradientsMatchFiniteDifferences() {
    let L = 3
    let lengths = [4, 1, 3]
    for kind in HeadKind.allCases {
      var rng = SplitMix64(seed: 21)
      let head = kind.makeHead(labelCount: L, options: HeadOptions(costWeight: 0.8, l2: 0.05))
      let total = lengths.reduce(0, +)
      var emissions = randomMatrix(rows: total, columns: L, scale: 2, rng: &rng)
      var parameters = randomMatrix(rows: 1, columns: head.parameterCount, rng: &rng)
      let gold = lengths.map { T in (0..<T).map { _ in Int(rng.next() % UInt64(L)) } }
      let offsets = lengths.indices.map { lengths[..<$0].reduce(0, +) }
      func lossAndGradients() -> (loss: Double, emissions: [[Float]], parameters: [Float]) {
        headLossAndGradients(
          head,
          lengths.indices.map {
            (Array(emissions[offsets[$0] * L..<(offsets[$0] + lengths[$0]) * L]), gold[$0])
          }, parameters: parameters, labels: L)
      }
      let analytic = lossAndGradients()
      let (dE, dθ) = (analytic.emissions.flatMap { $0 }, analytic.parameters)
      // Central difference in coordinate k of emissions (inEmissions) or of the parameters.
      func numeric(inEmissions: Bool, _ k: Int) -> Double {
        func perturb(_ delta: Float) {
          if inEmissions { emissions[k] += delta } else { parameters[k] += delta }
        }
        perturb(epsilon)
        let plus = lossAndGradients().loss
        perturb(-2 * epsilon)
        let minus = lossAndGradients().loss
        perturb(epsilon)
        return (plus - minus) / Double(2 * epsilon)
      }
      let numericE = emissions.indices.map { numeric(inEmissions: true, $0) }
      let numericθ = parameters.indices.map { numeric(inEmissions: false, $0) }
      assertClose(
        dE.map(Double.init), numericE, absolute: 2e-4, relative: 1e-2, "\(kind) ∂emissions")
      assertClose(
        dθ.map(Double.init), numericθ, absolute: 2e-4, relative: 1e-2, "\(kind) ∂parameters")
      XCTAssertGreaterThan(
        dE.map { abs($0) }.max()!, 0.01, "\(kind): gradient should not vanish here")
    }
  }

  /// `unknownWord` is the token read for word id 1 (`<unk>`).
  func checkModel(
    _ model: TaggerModel, dropout: Float, sentenceMasks: Bool = false,
    wordIds: [[Int]] = [[2, 3, 4, 5], [5, 1], [3]], gold: [[Int]] = [[1, 2, 0, 1], [0, 1], [2]],
    unknownWord: String = "w9", file: StaticString = #filePath, line: UInt = #line
  ) {
    // w5 and w9: unknown characters.
    let tokens = wordIds.map { $0.map { $0 == 1 ? unknownWord : model.words[$0] } }
    // Feature values cycle through x, y and one never seen (read as <unk>).
    let inputs = tokens.map { sentence in
      TokenInput(
        tokens: sentence,
        features: model.configuration.featureColumns.indices.map { i in
          sentence.indices.map { ["x", "y", "unseen"][($0 + i) % 3] }
        })
    }
    let batch = model.batch(inputs.map(model.encode), words: wordIds, gold: gold)
    let store = model.store
    let workspace = ModelWorkspace()
    func loss() -> Double {
      var rng = SplitMix64(seed: 99)  // the same dropout masks on every evaluation
      store.zeroGradients()
      return model.lossAndGradient(
        batch, workspace: workspace, dropoutRate: dropout, sentenceMasks: sentenceMasks,
        rng: &rng) / Double(batch.size)
    }
    let base = loss()
    let analytic = Array(UnsafeBufferPointer(start: store.gradients, count: store.count))
    // The perceptron's and the SSVM's losses are piecewise smooth in the parameters: where
    // ±ε straddles a kink (a change of the decoded path) the central difference is off by up
    // to the second difference f(+ε) + f(−ε) − 2f(0) over 2ε, so a coordinate whose second
    // difference could move it past the absolute tolerance (2e−4) is left out.
    let piecewise = [HeadKind.perceptron, .ssvm].contains(model.configuration.head)
    var checked = 0
    for slot in store.slots where slot.count > 0 {
      // Up to 15 coordinates per tensor, spread over it.
      let step = max(1, slot.count / 15)
      var a: [Double] = []
      var n: [Double] = []
      for k in stride(from: slot.offset, to: slot.offset + slot.count, by: step) {
        let saved = store.values[k]
        store.values[k] = saved + epsilon
        let plus = loss()
        store.values[k] = saved - epsilon
        let minus = loss()
        store.values[k] = saved
        if piecewise && abs(plus + minus - 2 * base) > 2 * Double(epsilon) * 2e-4 { continue }
        a.append(Double(analytic[k]))
        n.append((plus - minus) / Double(2 * epsilon))
      }
      checked += a.count
      assertClose(
        a, n, absolute: 2e-4, relative: 1e-2,
        "\(model.configuration.encoder) \(model.configuration.head) window \(model.configuration.window) \(slot.name)",
        file: file, line: line)
    }
    // Fewer where kinks were left out, but never so few that the check says little.
    XCTAssertGreaterThan(checked, piecewise ? 25 : 40, file: file, line: line)
  }

  func testEveryEncoderMatchesFiniteDifferences() {
    for encoder in EncoderKind.allCases {
      checkModel(makeModel(encoder: encoder), dropout: 0)
    }
  }

  /// Products cut into chunks that the two threads share (`productChunkRows`): at
  /// hidden size 33 the weight gradients' gate rows (132 for the LSTM, 99 for the GRU, 33 for
  /// the Elman cell) and, in a batch of 12 sentences of up to 4 tokens, the 48 rows of the
  /// input projections and of ∂X are more than a chunk.
  func testEncodersWhoseProductsAreCutMatchFiniteDifferences() {
    let wordIds = (0..<12).map { s in (0...(s % 4)).map { 1 + (s + $0) % 5 } }
    let gold = wordIds.map { $0.map { $0 % 3 } }
    for encoder in [EncoderKind.bilstm, .gru, .birnn] {
      checkModel(
        makeModel(encoder: encoder, hiddenSize: 33), dropout: 0, wordIds: wordIds, gold: gold)
    }
  }

  func testContextWindowAndDropoutMatchFiniteDifferences() {
    checkModel(makeModel(encoder: .rnn, head: .softmax, window: 2), dropout: 0)
    checkModel(makeModel(encoder: .bilstm, window: 1), dropout: 0.3)
    checkModel(makeModel(encoder: .bigru, window: 1), dropout: 0.3)
    checkModel(makeModel(encoder: .bilstm, characterFilters: 2), dropout: 0.3, sentenceMasks: true)
  }

  func testStackedEncodersMatchFiniteDifferences() {
    for encoder in [EncoderKind.bilstm, .gru] {
      checkModel(makeModel(encoder: encoder, layers: 2), dropout: 0)
    }
    checkModel(makeModel(encoder: .bilstm, window: 1, layers: 3), dropout: 0.3)
    checkModel(makeModel(encoder: .birnn, layers: 2), dropout: 0.3, sentenceMasks: true)
  }

  func testCharacterCNNMatchesFiniteDifferences() {
    checkModel(makeModel(encoder: .bilstm, characterFilters: 3), dropout: 0)
    // An empty token has no window and features 0; it passes no gradient to another's window.
    checkModel(
      makeModel(encoder: .bilstm, characterFilters: 3), dropout: 0,
      wordIds: [[1, 3, 4, 5], [5, 1], [3]], unknownWord: "")
    checkModel(
      makeModel(encoder: .rnn, head: .softmax, window: 1, characterFilters: 2), dropout: 0.2)
  }

  func testFeatureColumnsMatchFiniteDifferences() {
    let features = [FeatureColumn(column: 2, size: 3), FeatureColumn(column: 3, size: 2)]
    checkModel(makeModel(encoder: .bilstm, featureColumns: features), dropout: 0)
    checkModel(
      makeModel(
        encoder: .rnn, head: .softmax, window: 1, characterFilters: 2, featureColumns: features),
      dropout: 0.2)
  }

  /// A training pass whose steps stay on the calling thread (`usesTwoThreads` off) and one that
  /// shares them with the second thread (the directions' copies and packing, the embedding
  /// gradient's columns, dropout and its masks in halves) add the same gradient, bit for bit:
  /// every element's sum keeps its order whichever thread computes it. 32 sentences of up to 8
  /// tokens, so that the elementwise passes are long enough to be split.
  func testOneThreadAndTwoAddTheSameGradientBits() {
    let model = makeModel(
      window: 1, embeddingSize: 40, hiddenSize: 33, characterFilters: 3,
      featureColumns: [FeatureColumn(column: 2, size: 2)])
    let wordIds = (0..<32).map { s in (0...(s % 8)).map { 1 + (s + $0) % 5 } }
    let inputs = wordIds.map { sentence in
      let tokens = sentence.map { $0 == 1 ? "w9" : model.words[$0] }
      return TokenInput(tokens: tokens, features: [tokens.indices.map { ["x", "y"][$0 % 2] }])
    }
    let batch = model.batch(
      inputs.map(model.encode), words: wordIds, gold: wordIds.map { $0.map { $0 % 3 } })
    func gradient(twoThreads: Bool) -> [UInt32] {
      let workspace = ModelWorkspace()
      workspace.usesTwoThreads = twoThreads
      var rng = SplitMix64(seed: 5)
      model.store.zeroGradients()
      _ = model.lossAndGradient(batch, workspace: workspace, dropoutRate: 0.3, rng: &rng)
      return UnsafeBufferPointer(start: model.store.gradients, count: model.store.count)
        .map(\.bitPattern)
    }
    let oneThread = gradient(twoThreads: false)
    XCTAssertEqual(gradient(twoThreads: true), oneThread)
    XCTAssertGreaterThan(oneThread.filter { $0 != 0 }.count, model.store.count / 2)
  }

  /// A training pass (window, characters, features, dropout, a word read as <unk> as word
  /// dropout reads it) writes no gradient outside `TrainingRun.updatedRanges`, which leave
  /// out the rows of words no training sentence holds unless the optimiser's state there is
  /// not zero; so the norm over the ranges has the whole pass's bits.
  func testTrainingWritesNoGradientOutsideTheUpdatedRanges() {
    let model = makeModel(
      window: 1, words: 12, embeddingSize: 12, hiddenSize: 9, characterFilters: 3,
      featureColumns: [FeatureColumn(column: 2, size: 2)])
    // Equal lengths, so only the window reads <pad>.
    let wordIds = [[3, 5, 3, 6], [5, 7, 3, 6]]
    let examples = wordIds.map { sentence in
      let tokens = sentence.map { model.words[$0] }
      var example = model.encode(
        TokenInput(tokens: tokens, features: [tokens.indices.map { ["x", "y"][$0 % 2] }]))
      example.words = sentence  // the test vocabulary's words normalise to one key
      return example
    }
    let table = model.embedding.table
    var slab = [Float](repeating: 0, count: model.store.count)
    slab[table.offset + 9 * table.columns + 2] = 1e-3  // row 9's optimiser state
    let ranges = TrainingRun.updatedRanges(of: model, examples: examples, optimizerSlabs: [slab])
    func updates(row: Int) -> Bool {
      ranges.contains { $0.contains(table.offset + row * table.columns) }
    }
    XCTAssertEqual(
      (0..<table.rows).filter(updates),
      [ReservedWord.paddingId, ReservedWord.unknownId, 3, 5, 6, 7, 9])
    let batch = model.batch(
      examples, words: [[3, 5, ReservedWord.unknownId, 6], [5, 7, 3, 6]],
      gold: wordIds.map { $0.map { $0 % 3 } })
    var rng = SplitMix64(seed: 3)
    model.store.zeroGradients()
    _ = model.lossAndGradient(batch, workspace: ModelWorkspace(), dropoutRate: 0.2, rng: &rng)
    let outside = (0..<model.store.count).filter { k in !ranges.contains { $0.contains(k) } }
    XCTAssertFalse(outside.isEmpty)
    XCTAssertTrue(outside.allSatisfy { model.store.gradients[$0] == 0 })
    XCTAssertEqual(
      model.store.gradientNorm(over: ranges).bitPattern, model.store.gradientNorm().bitPattern)
  }

  /// The norm over ranges whose bounds are not multiples of 32, with zeros outside them, has
  /// the bits of the documented order: each half's element k to its partial sum k mod 32, the
  /// second half from where the update's second part starts (the middle of the ranges' total
  /// count, rounded down to 16, then the index there rounded down to 32), then the sum over j
  /// of the halves' partial sums j. Below `countWorthTwoThreads` the first half is everything:
  /// the bits of the whole pass.
  func testTheNormOverRangesHasTheDocumentedOrder() throws {
    let cases: [(count: Int, rangeLists: [[Range<Int>]])] = [
      (85, [[], [0..<85], [3..<5, 6..<7, 20..<33, 40..<41, 79..<85], [9..<10, 17..<80]]),
      (40_000, [[0..<40_000], [3..<5, 100..<20_003, 20_040..<39_999], [33..<19_990]]),
    ]
    for (count, rangeLists) in cases {
      let store = ParameterStore()
      _ = store.reserve("w", rows: 1, columns: count)
      try store.allocate()
      var rng = SplitMix64(seed: 8)
      for ranges in rangeLists {
        for k in 0..<count {
          store.gradients[k] = ranges.contains { $0.contains(k) } ? rng.nextUnitFloat() * 2 - 1 : 0
        }
        let total = ranges.reduce(0) { $0 + $1.count }
        var cut = count
        if total >= ParameterStore.countWorthTwoThreads {
          let middle = total / 32 * 16
          let indices = ranges.flatMap { Array($0) }
          cut = indices[middle] / 32 * 32
        }
        var partialSums = [[Double]](repeating: [Double](repeating: 0, count: 32), count: 2)
        for k in 0..<count {
          partialSums[k < cut ? 0 : 1][k % 32] +=
            Double(store.gradients[k]) * Double(store.gradients[k])
        }
        let square = (0..<32).reduce(0.0) { $0 + (partialSums[0][$1] + partialSums[1][$1]) }
        XCTAssertEqual(
          store.gradientNorm(over: ranges).bitPattern, square.squareRoot().bitPattern,
          "\(count) \(ranges)")
        if count < ParameterStore.countWorthTwoThreads {
          XCTAssertEqual(
            store.gradientNorm(over: ranges).bitPattern, store.gradientNorm().bitPattern,
            "\(count) \(ranges)")
        }
      }
    }
  }

  func testEveryHeadThroughTheModelMatchesFiniteDifferences() {
    for head in HeadKind.allCases {
      checkModel(makeModel(encoder: .bilstm, head: head, seed: 5), dropout: 0)
    }
  }

  /// Sentences of one length: the only batches whose left-to-right direction reads the
  /// batch's rows in place, forward and backward (packed steps with nothing to leave out).
  func testEqualLengthBatchesMatchFiniteDifferences() {
    let wordIds = [[2, 3, 4, 5], [5, 1, 3, 2], [4, 4, 2, 3]]
    let gold = [[1, 2, 0, 1], [0, 1, 2, 0], [2, 0, 1, 1]]
    for encoder in EncoderKind.allCases {
      checkModel(makeModel(encoder: encoder), dropout: 0, wordIds: wordIds, gold: gold)
      checkModel(
        makeModel(encoder: encoder, window: 1, layers: 2), dropout: 0.3, sentenceMasks: true,
        wordIds: wordIds, gold: gold)
    }
  }

  /// One dropout mask per sentence under every encoder and head (with a window, so that the
  /// smallest of them, a one-way RNN with softmax, has enough coordinates to check).
  func testSentenceMasksUnderEveryEncoderAndHeadMatchFiniteDifferences() {
    for encoder in EncoderKind.allCases {
      for head in HeadKind.allCases {
        checkModel(
          makeModel(encoder: encoder, head: head, window: 1, seed: 5), dropout: 0.3,
          sentenceMasks: true)
      }
    }
  }

  /// Sizes at the vector kernels' edges: 16 hidden units (one whole 16-lane vector per gate,
  /// no tail) and 19 labels (a label panel of 16 and a tail of 3) through the whole model.
  func testVectorWidthEdgesMatchFiniteDifferences() {
    let wordIds = (0..<6).map { s in (0...(s % 4)).map { 1 + (s + $0) % 5 } }
    for encoder in [EncoderKind.lstm, .bigru, .rnn] {
      checkModel(
        makeModel(encoder: encoder, hiddenSize: 16), dropout: 0, wordIds: wordIds,
        gold: wordIds.map { $0.map { $0 % 3 } })
    }
    let labels = ["O"] + (0..<9).flatMap { ["B-\($0)", "I-\($0)"] }
    let words = [[2, 3, 4, 5, 2, 3], [5, 1], [3, 4, 4]]
    var rng = SplitMix64(seed: 3)
    let gold = words.map { $0.map { _ in Int(rng.next() % 19) } }
    for head in HeadKind.allCases {
      checkModel(
        makeModel(head: head, labels: labels, hiddenSize: 3), dropout: 0, wordIds: words,
        gold: gold)
    }
  }
}
