import Foundation
import TrellisKernels

/// What inference derives from the weights once per version of them (`ParameterStore.version`)
/// instead of once per batch: every recurrent direction's Wx and Wh and the output layer's W
/// packed for `packedProduct` (training packs them once per batch; OpenBLAS packed both
/// operands anew at every call; Eval/SPEED.md gives what the kernel changed in tagging's
/// tokens/s), and, for models without a context window, the first layer's input projections
/// of every word's embedding (`InputProjectionTables`). Only inference reads
/// them (dev evaluation between epochs included); they hold the products training forms,
/// summed in the same order, so trained weights do not depend on them.
final class InferenceWeightCache: @unchecked Sendable {
  private var cached: (version: Int, weights: InferenceWeights)?
  private let lock = NSLock()

  /// The derived weights of `version`, built on first use after a change (`concurrently`: the
  /// input-projection tables on a thread per direction). A caller keeps the returned object
  /// alive while it reads them.
  func weights(
    version: Int, embedding: EmbeddingLayer, encoder: EncoderStack, output: Linear,
    store: ParameterStore, concurrently: Bool
  ) -> InferenceWeights {
    lock.withLock {
      if let cached, cached.version == version { return cached.weights }
      // The old version's go first, unless a caller still reads them: not two sets at once.
      cached = nil
      let weights = InferenceWeights(
        embedding: embedding, encoder: encoder, output: output, store: store,
        concurrently: concurrently)
      cached = (version, weights)
      return weights
    }
  }
}

/// One version's derived weights (see `InferenceWeightCache`), in `Scratch` buffers: pages of
/// their own, given back to the system with this object (as heap blocks, each new version's
/// tables would fragment malloc's arenas).
final class InferenceWeights: @unchecked Sendable {
  /// `directionPanels[l][d]`: layer l, direction d's Wx and Wh in `trellis_pack_panels`'s
  /// layout.
  let directionPanels: [[DirectionPanels]]
  /// The output layer's W `(L, dirs·H)`, packed the same way.
  let outputPanels: UnsafePointer<Float>
  /// The first layer's input-projection tables, or nil where they do not apply.
  let inputProjections: InputProjectionTables?
  private let panelBuffers: [[(input: Scratch, recurrent: Scratch)]]
  private let outputBuffer = Scratch(oneSize: true)

  init(
    embedding: EmbeddingLayer, encoder: EncoderStack, output: Linear, store: ParameterStore,
    concurrently: Bool
  ) {
    // W `(columns, depth)` of `slot` packed into `buffer`.
    func packed(_ slot: ParameterSlot, into buffer: Scratch) -> Scratch {
      _ = packPanels(store.value(slot), columns: slot.rows, depth: slot.columns, into: buffer)
      return buffer
    }
    panelBuffers = encoder.layers.map { layer in
      layer.directions.map {
        (packed($0.wx, into: Scratch(oneSize: true)), packed($0.wh, into: Scratch(oneSize: true)))
      }
    }
    directionPanels = panelBuffers.map {
      $0.map {
        DirectionPanels(
          input: UnsafePointer($0.input.pointer), recurrent: UnsafePointer($0.recurrent.pointer))
      }
    }
    outputPanels = UnsafePointer(packed(output.weight, into: outputBuffer).pointer)
    inputProjections =
      InputProjectionTables.applies(to: embedding, encoder: encoder.layers[0])
      ? InputProjectionTables(
        embedding: embedding, encoder: encoder.layers[0],
        inputPanels: directionPanels[0].map(\.input), store: store, concurrently: concurrently)
      : nil
  }

  /// The Floats a model's derived weights take, which training asks the system for before
  /// its first dev evaluation builds them (`TrainingState.checkMemory`): as large as the
  /// recurrent and output weights, and the tables.
  static func floats(embedding: EmbeddingLayer, encoder: EncoderStack, output: Linear) -> Int {
    let packed = encoder.layers.flatMap(\.directions).flatMap { [$0.wx, $0.wh] } + [output.weight]
    let panels = packed.reduce(0) { $0 + panelsSize(columns: $1.rows, depth: $1.columns) }
    let first = encoder.layers[0]
    guard InputProjectionTables.applies(to: embedding, encoder: first) else { return panels }
    return panels + embedding.table.rows * first.directions.reduce(0) { $0 + $1.gateWidth }
  }
}

