import Foundation

/// Word features from the word's characters (Ma & Hovy 2016's character CNN): embed each
/// character, slide F filters of width 3 over the word, and keep each filter's maximum. The
/// word-level embedding of an unseen word is `<unk>`'s; its characters ("-ville", digits, a
/// capital) still say something, which is what this layer adds.
///
/// Legend: Cv characters in the vocabulary, Dc character embedding size, F filters, P the
/// character positions of all real tokens of a batch. For a token with characters c_0 … c_{n−1}
/// (c_{−1} = c_n = `<pad>`):
///   u_p = [E[c_{p−1}], E[c_p], E[c_{p+1}]]          (3·Dc)   window at position p
///   z_p = tanh(W · u_p + b)                          (F)
///   feature[f] = max_p z_p[f],  argmax kept for backward
/// All windows of a batch are rows of one matrix U (P, 3·Dc), so the filters are one product
/// (`packedProduct`, as the encoder's: its sums, and so the weights, do not depend on the CPU
/// or on OpenBLAS's choice of kernels).
/// Parameters: `characters.embedding (Cv, Dc)`, `characters.w (F, 3·Dc)`, `characters.b (F)`.
struct CharacterCNN: Sendable {
  let embeddingSize: Int
  let filters: Int
  let embedding: ParameterSlot
  let weight: ParameterSlot
  let bias: ParameterSlot
  /// Characters read per word; longer words keep their first `maximumLength`.
  static let maximumLength = 30

  init(characters: Int, embeddingSize: Int, filters: Int, store: ParameterStore) {
    self.embeddingSize = embeddingSize
    self.filters = filters
    embedding = store.reserve("characters.embedding", rows: characters, columns: embeddingSize)
    weight = store.reserve("characters.w", rows: filters, columns: 3 * embeddingSize)
    bias = store.reserve("characters.b", rows: 1, columns: filters)
  }

  /// Character embeddings U(±√(3/Dc)), filters Glorot-uniform, biases zero.
  func initialize(_ store: ParameterStore, rng: inout SplitMix64) {
    fillUniform(
      store.value(embedding), count: embedding.count,
      limit: (3 / Float(embeddingSize)).squareRoot(), rng: &rng)
    let limit = (6 / Float(3 * embeddingSize + filters)).squareRoot()
    fillUniform(store.value(weight), count: weight.count, limit: limit, rng: &rng)
  }

  /// Writes `features` (rows, F) for the `tokens` (row index and character ids of each real
  /// token); rows without a token are left as they are. With `concurrently`, the windows' rows
  /// are split over two threads (`Linear.forward`'s rule; the same bits).
  func forward(
    store: ParameterStore, tokens: [(row: Int, characters: [Int32])],
    features: UnsafeMutablePointer<Float>,
    workspace ws: CharacterWorkspace, concurrently: Bool
  ) {
    let Dc = embeddingSize
    let F = filters
    let width = 3 * Dc
    let P = tokens.reduce(0) { $0 + $1.characters.count }
    let windows = ws.windows.reserve(max(P * width, 1))
    let activations = ws.activations.reserve(max(P * F, 1))
    let table = store.value(embedding)
    forEachWindowSlot(tokens) { p, k, id in
      (windows + p * width + k * Dc).update(from: table + id * Dc, count: Dc)
    }
    guard P > 0 else { return }
    // Z (P, F) = U · Wᵀ, W (F, 3·Dc) packed.
    let weightPanels = UnsafePointer(
      packPanels(store.value(weight), columns: F, depth: width, into: ws.weightPanels))
    func product(rows: Range<Int>) {
      packedProduct(
        windows + rows.lowerBound * width, rows: rows.count, depth: width, panels: weightPanels,
        columns: F, into: activations + rows.lowerBound * F)
    }
    if concurrently && P >= Linear.rowsWorthTwoThreads {
      ThreadPair.shared.run { part in product(rows: part == 0 ? 0..<P / 2 : P / 2..<P) }
    } else {
      product(rows: 0..<P)
    }
    addBias(store.value(bias), to: activations, rows: P, n: F)
    tanh(activations, into: activations, count: P * F)
    ws.argmax = [Int32](repeating: 0, count: tokens.count * F)
    // Through a pointer: a write into the workspace's array property checks its uniqueness
    // and exclusive access every time, which was most of this loop.
    ws.argmax.withUnsafeMutableBufferPointer { argmax in
      var p = 0
      for (t, token) in tokens.enumerated() {
        let row = features + token.row * F
        let winners = argmax.baseAddress! + t * F
        for f in 0..<F { row[f] = -.infinity }
        for position in 0..<token.characters.count {
          let z = activations + (p + position) * F
          for f in 0..<F where z[f] > row[f] {
            row[f] = z[f]
            winners[f] = Int32(p + position)
          }
        }
        p += token.characters.count
      }
    }
  }

