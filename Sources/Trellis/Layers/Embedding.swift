/// The encoder's input: each token's word embedding, joined by its character-CNN features when
/// the model has a character CNN, and, with a context window K, the representations of the K
/// tokens on each side (Mesnil et al. 2013). For row `t·B + b` of a time-major batch:
///   rep(p)      = [E[word(p)], charCNN(p)]                 (Dt = D + F)
///   x[t·B + b]  = [rep(t−K), …, rep(t), …, rep(t+K)]       (In = (2K+1)·Dt)
/// with `<pad>`'s embedding and zero features at positions outside the sentence.
/// Parameters: `embedding (V, D)` (row 0 `<pad>`, row 1 `<unk>`), then the CNN's own.
struct EmbeddingLayer: Sendable {
  let table: ParameterSlot
  let characterCNN: CharacterCNN?
  /// K.
  let window: Int

  /// D.
  var wordSize: Int { table.columns }
  /// F, 0 without a character CNN.
  var featureSize: Int { characterCNN?.filters ?? 0 }
  /// Dt.
  var tokenSize: Int { wordSize + featureSize }
  /// In.
  var outputSize: Int { (2 * window + 1) * tokenSize }

  init(configuration: TaggerConfiguration, wordCount: Int, characterCount: Int, store: ParameterStore) {
    table = store.reserve("embedding", rows: wordCount, columns: configuration.embeddingSize)
    characterCNN =
      configuration.characterFilters > 0
      ? CharacterCNN(
        characters: characterCount, embeddingSize: configuration.characterEmbeddingSize,
        filters: configuration.characterFilters, store: store)
      : nil
    window = configuration.window
  }

  /// Embeddings U(±√(3/D)) (unit expected squared norm), then the character CNN's weights.
  func initialize(_ store: ParameterStore, rng: inout SplitMix64) {
    let limit = (3 / Float(wordSize)).squareRoot()
    fillUniform(store.value(table), count: table.count, limit: limit, rng: &rng)
    characterCNN?.initialize(store, rng: &rng)
  }

  /// Fills `x` `(T·B, In)` as described above.
  func forward(
    _ batch: Batch, store: ParameterStore, into x: UnsafeMutablePointer<Float>, workspace: CharacterWorkspace
  ) {
    let B = batch.size, D = wordSize, F = featureSize, Dt = tokenSize, In = outputSize
    let words = store.value(table)
    let features = workspace.features.zeroed(max(batch.steps * B * F, 1))  // (T·B, F)
    characterCNN?.forward(store: store, tokens: batch.characters, features: features, workspace: workspace)
    for t in 0..<batch.steps {
      for b in 0..<B {
        let row = x + (t * B + b) * In
        forEachWindowPosition(t, sentence: b, of: batch) { k, position, id in
          (row + k * Dt).update(from: words + id * D, count: D)
          guard F > 0 else { return }
          if let position {
            (row + k * Dt + D).update(from: features + (position * B + b) * F, count: F)
          } else {
            (row + k * Dt + D).update(repeating: 0, count: F)
          }
        }
      }
    }
  }

  /// ∂E[id] += ∂x for every real token row and window block that read row `id`; the feature
  /// part of each block goes to its token's ∂features, then back through the CNN. Reads the
  /// character activations `forward` left in `workspace` for this batch.
  func backward(
    _ batch: Batch, store: ParameterStore, dx: UnsafePointer<Float>, workspace: CharacterWorkspace
  ) {
    let B = batch.size, D = wordSize, F = featureSize, Dt = tokenSize, In = outputSize
    let dWords = store.gradient(table)
    let dFeatures = workspace.dFeatures.zeroed(max(batch.steps * B * F, 1))  // (T·B, F)
    for b in 0..<B {
      for t in 0..<batch.lengths[b] {
        let row = dx + (t * B + b) * In
        forEachWindowPosition(t, sentence: b, of: batch) { k, position, id in
          let destination = dWords + id * D, source = row + k * Dt
          for j in 0..<D { destination[j] += source[j] }
          guard F > 0, let position else { return }
          let features = dFeatures + (position * B + b) * F
          for f in 0..<F { features[f] += source[D + f] }
        }
      }
    }
    characterCNN?.backward(store: store, tokens: batch.characters, dFeatures: dFeatures, workspace: workspace)
  }

  /// Calls `body(k, position, wordId)` for window blocks k = 0…2K of token t of sentence b;
  /// `position` is the token read (t + k − K), nil outside the sentence, where the word is
  /// `<pad>`.
  @inline(__always)
  private func forEachWindowPosition(
    _ t: Int, sentence b: Int, of batch: Batch, _ body: (Int, Int?, Int) -> Void
  ) {
    for k in 0...(2 * window) {
      let position = t + k - window
      if position >= 0 && position < batch.lengths[b] {
        body(k, position, Int(batch.wordIds[position * batch.size + b]))
      } else {
        body(k, nil, ReservedWord.paddingId)
      }
    }
  }
}
