import XCTest

@testable import Trellis

/// `InferenceWeights`: inference reads Wx, Wh and the output layer's W packed once per weight
/// version and, on a model without a context window, the word embedding's part of the first
/// layer's input projections from per-word tables; its emissions must be the training pass's bit for
/// bit (both form every product by `packedProduct`, which sums each element in the same
/// order whatever the rows), for every encoder, in both directions, with padding, stacked
/// layers, and after the weights change.
final class InferenceWeightsTests: XCTestCase {
  /// Sentences of different lengths (padding in both directions) over the model's words.
  var wordIds = [[2, 3, 4, 5, 1], [5, 4], [3], [2, 2, 3, 5]]

  /// The emissions of every real token (rows `t·B + b` with t < the sentence's length; padded
  /// rows are never read) from the inference pass (with the tables when they apply) and from
  /// the training pass at dropout 0 (the batch's own input projections).
  func emissions(_ model: TaggerModel) -> (inference: [Float], training: [Float]) {
    let inputs = wordIds.map { TokenInput(tokens: $0.map { model.words[$0] }) }
    let batch = model.batch(
      inputs.map(model.encode), words: wordIds, gold: wordIds.map { $0.map { $0 % 3 } })
    func realRows(_ workspace: ModelWorkspace) -> [Float] {
      wordIds.indices.flatMap { b in
        let view = model.emissionView(workspace, batch: batch, sentence: b)
        return (0..<view.rows).flatMap { t in (0..<view.columns).map { view[t, $0] } }
      }
    }
    let inference = ModelWorkspace()
    model.forward(batch, workspace: inference)
    let training = ModelWorkspace()
    var rng = SplitMix64(seed: 1)
    _ = model.lossAndGradient(batch, workspace: training, dropoutRate: 0, rng: &rng)
    return (realRows(inference), realRows(training))
  }

  func assertSameEmissions(_ model: TaggerModel, _ context: String) {
    let (inference, training) = emissions(model)
    XCTAssertEqual(
      inference.map(\.bitPattern), training.map(\.bitPattern),
      "\(context): the same products, the same bits")
  }

  func testTablesGiveTheBatchedProductsEmissions() {
    for encoder in EncoderKind.allCases {
      for layers in [1, 2] {
        let model = makeModel(encoder: encoder, embeddingSize: 5, hiddenSize: 4, layers: layers)
        XCTAssertTrue(
          InputProjectionTables.applies(to: model.embedding, encoder: model.encoder.layers[0]))
        assertSameEmissions(model, "\(encoder), \(layers) layer(s)")
      }
    }
  }

  /// The packed recurrent and output products in models without tables too (character CNN,
  /// window), at batches of 13 sentences (the kernel's tiles of 8, 4 and 1 rows), hidden sizes
  /// whose gates fill panels of 16 in part (9: LSTM 36 = 16 + 16 + 4, GRU 27, Elman 9) or
  /// exactly (16 rows of Wh per gate), and 3 or 21 labels (output rows: part of a panel, one
  /// and a part).
  func testPackedProductsGiveTrainingsEmissions() {
    wordIds = (0..<13).map { b in (0..<(1 + b % 6)).map { 1 + ($0 * 7 + b) % 5 } }
    let manyLabels = ["O"] + (0..<10).flatMap { ["B-\($0)", "I-\($0)"] }
    for encoder in EncoderKind.allCases {
      for hiddenSize in [9, 16] {
        for model in [
          makeModel(encoder: encoder, embeddingSize: 5, hiddenSize: hiddenSize),
          makeModel(encoder: encoder, hiddenSize: hiddenSize, characterFilters: 3, layers: 2),
          makeModel(encoder: encoder, window: 1, labels: manyLabels, hiddenSize: hiddenSize),
        ] {
          assertSameEmissions(model, "\(encoder), hidden \(hiddenSize)")
        }
      }
    }
  }

  /// New weights (a training step, a restored snapshot) give new tables and panels.
  func testTablesFollowTheWeights() {
    let model = makeModel(embeddingSize: 5, hiddenSize: 4)
    assertSameEmissions(model, "before")
    let before = emissions(model).inference
    var values = model.store.snapshot()
    for k in values.indices { values[k] *= 1.5 }
    model.store.restore(values)
    let after = emissions(model).inference
    XCTAssertNotEqual(before, after, "inference kept the old weights")
    assertSameEmissions(model, "after new weights")
  }

  /// Tables built on two threads, one a direction, are the tables each direction's product
  /// gives: a table built for the wrong direction, or not at all, changes the emissions.
  func testWeightsPreparedOnTwoThreadsAreTheSame() {
    for encoder in [EncoderKind.bilstm, .bigru, .lstm] {
      let model = makeModel(encoder: encoder, embeddingSize: 5, hiddenSize: 4)
      model.prepareForTagging(threads: 2)
      assertSameEmissions(model, "\(encoder) prepared on two threads")
    }
  }

  /// Weights prepared ahead (`prepareForTagging`) are the current ones, and weights that change
  /// after it still reach inference.
  func testPreparedWeightsAreTheCurrentOnes() {
    let model = makeModel(embeddingSize: 5, hiddenSize: 4)
    model.prepareForTagging()
    assertSameEmissions(model, "prepared")
    let prepared = emissions(model).inference
    var values = model.store.snapshot()
    for k in values.indices { values[k] *= 1.5 }
    model.store.restore(values)
    XCTAssertNotEqual(prepared, emissions(model).inference, "inference kept the prepared weights")
    assertSameEmissions(model, "prepared, then new weights")
  }

  /// Every input without a context window qualifies, within the memory bound; the tables are
  /// the whole projections only where the input is the word embedding alone, and are the word
  /// embedding's part of them beside feature columns and character features.
  func testTablesApplyWithoutAWindow() {
    func tables(_ model: TaggerModel) -> InputProjectionTables? {
      guard InputProjectionTables.applies(to: model.embedding, encoder: model.encoder.layers[0])
      else { return nil }
      return InputProjectionTables(
        embedding: model.embedding, encoder: model.encoder.layers[0],
        inputPanels: InferenceWeights(
          embedding: model.embedding, encoder: model.encoder, output: model.output,
          store: model.store, concurrently: false
        ).directionPanels[0].map(\.input), store: model.store, concurrently: false)
    }
    XCTAssertNil(tables(makeModel(window: 1)))
    XCTAssertEqual(tables(makeModel(embeddingSize: 5))?.coversInput, true)
    for model in [
      makeModel(embeddingSize: 5, characterFilters: 2),
      makeModel(embeddingSize: 5, featureColumns: [FeatureColumn(column: 2, size: 2)]),
    ] {
      XCTAssertEqual(tables(model)?.coversInput, false)
      XCTAssertEqual(tables(model)?.depth, 5)
      assertSameEmissions(model, "tables of the word embedding's part")
    }
    // 8,192 words × 2 directions × 4·256 gates × 4 bytes = 64 MiB, the bound; one more word
    // is over it.
    XCTAssertNotNil(tables(makeModel(words: 8_192, embeddingSize: 1, hiddenSize: 256)))
    XCTAssertNil(tables(makeModel(words: 8_193, embeddingSize: 1, hiddenSize: 256)))
    assertSameEmissions(makeModel(window: 1), "batched product")
  }
}
