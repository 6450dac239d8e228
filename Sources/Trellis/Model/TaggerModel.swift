import ConllEval
import Foundation

/// A sequence tagger: word embeddings (with an optional context window) → recurrent encoder →
/// linear layer giving emission scores → structured head.
///
/// Legend: T tokens (steps), B sentences in a batch, D embedding size, K window, In = (2K+1)·Dt,
/// H hidden units per direction, dirs = 1 or 2, L labels, V vocabulary size.
///
/// Parameter slab (one `ParameterStore`; the gradient slab mirrors it):
///   embedding       (V, D)         row 0 `<pad>`, row 1 `<unk>`
///   characters.*    see CharacterCNN (only with character features; then Dt = D + F, else D)
///   forward.wx      (G·H, In)      G gate blocks (LSTM: i, f, g, o)
///   forward.wh      (G·H, H)
///   forward.bx      (G·H)          [forward.bh (G·H) for GRU]
///   backward.*      same shapes    bidirectional encoders only
///   output.w        (L, dirs·H)
///   output.b        (L)
///   head            (P)            chain heads: transitions (L, L), start (L), end (L)
public final class TaggerModel: @unchecked Sendable {
  public let configuration: TaggerConfiguration
  /// Vocabulary keys (normalised tokens), with `<pad>` = 0 and `<unk>` = 1.
  public let words: Vocabulary
  /// The label strings; a label id is an index here.
  public let labels: Vocabulary
  /// Characters of the character CNN, `<pad>` = 0 and `<unk>` = 1 (empty without one).
  public let characters: Vocabulary
  public let store: ParameterStore
  let embedding: ParameterSlot
  let characterCNN: CharacterCNN?
  let encoder: Encoder
  let outputWeight: ParameterSlot
  let outputBias: ParameterSlot
  let headSlot: ParameterSlot
  public let head: any StructuredHead
  /// The transitions the labels' scheme allows, or nil when the model was trained without
  /// constraints or its labels have no scheme.
  public let schemeConstraints: TransitionConstraints?
  /// Whether decoding, marginals and n-best lists respect `schemeConstraints` (on by default;
  /// `tag --no-constraints` turns it off for one run).
  public var decodesWithConstraints = true
  /// The constraints decoding uses now.
  public var constraints: TransitionConstraints? { decodesWithConstraints ? schemeConstraints : nil }
  let workspaces = WorkspacePool()
  private let decoderCache = DecoderCache()

  /// Builds the layout and, given `rng`, initialises the weights (otherwise they are zero and
  /// a model file fills them).
  public init(
    configuration: TaggerConfiguration, words: Vocabulary, labels: Vocabulary,
    characters: Vocabulary = Vocabulary(), rng: inout SplitMix64?
  ) {
    precondition(words.id(for: ReservedWord.padding) == ReservedWord.paddingId)
    precondition(words.id(for: ReservedWord.unknown) == ReservedWord.unknownId)
    self.configuration = configuration
    self.words = words
    self.labels = labels
    self.characters = characters
    let store = ParameterStore()
    let layout = Self.reserveLayout(
      in: store, configuration: configuration, wordCount: words.count, labelCount: labels.count,
      characterCount: characters.count)
    (embedding, characterCNN, encoder) = (layout.embedding, layout.characterCNN, layout.encoder)
    (outputWeight, outputBias, head, headSlot) = (layout.outputWeight, layout.outputBias, layout.head, layout.headSlot)
    store.allocate()
    self.store = store
    // Constraints only make sense for chunk labels (O, B-X, I-X, …): a label set such as
    // part-of-speech tags has no scheme, and every path would count as forbidden.
    schemeConstraints =
      configuration.constrainedDecoding && labels.strings.allSatisfy(TransitionConstraints.isChunkLabel)
      ? TransitionConstraints(labels: labels.strings, scheme: configuration.trainingScheme ?? configuration.scheme)
      : nil
    if var generator = rng {
      initialize(rng: &generator)
      rng = generator
    }
  }

