import Foundation

/// The first encoder layer's input projections of every word, for inference with models whose
/// encoder input is the word embedding alone (no window, feature columns or character CNN):
/// there row `t·B + b` of the input is `E[w]` for its word w, so its projection
///   zx = E[w] · Wxᵀ + bx                                   (G = gates · H)
/// is one of V rows, computed once per version of the weights instead of once per token. For
/// direction d: `tables[d]` is `(V, G)`, `tables[d][w·G ..< (w+1)·G] = E[w] · Wx_dᵀ + bx_d`.
/// With the tables, `trellis bench --model M --test FILE` (M trained with `--character-filters
/// 0`, FILE ATIS test × 40) tagged 1.43× as many tokens/s, and a whole `trellis tag` process on
/// FILE took 0.75 of the time (README "Speed"). The products are formed by one GEMM over the
/// vocabulary instead of one over the batch, so values can differ from the batched product in
/// the last bits, as they already do between batches of other sizes. Only inference reads the
/// tables (dev evaluation between epochs included); the training passes keep the product.
final class InputProjectionCache: @unchecked Sendable {
  /// Tables larger than this (all directions together) are not built: vocabularies of a few
  /// hundred thousand words (`--embeddings-scope all`) keep the batched product, and memory.
  static let maximumBytes = 64 << 20

  private var cached: (version: Int, tables: InputProjectionTables)?
  private let lock = NSLock()

  /// The tables for the weights of `version`, built on first use after a change; nil when the
  /// model's input is not the word embedding alone or the tables would exceed `maximumBytes`.
  /// A caller keeps the returned object alive while it reads the tables.
  func tables(
    version: Int, embedding: EmbeddingLayer, encoder: Encoder, store: ParameterStore
  ) -> InputProjectionTables? {
    guard Self.applies(to: embedding, encoder: encoder) else { return nil }
    return lock.withLock {
      if let cached, cached.version == version { return cached.tables }
      let tables = InputProjectionTables(embedding: embedding, encoder: encoder, store: store)
      cached = (version, tables)
      return tables
    }
  }

  /// Whether the layer's input (the embedding layer's output) is `E[w]` alone and the tables
  /// fit in `maximumBytes`.
  static func applies(to embedding: EmbeddingLayer, encoder: Encoder) -> Bool {
    guard embedding.outputSize == embedding.wordSize else { return false }
    let gateWidths = encoder.directions.reduce(0) { $0 + $1.gateWidth }
    return embedding.table.rows * gateWidths * MemoryLayout<Float>.size <= maximumBytes
  }
}

/// One `(V, G)` table per direction of the first encoder layer (see `InputProjectionCache`),
/// in `Scratch` buffers: pages of their own, given back to the system with this object (as
/// heap blocks, each new version's tables would fragment malloc's arenas).
final class InputProjectionTables: @unchecked Sendable {
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
