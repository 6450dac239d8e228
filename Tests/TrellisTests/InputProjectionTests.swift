import XCTest

@testable import Trellis

/// `InputProjectionCache`: inference on a model whose encoder input is the word embedding alone
/// reads the first layer's input projections from per-word tables; its emissions must be those
/// of the batched product that training computes, for every encoder, in both directions,
/// with padding, stacked layers, and after the weights change.
final class InputProjectionTests: XCTestCase {
  /// Sentences of different lengths (padding in both directions) over the model's words.
  let wordIds = [[2, 3, 4, 5, 1], [5, 4], [3], [2, 2, 3, 5]]

  /// The emissions of every real token (rows `t·B + b` with t < the sentence's length; padded
  /// rows are never read) from the inference pass (with the tables when they apply) and from
  /// the training pass at dropout 0 (always the batched product).
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
    assertClose(
      inference.map(Double.init), training.map(Double.init), absolute: 1e-5, relative: 1e-5,
      context)
  }

  func testTablesGiveTheBatchedProductsEmissions() {
    for encoder in EncoderKind.allCases {
      for layers in [1, 2] {
        let model = makeModel(encoder: encoder, embeddingSize: 5, hiddenSize: 4, layers: layers)
        XCTAssertTrue(
          InputProjectionCache.applies(to: model.embedding, encoder: model.encoder.layers[0]))
        assertSameEmissions(model, "\(encoder), \(layers) layer(s)")
      }
    }
  }

  /// New weights (a training step, a restored snapshot) give new tables.
  func testTablesFollowTheWeights() {
    let model = makeModel(embeddingSize: 5, hiddenSize: 4)
    assertSameEmissions(model, "before")
    let before = emissions(model).inference
    var values = model.store.snapshot()
    for k in values.indices { values[k] *= 1.5 }
    model.store.restore(values)
    let after = emissions(model).inference
    XCTAssertNotEqual(before, after, "the tables kept the old weights")
    assertSameEmissions(model, "after new weights")
  }

  /// Only a plain word-embedding input qualifies, and only tables within the memory bound.
  func testOtherInputsKeepTheBatchedProduct() {
    func applies(_ model: TaggerModel) -> Bool {
      InputProjectionCache.applies(to: model.embedding, encoder: model.encoder.layers[0])
    }
    XCTAssertFalse(applies(makeModel(window: 1)))
    XCTAssertFalse(applies(makeModel(characterFilters: 2)))
    XCTAssertFalse(applies(makeModel(featureColumns: [FeatureColumn(column: 2, size: 2)])))
    // 8,192 words × 2 directions × 4·256 gates × 4 bytes = 64 MiB, the bound; one more word
    // is over it.
    XCTAssertTrue(applies(makeModel(words: 8_192, embeddingSize: 1, hiddenSize: 256)))
    XCTAssertFalse(applies(makeModel(words: 8_193, embeddingSize: 1, hiddenSize: 256)))
    for model in [makeModel(window: 1), makeModel(characterFilters: 2)] {
      assertSameEmissions(model, "batched product")
    }
  }
}