/// The first encoder layer's input projections of every word's embedding, for a model
/// without a context window: there row `t·B + b` of the input begins with `E[w]` (D columns)
/// for its word w, so in its projection (G·H rows: G gate blocks of H; In the input's width)
///   zx = Σ_{k<D} E[w]_k · Wx[·, k]  +  Σ_{D≤k<In} x_k · Wx[·, k]  +  bx
/// the first sum is one of V rows, computed once per version of the weights instead of once
/// per token. Where the input is the word embedding alone (In = D, `coversInput`),
/// `tables[d][w·G·H ..< (w+1)·G·H] = E[w] · Wx_dᵀ + bx_d` is the whole projection; otherwise it is
/// the first sum, from which `InputProjection` continues the product over the other columns
/// (feature embeddings, character features) and then adds bx. Both are sums in k order from
/// `packedProduct` over the vocabulary, which sums each element in k order whatever the rows,
/// so they are the bits of the batched product that training and the other models form.
/// With the tables, `trellis bench --model M --test FILE` (M trained with `--character-filters
/// 0`, FILE ATIS test × 40) tagged 1.43× as many tokens/s, and a whole `trellis tag` process on
/// FILE took 0.75 of the time (Eval/SPEED.md, "Session 5").
final class InputProjectionTables: @unchecked Sendable {
  /// Tables larger than this (all directions together) are not built: vocabularies of a few
  /// hundred thousand words (`--embeddings-scope all`) keep the batched product, and memory.
  static let maximumBytes = 64 << 20

  /// Whether the layer's input begins with `E[w]` (no window) and the tables fit in
  /// `maximumBytes`.
  static func applies(to embedding: EmbeddingLayer, encoder: Encoder) -> Bool {
    guard embedding.window == 0 else { return false }
    let gateWidths = encoder.directions.reduce(0) { $0 + $1.gateWidth }
    return embedding.table.rows * gateWidths * MemoryLayout<Float>.size <= maximumBytes
  }

  private let buffers: [Scratch]
  /// `tables[d]`: (V, G·H), E · Wx_d[·, ..<D]ᵀ, then, when `coversInput`, + bx_d on every row.
  let tables: [UnsafePointer<Float>]
  /// D: the input columns (the first) whose products the tables hold.
  let depth: Int
  /// Whether the tables are the whole input projections (the input is `E[w]` alone), bias
  /// included.
  let coversInput: Bool

  /// `inputPanels[d]`: direction d's Wx packed (`InferenceWeights.directionPanels`);
  /// `concurrently`: each direction's table on a thread of its own.
  init(
    embedding: EmbeddingLayer, encoder: Encoder, inputPanels: [UnsafePointer<Float>],
    store: ParameterStore, concurrently: Bool
  ) {
    let V = embedding.table.rows
    let D = embedding.wordSize
    let In = encoder.inputSize
    let coversInput = In == D
    (depth, self.coversInput) = (D, coversInput)
    /// Direction d's table.
    func table(_ d: Int) -> Scratch {
      let (direction, panels) = (encoder.directions[d], inputPanels[d])
      let GH = direction.gateWidth
      let buffer = Scratch(oneSize: true)
      let table = buffer.reserve(V * GH)
      // Wx_d's first D columns `(G·H, D)`, packed on their own, unless they are all of it.
      let wordPanels = Scratch(oneSize: true)
      if !coversInput {
        let wx = store.value(direction.wx)
        let wordColumns = (0..<GH).flatMap { g in UnsafeBufferPointer(start: wx + g * In, count: D)
        }
        _ = packPanels(wordColumns, columns: GH, depth: D, into: wordPanels)
      }
      packedProduct(
        store.value(embedding.table), rows: V, depth: D,
        panels: coversInput ? panels : UnsafePointer(wordPanels.pointer), columns: GH, into: table)
      if coversInput { addBias(store.value(direction.bx), to: table, rows: V, n: GH) }
      return buffer
    }
    let directions = encoder.directions.count
    if concurrently && directions > 1 {
      var built = [Scratch?](repeating: nil, count: directions)
      built.withUnsafeMutableBufferPointer { built in
        // Each iteration writes its own element.
        performConcurrently(iterations: directions) { built[$0] = table($0) }
      }
      buffers = built.map { $0! }
    } else {
      buffers = (0..<directions).map(table)
    }
    tables = buffers.map { UnsafePointer($0.pointer) }
  }
}