  /// Reserves every slot of the layout documented above in `store`, allocating nothing.
  private static func reserveLayout(
    in store: ParameterStore, configuration: TaggerConfiguration, wordCount: Int, labelCount L: Int,
    characterCount: Int
  ) -> (
    embedding: ParameterSlot, characterCNN: CharacterCNN?, encoder: Encoder, outputWeight: ParameterSlot,
    outputBias: ParameterSlot, head: any StructuredHead, headSlot: ParameterSlot
  ) {
    let embedding = store.reserve("embedding", rows: wordCount, columns: configuration.embeddingSize)
    let characterCNN =
      configuration.characterFilters > 0
      ? CharacterCNN(
        characters: characterCount, embeddingSize: configuration.characterEmbeddingSize,
        filters: configuration.characterFilters, store: store)
      : nil
    let encoder = Encoder(
      kind: configuration.encoder, inputSize: configuration.inputSize,
      hiddenSize: configuration.hiddenSize, store: store)
    let outputWeight = store.reserve("output.w", rows: L, columns: encoder.outputSize)
    let outputBias = store.reserve("output.b", rows: 1, columns: L)
    let head = configuration.head.makeHead(labelCount: L, options: configuration.headOptions)
    let headSlot = store.reserve("head", rows: 1, columns: head.parameterCount)
    return (embedding, characterCNN, encoder, outputWeight, outputBias, head, headSlot)
  }

  /// The parameter layout a model of this shape would have, computed without allocating it, so
  /// a model file can be checked before anything large is allocated.
  static func layout(
    configuration: TaggerConfiguration, wordCount: Int, labelCount: Int, characterCount: Int
  ) -> [ParameterSlot] {
    let store = ParameterStore()
    _ = reserveLayout(
      in: store, configuration: configuration, wordCount: wordCount, labelCount: labelCount,
      characterCount: characterCount)
    return store.slots
  }

  /// Embeddings U(±√(3/D)) (unit expected squared norm), encoder as `RecurrentLayer` says,
  /// output layer Glorot-uniform, head parameters zero (no transition preference at first).
  private func initialize(rng: inout SplitMix64) {
    let D = configuration.embeddingSize
    fillUniform(store.value(embedding), count: embedding.count, limit: (3 / Float(D)).squareRoot(), rng: &rng)
    characterCNN?.initialize(store, rng: &rng)
    encoder.initialize(store, rng: &rng)
    let limit = (6 / Float(outputWeight.rows + outputWeight.columns)).squareRoot()
    fillUniform(store.value(outputWeight), count: outputWeight.count, limit: limit, rng: &rng)
  }

  var headParameters: UnsafeBufferPointer<Float> {
    UnsafeBufferPointer(start: store.value(headSlot), count: headSlot.count)
  }

  /// The vocabulary id of a raw token.
  public func wordId(for token: String) -> Int {
    words.id(for: configuration.normalization.key(for: token)) ?? ReservedWord.unknownId
  }

  /// The character ids the character CNN reads for a raw token (empty without one).
  func characterIds(for token: String) -> [Int32] {
    guard characterCNN != nil else { return [] }
    let text = configuration.normalization.lowercase ? token.lowercased() : token
    return text.prefix(CharacterCNN.maximumLength).map {
      Int32(characters.id(for: String($0)) ?? ReservedWord.unknownId)
    }
  }

  /// A sentence as the model reads it: word ids, and character ids for the character CNN.
  struct EncodedSentence {
    var words: [Int]
    var characters: [[Int32]]
  }

  /// Encodes raw tokens once (training encodes its corpus up front, not every epoch).
  func encode(_ tokens: [String]) -> EncodedSentence {
    EncodedSentence(
      words: tokens.map(wordId(for:)), characters: characterCNN == nil ? [] : tokens.map(characterIds(for:)))
  }

  /// A batch of raw tokenised sentences.
  func batch(_ sentences: [[String]]) -> Batch { batch(sentences.map(encode)) }

