import ConllEval
import Foundation

/// A sequence tagger: token embeddings (with an optional context window and character
/// features) → recurrent encoder → linear layer giving emission scores → structured head.
///
/// Legend: T tokens (steps), B sentences in a batch, D embedding size, F character features,
/// K window, In = (2K+1)·(D+F), H hidden units per direction, dirs = 1 or 2, L labels,
/// V vocabulary size.
///
/// Parameter slab (one contiguous slab of Floats; the gradient slab mirrors it):
///   embedding       (V, D)         row 0 `<pad>`, row 1 `<unk>`
///   feature.N       (V_N, D_N)     one per feature column N (`<pad>`, `<unk>` first)
///   characters.*    see CharacterCNN (only with character features)
///   forward.wx      (G·H, In)      G gate blocks (LSTM: i, f, g, o)
///   forward.wh      (G·H, H)
///   forward.bx      (G·H)          [forward.bh (G·H) for GRU]
///   backward.*      same shapes    bidirectional encoders only
///   output.w        (L, dirs·H)
///   output.b        (L)
///   head            (P)            chain heads: transitions (L, L), start (L), end (L)
///
/// Thread-safe for tagging: weights are only read, and every call takes its own workspace.
public final class TaggerModel: @unchecked Sendable {
  /// The most token-steps (sentences × the longest one's tokens) one batch of tagging or
  /// training runs, unless a sentence alone has more: batches of long sentences hold fewer
  /// than their size, so a tagging pass keeps about 75 MB with the default sizes (about 9 KB
  /// a token-step: `trellis tag`'s maximum RSS grows so with the tokens of one text line) and
  /// a training step a few times that, however long the sentences. Batches of 32 sentences of
  /// up to 256 tokens never reach it. Small passes cost little: lines of 3,000 tokens tagged 8%
  /// faster two a pass than ten, and lines of 5,000 tokens 5% slower one a pass than 32 (which
  /// took 3.4 GB), so the limit is no larger than memory asks.
  public static let batchTokenStepLimit = 8192
  /// The architecture and input settings (normalisation, scheme) the model was built with.
  public let configuration: TaggerConfiguration
  /// Vocabulary keys (normalised tokens), with `<pad>` = 0 and `<unk>` = 1.
  public let words: Vocabulary
  /// The label strings; a label id is an index here. A model trained in another scheme than
  /// its data's (`--scheme bioes`) has labels of its own, and answers with `outputLabels`.
  public let labels: Vocabulary
  /// Characters of the character CNN, `<pad>` = 0 and `<unk>` = 1 (empty without one).
  public let characters: Vocabulary
  /// The values of each feature column (`configuration.featureColumns`), `<pad>` = 0 and
  /// `<unk>` = 1.
  public let featureVocabularies: [Vocabulary]
  /// `asciiCharacterIds[b]`: the id of the one-byte character b (< 128) in `characters`, for
  /// `characterIds(of:)`'s byte-by-byte path.
  let asciiCharacterIds: [Int32]
  /// Every weight of the model, in the slab laid out above.
  package let store: ParameterStore
  /// The number of trainable weights.
  public var parameterCount: Int { store.count }
  let embedding: EmbeddingLayer
  let encoder: EncoderStack
  let output: Linear
  let headSlot: ParameterSlot
  /// The structured output layer `configuration.head` names, whose parameters are the `head`
  /// slot of `store`.
  package let head: any StructuredHead
  /// Whether the head defines p(y | x), so that confidences and n-best probabilities exist
  /// (the CRF and softmax heads; the perceptron and SSVM only rank sequences).
  public var definesProbabilities: Bool { head.definesProbabilities }
  /// The transitions the labels' scheme allows, or nil when the model was trained without
  /// constraints or its labels have no scheme. The chain heads' decoding applies them unless a
  /// call turns them off (`TaggingOptions.constrained`); the softmax head labels each token on
  /// its own and may print sequences they forbid.
  public let schemeConstraints: TransitionConstraints?
  /// Where the model came from (training data, settings, dev scores); nil for a model trained
  /// without `Trainer.provenance` or read from a format-1 file.
  public internal(set) var provenance: Provenance?
  /// The format version of the file the model was read from (for a model trained by this
  /// build, the version its file is written in: `ModelFile.writtenVersion(of:)`).
  public internal(set) var formatVersion: UInt32 {
    get { readVersion ?? ModelFile.writtenVersion(of: configuration) }
    set { readVersion = newValue }
  }
  /// The version of the file the model was read from; nil for a model trained here.
  private var readVersion: UInt32?
  /// The output labels read once for locating spans by conlleval's rules, or `-r`'s for labels
  /// without chunk prefixes (`labelsAreRaw`; `analysis(of:_:)`);
  /// nil when outputs are converted from the training scheme, whose spans are read from the
  /// converted strings, and for BIOES answers, whose S-X and E-X end a span where conlleval's
  /// rules would go on (`chunks(in:scheme:)`).
  let labelChunks: LabelSetChunks?
  /// The labels' and chunk types' JSON strings for labels-only answers; nil with `labelChunks`.
  let answerFragments: AnswerFragments?
  /// `sameOutputGroups(labels:from:to:)` of this model's labels and schemes.
  let sameOutputGroups: [[Int]]?
  let printedLabels = PrintedLabelsCache()
  let workspaces = WorkspacePool()
  let decoderCache = DecoderCache()
  let inferenceWeights = InferenceWeightCache()

