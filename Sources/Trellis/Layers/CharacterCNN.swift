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
/// An empty token (a JSON request's "") has no window: its features are 0, as a context window's
/// position outside the sentence has. The max over no windows was −∞, which made the whole
/// sentence's scores NaN.
/// All windows of a batch are rows of one matrix U (P, 3·Dc), so the filters are one affine
/// layer over its rows (`Linear`, the output layer's: its products are Trellis's own kernels,
/// so the weights depend neither on the CPU nor on OpenBLAS's choice of kernels).
/// Parameters: `characters.embedding (Cv, Dc)`, `characters.w (F, 3·Dc)`, `characters.b (F)`.
struct CharacterCNN: Sendable {
  let embeddingSize: Int
  let embedding: ParameterSlot
  /// W (F, 3·Dc) and b (F): `characters.w`, `characters.b`.
  let filter: Linear
  /// Characters read per word; longer words keep their first `maximumLength`.
  static let maximumLength = 30
  /// Characters a filter reads: one and its neighbour on either side (the 3 of `3·Dc`).
  static let windowWidth = 3

  var filters: Int { filter.outputSize }

  init(characters: Int, embeddingSize: Int, filters: Int, store: ParameterStore) {
    self.embeddingSize = embeddingSize
    embedding = store.reserve("characters.embedding", rows: characters, columns: embeddingSize)
    filter = Linear(
      name: "characters", inputSize: Self.windowWidth * embeddingSize, outputSize: filters,
      store: store)
  }

  /// Character embeddings U(±√(3/Dc)), filters Glorot-uniform, biases zero.
  func initialize(_ store: ParameterStore, rng: inout SplitMix64) {
    fillUniform(
      store.value(embedding), count: embedding.count,
      limit: (3 / Float(embeddingSize)).squareRoot(), rng: &rng)
    filter.initialize(store, rng: &rng)
  }

  /// Writes `features` (rows, F) for the `tokens` (the character ids of each real token) at
  /// `rows` (token k's row index); rows without a token, and empty tokens' rows, are left as
  /// they are (zero). `concurrently` lets the filters' product split its rows over two threads
  /// (`Linear.forward`).
  func forward(
    store: ParameterStore, tokens: CharacterIds, rows: [Int],
    features: UnsafeMutablePointer<Float>,
    workspace ws: CharacterWorkspace, concurrently: Bool
  ) {
    let Dc = embeddingSize
    let F = filters
    let width = Self.windowWidth * Dc
    let P = tokens.ids.count
    let windows = ws.windows.reserve(max(P * width, 1))
    let activations = ws.activations.reserve(max(P * F, 1))
    let table = store.value(embedding)
    forEachWindowSlot(tokens) { p, k, id in
      copyRow(table + id * Dc, to: windows + p * width + k * Dc, count: Dc)
    }
    guard P > 0 else { return }
    filter.forward(
      MatrixView(base: windows, rows: P, columns: width), store: store,
      into: MutableMatrixView(base: activations, rows: P, columns: F), packedWeight: nil,
      panels: ws.panels.weight, concurrently: concurrently)
    tanh(activations, into: activations, count: P * F)
    ws.argmax = [Int32](repeating: 0, count: tokens.tokenCount * F)
    // Through a pointer: a write into the workspace's array property checks its uniqueness
    // and exclusive access every time, which was most of this loop.
    ws.argmax.withUnsafeMutableBufferPointer { argmax in
      for t in 0..<tokens.tokenCount where !tokens.range(of: t).isEmpty {
        let row = features + rows[t] * F
        let winners = argmax.baseAddress! + t * F
        for f in 0..<F { row[f] = -.infinity }
        // A token's windows are rows p of U, numbered as its ids are in `tokens.ids`.
        for p in tokens.range(of: t) {
          keepMaxima(
            of: activations + p * F, in: row, winners: winners, window: Int32(p), count: F)
        }
      }
    }
  }

