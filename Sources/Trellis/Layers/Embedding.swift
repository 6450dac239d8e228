/// The encoder's input: each token's word embedding, joined by the embeddings of its feature
/// columns and its character-CNN features when the model has them, and, with a context window
/// K, the representations of the K tokens on each side (Mesnil et al. 2013). For row `t·B + b`
/// of a time-major batch:
///   rep(p)      = [E[word(p)], E_1[f_1(p)], …, E_k[f_k(p)], charCNN(p)]   (Dt = D + ΣD_i + F)
///   x[t·B + b]  = [rep(t−K), …, rep(t), …, rep(t+K)]                       (In = (2K+1)·Dt)
/// with `<pad>`'s rows and zero character features at positions outside the sentence.
/// Parameters: `embedding (V, D)` (row 0 `<pad>`, row 1 `<unk>`), `feature.i (V_i, D_i)` for
/// each feature column (the same two reserved rows), then the CNN's own.
struct EmbeddingLayer: Sendable {
  /// The word table, then one table per feature column: every block of rep(p) but the CNN's.
  let tables: [ParameterSlot]
  let characterCNN: CharacterCNN?
  /// K.
  let window: Int

  var table: ParameterSlot { tables[0] }
  /// D.
  var wordSize: Int { table.columns }
  /// F, 0 without a character CNN.
  var featureSize: Int { characterCNN?.filters ?? 0 }
  /// Dt.
  var tokenSize: Int { tables.reduce(0) { $0 + $1.columns } + featureSize }
  /// In.
  var outputSize: Int { (2 * window + 1) * tokenSize }

  init(
    configuration: TaggerConfiguration, wordCount: Int, featureValueCounts: [Int],
    characterCount: Int,
    store: ParameterStore
  ) {
    tables =
      [store.reserve("embedding", rows: wordCount, columns: configuration.embeddingSize)]
      + zip(configuration.featureColumns, featureValueCounts).map { feature, count in
        store.reserve("feature.\(feature.column)", rows: count, columns: feature.size)
      }
    characterCNN =
      configuration.characterFilters > 0
      ? CharacterCNN(
        characters: characterCount, embeddingSize: configuration.characterEmbeddingSize,
        filters: configuration.characterFilters, store: store)
      : nil
    window = configuration.window
  }

  /// Each table U(±√(3/D)) (unit expected squared norm), then the character CNN's weights. A
  /// feature table's `<unk>` row is then zeroed: its vocabulary is the training data's, so no
  /// training token reads it and it kept its draw, and a value first seen when tagging added
  /// noise as large as a trained embedding; zero adds nothing. (The word table's `<unk>`
  /// trains on singletons, `TrainingOptions.unknownReplacement`.) Zeroed after the draw, so
  /// every other weight is the one the same seed drew before.
  func initialize(_ store: ParameterStore, rng: inout SplitMix64) {
    for table in tables {
      fillUniform(
        store.value(table), count: table.count, limit: (3 / Float(table.columns)).squareRoot(),
        rng: &rng)
    }
    for table in tables.dropFirst() {
      store.value(table).advanced(by: ReservedWord.unknownId * table.columns)
        .update(repeating: 0, count: table.columns)
    }
    characterCNN?.initialize(store, rng: &rng)
  }

  /// Fills `x` `(T·B, In)` as described above; `concurrently` lets the character CNN's product
  /// use two threads.
  func forward(
    _ batch: Batch, store: ParameterStore, into x: UnsafeMutablePointer<Float>,
    workspace: CharacterWorkspace, concurrently: Bool
  ) {
    let B = batch.size
    let F = featureSize
    let Dt = tokenSize
    let In = outputSize
    let features = workspace.features.zeroed(max(batch.steps * B * F, 1))  // (T·B, F)
    characterCNN?.forward(
      store: store, tokens: batch.characters, rows: batch.characterRows, features: features,
      workspace: workspace, concurrently: concurrently)
    for t in 0..<batch.steps {
      for b in 0..<B {
        let row = x + (t * B + b) * In
        forEachWindowPosition(t, sentence: b, of: batch) { k, position in
          var block = row + k * Dt
          for (i, table) in tables.enumerated() {
            let id = Self.id(in: i, at: position, sentence: b, of: batch)
            block.update(from: store.value(table) + id * table.columns, count: table.columns)
            block += table.columns
          }
          guard F > 0 else { return }
          if let position {
            block.update(from: features + (position * B + b) * F, count: F)
          } else {
            block.update(repeating: 0, count: F)
          }
        }
      }
    }
  }

  /// ∂E[id] += ∂x for every real token row and window block that read row `id` of each table;
  /// the character part of each block goes to its token's ∂features, then back through the
  /// CNN. Reads the character activations `forward` left in `workspace` for this batch.
  func backward(
    _ batch: Batch, store: ParameterStore, dx: UnsafePointer<Float>, workspace: CharacterWorkspace,
    concurrently: Bool
  ) {
    let B = batch.size
    let F = featureSize
    let Dt = tokenSize
    let In = outputSize
    let dFeatures = workspace.dFeatures.zeroed(max(batch.steps * B * F, 1))  // (T·B, F)
    // Columns `part` of `parts` of every table and of the features: two threads split each
    // row by columns, and every element still adds its tokens' values in the same order.
    func addColumns(part: Int, of parts: Int) {
      func share(_ n: Int) -> Range<Int> { n * part / parts..<n * (part + 1) / parts }
      let featureColumns = share(F)
      for b in 0..<B {
        for t in 0..<batch.lengths[b] {
          let row = dx + (t * B + b) * In
          forEachWindowPosition(t, sentence: b, of: batch) { k, position in
            var source = row + k * Dt
            for (i, table) in tables.enumerated() {
              let id = Self.id(in: i, at: position, sentence: b, of: batch)
              let destination = store.gradient(table) + id * table.columns
              for j in share(table.columns) { destination[j] += source[j] }
              source += table.columns
            }
            guard F > 0, let position else { return }
            let features = dFeatures + (position * B + b) * F
            for f in featureColumns { features[f] += source[f] }
          }
        }
      }
    }
    // On one thread, this scatter took 0.4% of the calling thread's samples in a training
    // profile, with the other waiting.
    if concurrently {
      ThreadPair.shared.run { part in addColumns(part: part, of: 2) }
    } else {
      addColumns(part: 0, of: 1)
    }
    characterCNN?.backward(
      store: store, tokens: batch.characters, rows: batch.characterRows, dFeatures: dFeatures,
      workspace: workspace)
  }

  /// Calls `body(k, position)` for window blocks k = 0…2K of token t of sentence b; `position`
  /// is the token read (t + k − K), nil outside the sentence.
  @inline(__always)
  private func forEachWindowPosition(
    _ t: Int, sentence b: Int, of batch: Batch, _ body: (Int, Int?) -> Void
  ) {
    for k in 0...(2 * window) {
      let position = t + k - window
      body(k, position >= 0 && position < batch.lengths[b] ? position : nil)
    }
  }

  /// The row of table `i` (0 words, then the feature columns) that token `position` of
  /// sentence `b` reads; `<pad>` outside the sentence.
  @inline(__always)
  private static func id(in i: Int, at position: Int?, sentence b: Int, of batch: Batch) -> Int {
    guard let position else { return ReservedWord.paddingId }
    let index = position * batch.size + b
    return Int(i == 0 ? batch.wordIds[index] : batch.featureIds[i - 1][index])
  }
}
