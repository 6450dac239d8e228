import Foundation
import TrellisKernels

/// What inference derives from the weights once per version of them (`ParameterStore.version`)
/// instead of once per batch: every recurrent direction's Wh and the output layer's W packed
/// for `packedProduct` (OpenBLAS packs both operands anew at every call; README "Speed" gives
/// what the kernel changed in tagging's tokens/s), and, for models whose encoder input is the
/// word embedding alone, the first layer's input projections of every word
/// (`InputProjectionTables`). Only inference reads them (dev evaluation between epochs
/// included); the training passes keep OpenBLAS's products, so trained weights do not depend
/// on them.
final class InferenceWeightCache: @unchecked Sendable {
  private var cached: (version: Int, weights: InferenceWeights)?
  private let lock = NSLock()

  /// The derived weights of `version`, built on first use after a change. A caller keeps the
  /// returned object alive while it reads them.
  func weights(
    version: Int, embedding: EmbeddingLayer, encoder: EncoderStack, output: Linear,
    store: ParameterStore
  ) -> InferenceWeights {
    lock.withLock {
      if let cached, cached.version == version { return cached.weights }
      let weights = InferenceWeights(
        embedding: embedding, encoder: encoder, output: output, store: store)
      cached = (version, weights)
      return weights
    }
  }
}

/// One version's derived weights (see `InferenceWeightCache`), in `Scratch` buffers: pages of
/// their own, given back to the system with this object (as heap blocks, each new version's
/// tables would fragment malloc's arenas).
final class InferenceWeights: @unchecked Sendable {
  /// `recurrentPanels[l][d]`: layer l, direction d's Wh `(G, H)` in `trellis_pack_panels`'s
  /// layout, `⌈G/16⌉·16·H` floats.
  let recurrentPanels: [[UnsafePointer<Float>]]
  /// The output layer's W `(L, dirs·H)`, packed the same way.
  let outputPanels: UnsafePointer<Float>
  /// The first layer's input-projection tables, or nil where they do not apply.
  let inputProjections: InputProjectionTables?
  private let panelBuffers: [[Scratch]]
  private let outputBuffer = Scratch()

  init(embedding: EmbeddingLayer, encoder: EncoderStack, output: Linear, store: ParameterStore) {
    // W `(columns, depth)` of `slot` packed into `buffer`.
    func packed(_ slot: ParameterSlot, into buffer: Scratch) -> Scratch {
      trellis_pack_panels(
        store.value(slot), slot.rows, slot.columns,
        buffer.reserve(trellis_panels_size(slot.rows, slot.columns)))
      return buffer
    }
    panelBuffers = encoder.layers.map { layer in
      layer.directions.map { packed($0.wh, into: Scratch()) }
    }
    recurrentPanels = panelBuffers.map { $0.map { UnsafePointer($0.pointer) } }
    outputPanels = UnsafePointer(packed(output.weight, into: outputBuffer).pointer)
    inputProjections =
      InputProjectionTables.applies(to: embedding, encoder: encoder.layers[0])
      ? InputProjectionTables(embedding: embedding, encoder: encoder.layers[0], store: store)
      : nil
  }
}

/// The first encoder layer's input projections of every word, for a model whose encoder input
/// is the word embedding alone (no window, feature columns or character CNN): there row `t·B + b`
/// of the input is `E[w]` for its word w, so its projection
///   zx = E[w] · Wxᵀ + bx                                   (G = gates · H)
/// is one of V rows, computed once per version of the weights instead of once per token. For
/// direction d: `tables[d]` is `(V, G)`, `tables[d][w·G ..< (w+1)·G] = E[w] · Wx_dᵀ + bx_d`.
/// With the tables, `trellis bench --model M --test FILE` (M trained with `--character-filters
/// 0`, FILE ATIS test × 40) tagged 1.43× as many tokens/s, and a whole `trellis tag` process on
/// FILE took 0.75 of the time (README "Speed"). The products are formed by one GEMM over the
/// vocabulary instead of one over the batch, so values can differ from the batched product in
/// the last bits, as they already do between batches of other sizes.
final class InputProjectionTables: @unchecked Sendable {
  /// Tables larger than this (all directions together) are not built: vocabularies of a few
  /// hundred thousand words (`--embeddings-scope all`) keep the batched product, and memory.
  static let maximumBytes = 64 << 20

  /// Whether the layer's input (the embedding layer's output) is `E[w]` alone and the tables
  /// fit in `maximumBytes`.
  static func applies(to embedding: EmbeddingLayer, encoder: Encoder) -> Bool {
    guard embedding.outputSize == embedding.wordSize else { return false }
    let gateWidths = encoder.directions.reduce(0) { $0 + $1.gateWidth }
    return embedding.table.rows * gateWidths * MemoryLayout<Float>.size <= maximumBytes
  }

  private let buffers: [Scratch]
  /// `tables[d]`: E · Wx_dᵀ, then + bx_d on every row.
  let tables: [UnsafePointer<Float>]

  init(embedding: EmbeddingLayer, encoder: Encoder, store: ParameterStore) {
    let V = embedding.table.rows
    buffers = encoder.directions.map { direction in
      let buffer = Scratch()
      let table = buffer.reserve(V * direction.gateWidth)
      gemm(
        store.valueMatrix(embedding.table), .none, store.valueMatrix(direction.wx), .transposed,
        into: MutableMatrixView(base: table, rows: V, columns: direction.gateWidth))
      addBias(store.value(direction.bx), to: table, rows: V, n: direction.gateWidth)
      return buffer
    }
    tables = buffers.map { UnsafePointer($0.pointer) }
  }
}