  /// A batch of encoded sentences, with `words` overriding their word ids (training's word
  /// dropout) and gold label ids when training.
  func batch(_ sentences: [EncodedSentence], words: [[Int]]? = nil, gold: [[Int]] = []) -> Batch {
    Batch(
      wordIds: words ?? sentences.map(\.words), gold: gold,
      characterIds: characterCNN == nil ? [] : sentences.map(\.characters))
  }

  // MARK: - Forward and backward

  /// Fills `x` (T·B, In): row `t·B + b`, block `k` ∈ 0…2K holds the representation of token
  /// t+k−K of sentence b (its word embedding, then its character features), `<pad>` and zero
  /// features outside the sentence.
  private func embed(_ batch: Batch, into x: UnsafeMutablePointer<Float>, workspace ws: ModelWorkspace) {
    let B = batch.size, D = configuration.embeddingSize, K = configuration.window
    let F = configuration.characterFilters, Dt = configuration.tokenSize
    let In = configuration.inputSize, table = store.value(embedding)
    let features = ws.characters.features.zeroed(max(batch.steps * B * F, 1))
    characterCNN?.forward(store: store, tokens: batch.characters, features: features, workspace: ws.characters)
    for t in 0..<batch.steps {
      for b in 0..<B {
        let row = x + (t * B + b) * In
        for k in 0...(2 * K) {
          let position = t + k - K
          let inside = position >= 0 && position < batch.lengths[b]
          let id = inside ? Int(batch.wordIds[position * B + b]) : ReservedWord.paddingId
          (row + k * Dt).update(from: table + id * D, count: D)
          if F > 0 {
            if inside {
              (row + k * Dt + D).update(from: features + (position * B + b) * F, count: F)
            } else {
              (row + k * Dt + D).update(repeating: 0, count: F)
            }
          }
        }
      }
    }
  }

  /// Inverted dropout in place: keeps each value with probability 1 − p, scaled by 1/(1 − p),
  /// so no rescaling is needed when tagging; the mask is kept for the backward pass.
  private func dropout(
    _ values: UnsafeMutablePointer<Float>, mask: UnsafeMutablePointer<Float>, count: Int,
    rate p: Float, rng: inout SplitMix64
  ) {
    let scale = 1 / (1 - p)
    for k in 0..<count {
      mask[k] = rng.nextUnitFloat() < p ? 0 : scale
      values[k] *= mask[k]
    }
  }

  /// Computes emissions `(T·B, L)` into `workspace.emissions`. Dropout (training only) draws
  /// its masks from `rng`; at rate 0 nothing is drawn.
  func forward(
    _ batch: Batch, workspace ws: ModelWorkspace, dropoutRate p: Float, rng: inout SplitMix64
  ) {
    let rows = batch.steps * batch.size, In = configuration.inputSize
    let width = encoder.outputSize, L = labels.count
    let x = ws.x.reserve(rows * In)
    embed(batch, into: x, workspace: ws)
    if p > 0 { dropout(x, mask: ws.xMask.reserve(rows * In), count: rows * In, rate: p, rng: &rng) }
    let hidden = ws.hidden.reserve(rows * width)
    encoder.forward(
      store: store, x: x, output: hidden, lengths: batch.lengths, steps: batch.steps,
      workspaces: ws.directions, concurrently: ws.usesTwoThreads)
    if p > 0 {
      dropout(hidden, mask: ws.hiddenMask.reserve(rows * width), count: rows * width, rate: p, rng: &rng)
    }
    let emissions = ws.emissions.reserve(rows * L)
    // E = hidden · Wᵀ + b
    gemm(
      MatrixView(base: hidden, rows: rows, columns: width), .none, store.valueMatrix(outputWeight),
      .transposed, into: MutableMatrixView(base: emissions, rows: rows, columns: L))
    addBias(store.value(outputBias), to: emissions, rows: rows, n: L)
  }

  /// The inference forward pass (no dropout).
  func forward(_ batch: Batch, workspace ws: ModelWorkspace) {
    var unused = SplitMix64(seed: 0)
    forward(batch, workspace: ws, dropoutRate: 0, rng: &unused)
  }