  /// From ∂features (rows, F): the max passes each filter's gradient to its winning window,
  ///   ∂z_p[f] = ∂feature[f]·(1 − z_p[f]²) at p = argmax, 0 elsewhere;
  ///   ∂W += ∂Zᵀ · U,  ∂b += Σ_p ∂z_p,  ∂U = ∂Z · W (`Linear.backward`), scattered back into
  /// the character rows.
  func backward(
    store: ParameterStore, tokens: CharacterIds, rows: [Int],
    dFeatures: UnsafePointer<Float>,
    workspace ws: CharacterWorkspace
  ) {
    let Dc = embeddingSize
    let F = filters
    let width = Self.windowWidth * Dc
    let P = tokens.ids.count
    guard P > 0 else { return }
    let windows = ws.windows.pointer
    let activations = ws.activations.pointer
    let dZ = ws.dActivations.zeroed(P * F)
    for t in 0..<tokens.tokenCount where !tokens.range(of: t).isEmpty {
      for f in 0..<F {
        let p = Int(ws.argmax[t * F + f])
        let z = activations[p * F + f]
        dZ[p * F + f] += dFeatures[rows[t] * F + f] * (1 - z * z)
      }
    }
    let dWindows = ws.dWindows.reserve(P * width)
    filter.backward(
      MatrixView(base: dZ, rows: P, columns: F),
      input: MatrixView(base: windows, rows: P, columns: width), store: store,
      dx: MutableMatrixView(base: dWindows, rows: P, columns: width), panels: ws.panels)
    let table = store.gradient(embedding)
    forEachWindowSlot(tokens) { p, k, id in
      let source = dWindows + p * width + k * Dc
      let destination = table + id * Dc
      for d in 0..<Dc { destination[d] += source[d] }
    }
  }

  /// Calls `body(p, k, id)` for slot k ∈ 0..<`windowWidth` of every window p of every token in batch order
  /// (window p centred on `tokens.ids[p]`): the character id it reads, `<pad>` beyond the
  /// word's ends.
  private func forEachWindowSlot(_ tokens: CharacterIds, _ body: (Int, Int, Int) -> Void) {
    tokens.ids.withUnsafeBufferPointer { ids in
      for t in 0..<tokens.tokenCount {
        let word = tokens.range(of: t)
        for p in word {
          for k in 0..<Self.windowWidth {
            let index = p + k - Self.windowWidth / 2
            body(p, k, word.contains(index) ? Int(ids[index]) : ReservedWord.paddingId)
          }
        }
      }
    }
  }
}

/// `y[j] = x[j]` for j < count (a character embedding into its window slot): 16 floats at a
/// time, the last 16 overlapping the ones before, instead of a call to memmove for each slot's
/// few floats (Eval/SPEED.md, session 38).
@inline(__always)
private func copyRow(_ x: UnsafePointer<Float>, to y: UnsafeMutablePointer<Float>, count: Int) {
  guard count >= 16 else {
    y.update(from: x, count: count)
    return
  }
  func copy16(at j: Int) {
    UnsafeMutableRawPointer(y + j).storeBytes(
      of: UnsafeRawPointer(x + j).loadUnaligned(as: SIMD16<Float>.self), as: SIMD16<Float>.self)
  }
  var j = 0
  while j + 16 <= count {
    copy16(at: j)
    j += 16
  }
  if j < count { copy16(at: count - 16) }
}

/// Max pooling's step over one window's activations `z` (F): where `z[f] > best[f]`,
/// `best[f] = z[f]` and `winners[f] = window`; ties and NaN keep the earlier window. Branch-free,
/// 16 filters at a time, the last 16 overlapping the ones before (a second step with the same
/// window changes nothing): a loop with a branch per filter took most of `forward`'s own
/// time.
@inline(__always)
private func keepMaxima(
  of z: UnsafePointer<Float>, in best: UnsafeMutablePointer<Float>,
  winners: UnsafeMutablePointer<Int32>, window: Int32, count: Int
) {
  guard count >= 16 else {
    for f in 0..<count where z[f] > best[f] {
      best[f] = z[f]
      winners[f] = window
    }
    return
  }
  func step16(at f: Int) {
    let values = UnsafeRawPointer(z + f).loadUnaligned(as: SIMD16<Float>.self)
    let current = UnsafeRawPointer(best + f).loadUnaligned(as: SIMD16<Float>.self)
    let wins = values .> current
    UnsafeMutableRawPointer(best + f).storeBytes(
      of: current.replacing(with: values, where: wins), as: SIMD16<Float>.self)
    let previous = UnsafeRawPointer(winners + f).loadUnaligned(as: SIMD16<Int32>.self)
    UnsafeMutableRawPointer(winners + f).storeBytes(
      of: previous.replacing(with: window, where: wins), as: SIMD16<Int32>.self)
  }
  var f = 0
  while f + 16 <= count {
    step16(at: f)
    f += 16
  }
  if f < count { step16(at: count - 16) }
}

/// The character CNN's activations for one batch, grow-only.
final class CharacterWorkspace {
  let windows = Scratch()  // (P, 3·Dc) U
  let activations = Scratch()  // (P, F) z
  let dActivations = Scratch()  // (P, F)
  var argmax: [Int32] = []  // (tokens, F) winning window per filter
  let features = Scratch()  // (T·B, F)
  let dFeatures = Scratch()  // (T·B, F)
  let dWindows = Scratch()  // (P, 3·Dc) ∂U
  /// The filters' packed operands (`Linear`): W, and U for ∂W.
  let panels = (weight: Scratch(), input: Scratch())
}