  /// A model with every weight zero: the layout a model file fills. Throws
  /// `ParameterStore.AllocationFailure` when the system refuses the memory.
  init(
    configuration: TaggerConfiguration, words: Vocabulary, labels: Vocabulary,
    characters: Vocabulary = Vocabulary(), featureVocabularies: [Vocabulary] = []
  ) throws {
    precondition(words.id(for: ReservedWord.padding) == ReservedWord.paddingId)
    precondition(words.id(for: ReservedWord.unknown) == ReservedWord.unknownId)
    precondition(featureVocabularies.count == configuration.featureColumns.count)
    self.configuration = configuration
    self.words = words
    self.labels = labels
    self.characters = characters
    asciiCharacterIds = (0..<128).map {
      Int32(characters.id(for: String(UnicodeScalar(UInt8($0)))) ?? ReservedWord.unknownId)
    }
    self.featureVocabularies = featureVocabularies
    let store = ParameterStore()
    let layers = Self.reserveLayers(
      in: store, configuration: configuration, wordCount: words.count, labelCount: labels.count,
      characterCount: characters.count, featureValueCounts: featureVocabularies.map(\.count))
    (embedding, encoder, output) = (layers.embedding, layers.encoder, layers.output)
    (head, headSlot) = (layers.head, layers.headSlot)
    try store.allocate()
    self.store = store
    labelChunks =
      configuration.convertedScheme == nil && configuration.scheme != .bioes
      ? LabelSetChunks(labels: labels.strings, raw: Self.areRaw(labels.strings)) : nil
    answerFragments = labelChunks.map { AnswerFragments(labels: labels.strings, chunks: $0) }
    sameOutputGroups = Self.sameOutputGroups(
      labels: labels.strings, from: configuration.convertedScheme, to: configuration.scheme)
    schemeConstraints =
      configuration.constrainedDecoding
      ? TransitionConstraints(
        chunkLabels: labels.strings, scheme: configuration.trainingScheme ?? configuration.scheme)
      : nil
  }

  /// A new model with weights drawn from `rng`: embeddings and encoder as their layers say,
  /// output layer Glorot-uniform, head parameters zero (no transition preference at first).
  convenience init(
    configuration: TaggerConfiguration, words: Vocabulary, labels: Vocabulary,
    characters: Vocabulary = Vocabulary(), featureVocabularies: [Vocabulary] = [],
    rng: inout SplitMix64
  ) throws {
    try self.init(
      configuration: configuration, words: words, labels: labels, characters: characters,
      featureVocabularies: featureVocabularies)
    embedding.initialize(store, rng: &rng)
    encoder.initialize(store, rng: &rng)
    output.initialize(store, rng: &rng)
  }

  private struct Layers {
    var embedding: EmbeddingLayer
    var encoder: EncoderStack
    var output: Linear
    var head: any StructuredHead
    var headSlot: ParameterSlot
  }

  /// Reserves every slot of the layout documented above in `store`, allocating nothing.
  private static func reserveLayers(
    in store: ParameterStore, configuration: TaggerConfiguration, wordCount: Int, labelCount L: Int,
    characterCount: Int, featureValueCounts: [Int]
  ) -> Layers {
    let embedding = EmbeddingLayer(
      configuration: configuration, wordCount: wordCount, featureValueCounts: featureValueCounts,
      characterCount: characterCount, store: store)
    let encoder = EncoderStack(
      kind: configuration.encoder, inputSize: embedding.outputSize,
      hiddenSize: configuration.hiddenSize, layers: configuration.layers, store: store)
    let output = Linear(name: "output", inputSize: encoder.outputSize, outputSize: L, store: store)
    let head = configuration.head.makeHead(labelCount: L, options: configuration.headOptions)
    let headSlot = store.reserve("head", rows: 1, columns: head.parameterCount)
    return Layers(
      embedding: embedding, encoder: encoder, output: output, head: head, headSlot: headSlot)
  }