  /// Sentence `b`'s emissions: `(len_b, L)` with row stride `B·L`.
  func emissionView(_ ws: ModelWorkspace, batch: Batch, sentence b: Int) -> MatrixView {
    let L = labels.count
    return MatrixView(
      base: ws.emissions.pointer + b * L, rows: batch.lengths[b], columns: L,
      rowStride: batch.size * L)
  }

  /// Forward, the head's loss per sentence, and backward: adds ∂(mean loss over the batch)/∂θ
  /// to `store.gradients` and returns the summed loss.
  func lossAndGradient(
    _ batch: Batch, workspace ws: ModelWorkspace, dropoutRate: Float, rng: inout SplitMix64
  ) -> Double {
    let rows = batch.steps * batch.size, In = configuration.inputSize
    let width = encoder.outputSize, L = labels.count, B = batch.size
    forward(batch, workspace: ws, dropoutRate: dropoutRate, rng: &rng)
    let dE = ws.dEmissions.zeroed(rows * L)
    let headGradient = UnsafeMutableBufferPointer(start: store.gradient(headSlot), count: headSlot.count)
    // The head runs on two threads, each over half the sentences; the second half adds its
    // parameter gradient into scratch, summed afterwards, so the result never depends on timing.
    let secondHalfGradient = ws.headGradient.zeroed(max(headSlot.count, 1))
    let losses = inHalves(of: B) { range, half in
      head.lossAndGradient(
        emissions: range.map { emissionView(ws, batch: batch, sentence: $0) },
        gold: Array(batch.gold[range]), parameters: headParameters,
        emissionGradients: range.map {
          MutableMatrixView(base: dE + $0 * L, rows: batch.lengths[$0], columns: L, rowStride: B * L)
        },
        parameterGradient: half == 0
          ? headGradient : UnsafeMutableBufferPointer(start: secondHalfGradient, count: headSlot.count))
    }
    for k in 0..<headSlot.count { headGradient[k] += secondHalfGradient[k] }
    let loss = losses[0] + losses[1]
    // The gradient of the batch mean: scale ∂E now and the head's own gradient below.
    let scale = 1 / Float(B)
    for k in 0..<rows * L { dE[k] *= scale }
    for k in 0..<headSlot.count { headGradient[k] *= scale }

    let hidden = ws.hidden.pointer
    let dHidden = ws.dHidden.reserve(rows * width)
    // ∂hidden = ∂E · W;  ∂W += ∂Eᵀ · hidden;  ∂b += column sums of ∂E
    gemm(
      MatrixView(base: dE, rows: rows, columns: L), .none, store.valueMatrix(outputWeight), .none,
      into: MutableMatrixView(base: dHidden, rows: rows, columns: width))
    gemm(
      MatrixView(base: dE, rows: rows, columns: L), .transposed,
      MatrixView(base: hidden, rows: rows, columns: width), .none,
      into: store.gradientMatrix(outputWeight), beta: 1)
    addColumnSums(of: dE, rows: rows, n: L, to: store.gradient(outputBias))
    if dropoutRate > 0 {
      let mask = ws.hiddenMask.pointer
      for k in 0..<rows * width { dHidden[k] *= mask[k] }
    }
    let dx = ws.dx.reserve(rows * In)
    encoder.backward(
      store: store, x: ws.x.pointer, dOutput: dHidden, dx: dx, lengths: batch.lengths, steps: batch.steps,
      workspaces: ws.directions)
    if dropoutRate > 0 {
      let mask = ws.xMask.pointer
      for k in 0..<rows * In { dx[k] *= mask[k] }
    }
    scatterEmbeddingGradient(batch, dx: dx, workspace: ws)
    return loss
  }