  /// From ∂features (rows, F): the max passes each filter's gradient to its winning window,
  ///   ∂z_p[f] = ∂feature[f]·(1 − z_p[f]²) at p = argmax, 0 elsewhere;
  ///   ∂W += ∂Zᵀ · U,  ∂b += Σ_p ∂z_p,  ∂U = ∂Z · W, scattered back into the character rows.
  /// ∂U is formed on one thread while ∂W and ∂b are formed on another, as `Linear.backward`
  /// does: U is packed first, so ∂U can take its memory.
  func backward(
    store: ParameterStore, tokens: [(row: Int, characters: [Int32])],
    dFeatures: UnsafePointer<Float>,
    workspace ws: CharacterWorkspace
  ) {
    let Dc = embeddingSize
    let F = filters
    let width = 3 * Dc
    let P = tokens.reduce(0) { $0 + $1.characters.count }
    guard P > 0 else { return }
    let windows = ws.windows.pointer
    let activations = ws.activations.pointer
    let dZ = ws.dActivations.zeroed(P * F)
    for (t, token) in tokens.enumerated() {
      for f in 0..<F {
        let p = Int(ws.argmax[t * F + f])
        let z = activations[p * F + f]
        dZ[p * F + f] += dFeatures[token.row * F + f] * (1 - z * z)
      }
    }
    // U (P, 3·Dc) packed as the (depth, columns) operand of ∂W; W (F, 3·Dc) as ∂U's.
    let windowPanels = UnsafePointer(
      packPanels(windows, columns: width, depth: P, transposed: true, into: ws.windowPanels))
    let weightPanels = UnsafePointer(
      packPanels(
        store.value(weight), columns: width, depth: F, transposed: true, into: ws.weightPanels))
    let dWindows = ws.windows.pointer  // U is dead once packed: ∂U takes its place
    ThreadPair.shared.run { part in
      if part == 0 {
        packedProduct(
          dZ, rows: P, depth: F, panels: weightPanels, columns: width, into: dWindows)
      } else {
        // ∂W (F, 3·Dc) += ∂Zᵀ · U, ∂Zᵀ read in place.
        addPackedProduct(
          dZ, .transposed, rows: F, depth: P, panels: windowPanels, columns: width,
          to: store.gradient(weight))
        addColumnSums(of: dZ, rows: P, n: F, to: store.gradient(bias))
      }
    }
    let table = store.gradient(embedding)
    forEachWindowSlot(tokens) { p, k, id in
      let source = dWindows + p * width + k * Dc
      let destination = table + id * Dc
      for d in 0..<Dc { destination[d] += source[d] }
    }
  }

  /// Calls `body(p, k, id)` for slot k ∈ 0…2 of every window p of every token in batch order:
  /// the character id it reads, `<pad>` beyond the word's ends.
  private func forEachWindowSlot(
    _ tokens: [(row: Int, characters: [Int32])], _ body: (Int, Int, Int) -> Void
  ) {
    var p = 0
    for token in tokens {
      let n = token.characters.count
      for position in 0..<n {
        for k in 0..<3 {
          let index = position + k - 1
          body(
            p, k, index >= 0 && index < n ? Int(token.characters[index]) : ReservedWord.paddingId)
        }
        p += 1
      }
    }
  }
}

/// The character CNN's activations for one batch, grow-only.
final class CharacterWorkspace {
  let windows = Scratch()  // (P, 3·Dc) U; ∂U in backward
  let activations = Scratch()  // (P, F) z
  let dActivations = Scratch()  // (P, F)
  var argmax: [Int32] = []  // (tokens, F) winning window per filter
  let features = Scratch()  // (T·B, F)
  let dFeatures = Scratch()  // (T·B, F)
  let weightPanels = Scratch()  // W packed: Wᵀ's panels forward, W's for ∂U (`packPanels`)
  let windowPanels = Scratch()  // U packed for ∂W
}