  /// The parameter layout a model of this shape would have, computed without allocating it, so
  /// a model file can be checked before anything large is allocated.
  static func layout(
    configuration: TaggerConfiguration, wordCount: Int, labelCount: Int, characterCount: Int,
    featureValueCounts: [Int]
  ) -> [ParameterSlot] {
    let store = ParameterStore()
    _ = reserveLayers(
      in: store, configuration: configuration, wordCount: wordCount, labelCount: labelCount,
      characterCount: characterCount, featureValueCounts: featureValueCounts)
    return store.slots
  }

  var headParameters: UnsafeBufferPointer<Float> {
    UnsafeBufferPointer(start: store.value(headSlot), count: headSlot.count)
  }

  /// The constraints a decoding call applies.
  func constraints(applied: Bool) -> TransitionConstraints? { applied ? schemeConstraints : nil }

  /// For each label id, the ids printed as the same label wherever they stand, when the
  /// model's scheme (`from`) converts to the data's (`to`) a token at a time: BIOES to BIO,
  /// where S-X and B-X print B-X and E-X and I-X print I-X, so a printed B-X's confidence is
  /// P(B-X) + P(S-X), exact under the constraints, where every path is valid. Nil without a
  /// conversion, and where a printed label also depends on a neighbour (to IOB1, whose B-X
  /// follows a chunk of type X; BIO to BIOES, whose E-X is the last token of a chunk): those
  /// confidences, and BIOES to BIO ones without constraints, come from `PrintedLabels`.
  static func sameOutputGroups(labels: [String], from: TagScheme?, to: TagScheme) -> [[Int]]? {
    guard from == .bioes && to == .bio else { return nil }
    let printed = labels.map { label -> String in
      switch label.prefix(2) {
      case "S-": "B-" + label.dropFirst(2)
      case "E-": "I-" + label.dropFirst(2)
      default: label
      }
    }
    // Labels compare by their bytes, as everywhere (`ExactString`).
    let ids = Dictionary(grouping: printed.indices, by: { ExactString(printed[$0]) })
    return printed.map { ids[ExactString($0)]! }
  }
}

extension TaggerModel {
  /// The most tokens × labels one sentence may take to tag: decoding keeps a back-pointer per
  /// (token, label) and confidences several (T, L) arrays of Doubles, about 40 bytes an entry
  /// in all, so a sentence stays under about 1 GB whatever the model's label count. A model
  /// with up to 167 labels (ATIS has 120) meets `Sentence.tokenLimit` first.
  public static let sentenceEntryLimit = 1 << 24

  /// The most tokens a sentence may hold for a model of `labelCount` labels:
  /// `Sentence.tokenLimit`, or fewer where the labels would pass `sentenceEntryLimit` (4,096
  /// tokens with 4,096 labels).
  public static func sentenceTokenLimit(labelCount: Int) -> Int {
    min(Sentence.tokenLimit, sentenceEntryLimit / max(1, labelCount))
  }

  /// Why a model of `labelCount` labels refuses a sentence of `count` tokens, nil within its
  /// limit: what every input the CLI, the HTTP service, the C ABI and training read says.
  public static func tokenLimitError(count: Int, labelCount: Int) -> String? {
    if let refusal = Sentence.tokenLimitError(count: count) { return refusal }
    let limit = sentenceTokenLimit(labelCount: labelCount)
    guard count > limit else { return nil }
    return "\(count) tokens, more than the \(limit) a sentence may hold for this model's "
      + "\(labelCount) labels (tokens × labels at most \(sentenceEntryLimit))"
  }

  /// Throws a `TrellisError` at the first line of the first sentence of `file` longer than a
  /// model of `labelCount` labels takes (`tokenLimitError(count:labelCount:)`).
  public static func checkSentenceLengths(
    of sentences: [Sentence], file: String, labelCount: Int
  ) throws {
    for sentence in sentences {
      if let refusal = tokenLimitError(count: sentence.count, labelCount: labelCount) {
        throw TrellisError(file: file, line: sentence.firstLine, refusal)
      }
    }
  }

  /// `sentenceTokenLimit(labelCount:)` for this model's labels.
  public var sentenceTokenLimit: Int { Self.sentenceTokenLimit(labelCount: labels.count) }

  /// `tokenLimitError(count:labelCount:)` for this model's labels.
  public func tokenLimitError(count: Int) -> String? {
    Self.tokenLimitError(count: count, labelCount: labels.count)
  }
}