  /// ∂embedding[id] += ∂x for every real token row and window block that read row `id`; the
  /// character part of each block goes to its token's ∂features, then through the CNN.
  private func scatterEmbeddingGradient(_ batch: Batch, dx: UnsafePointer<Float>, workspace ws: ModelWorkspace) {
    let B = batch.size, D = configuration.embeddingSize, K = configuration.window
    let F = configuration.characterFilters, Dt = configuration.tokenSize
    let In = configuration.inputSize, table = store.gradient(embedding)
    let dFeatures = ws.characters.dFeatures.zeroed(max(batch.steps * B * F, 1))
    for b in 0..<B {
      for t in 0..<batch.lengths[b] {
        let row = dx + (t * B + b) * In
        for k in 0...(2 * K) {
          let position = t + k - K
          let inside = position >= 0 && position < batch.lengths[b]
          let id = inside ? Int(batch.wordIds[position * B + b]) : ReservedWord.paddingId
          let destination = table + id * D, source = row + k * Dt
          for j in 0..<D { destination[j] += source[j] }
          if F > 0, inside {
            let features = dFeatures + (position * B + b) * F
            for f in 0..<F { features[f] += source[D + f] }
          }
        }
      }
    }
    characterCNN?.backward(store: store, tokens: batch.characters, dFeatures: dFeatures, workspace: ws.characters)
  }

  /// Label ids for every sentence of the batch.
  func decode(_ batch: Batch, workspace ws: ModelWorkspace) -> [[Int]] {
    forward(batch, workspace: ws)
    let decoder = decoderCache.decoder(version: store.version, constrained: decodesWithConstraints) {
      head.decoder(parameters: headParameters, constraints: constraints)
    }
    return inHalves(of: batch.size, concurrently: ws.usesTwoThreads) { range, _ in
      decoder.decode(range.map { emissionView(ws, batch: batch, sentence: $0) })
    }.flatMap { $0 }
  }

  /// Runs `body` on the two halves of `0..<count` on two threads; results in order.
  private func inHalves<Result>(
    of count: Int, concurrently: Bool = true, _ body: (Range<Int>, Int) -> Result
  ) -> [Result] {
    let ranges = [0..<count / 2, count / 2..<count]
    // One sentence is not worth waking a second thread for.
    if count < 2 || !concurrently { return ranges.enumerated().map { body($1, $0) } }
    var results = [Result?](repeating: nil, count: 2)
    results.withUnsafeMutableBufferPointer { results in
      DispatchQueue.concurrentPerform(iterations: 2) { half in results[half] = body(ranges[half], half) }
    }
    return results.map { $0! }
  }
}

extension TransitionConstraints {
  /// True for `O` and for labels of the form `B-X`, `I-X`, `E-X`, `S-X` (X non-empty).
  public static func isChunkLabel(_ label: String) -> Bool {
    if label == "O" { return true }
    let characters = Array(label)
    return characters.count > 2 && "BIES".contains(characters[0]) && characters[1] == "-"
  }

  /// The transitions `scheme` allows between `labels` (e.g. BIO: I-X only after B-X or I-X).
  public init(labels: [String], scheme: TagScheme) {
    let L = labels.count
    self.init(
      labelCount: L,
      allowedTransition: (0..<L * L).map {
        isAllowedTransition(from: labels[$0 / L], to: labels[$0 % L], scheme: scheme)
      },
      allowedStart: labels.map { isAllowedTransition(from: nil, to: $0, scheme: scheme) },
      allowedEnd: labels.map { isAllowedEnd($0, scheme: scheme) })
  }
}

/// The head's prepared decoder for one version of the parameters; tagging one sentence at a
/// time would otherwise rebuild Viterbi's L² table per sentence.
final class DecoderCache: @unchecked Sendable {
  private var cached: (version: Int, constrained: Bool, decoder: any SequenceDecoder)?
  private let lock = NSLock()

  func decoder(version: Int, constrained: Bool, make: () -> any SequenceDecoder) -> any SequenceDecoder {
    lock.withLock {
      if let cached, cached.version == version, cached.constrained == constrained { return cached.decoder }
      let decoder = make()
      cached = (version, constrained, decoder)
      return decoder
    }
  }
}
