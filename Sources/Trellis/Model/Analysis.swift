import Foundation
import TrellisKernels

/// A tagged sentence with everything a pipeline may want from it. Its JSON form (`Codable`) is
/// the one schema of `trellis tag --format json`, the HTTP service and the C ABI:
/// `tokens`, `labels`, `spans`, and on request `confidences`, `probability` and `nbest` (with
/// `nbest_truncated` when the list was cut short).
public struct Analysis: Codable, Equatable, Sendable {
  /// The sentence's tokens, as given to the tagger.
  public var tokens: [String]
  /// One label per token, `labels[t]` for `tokens[t]`: the best sequence the head found
  /// (under the scheme's constraints unless `TaggingOptions.constrained` is off; the softmax
  /// head labels each token on its own, constraints or not).
  public var labels: [String]
  /// The labelled spans (conlleval's chunks), with their text.
  public var spans: [Span]
  /// P(y_t = labels[t] | x) per token, when asked for and the head defines probabilities: the
  /// probability of the label as printed, also when the model was trained in another scheme.
  public var tokenConfidences: [Double]?
  /// p(y | x) of the model's own decoded path, likewise. When the model was trained in another
  /// scheme, other paths may print the same labels, so `labels` may be likelier than this.
  public var sequenceProbability: Double?
  /// The n best label sequences, best first, when asked for (the first equals `labels`).
  public var alternatives: [Alternative]
  /// Whether `alternatives` holds fewer sequences than asked for although more exist: the
  /// sentence's list was cut to fit `TaggingOptions.nbestEntryLimit`. (A list that is short
  /// because the sentence has no more sequences is not.) Written only when true.
  public var alternativesTruncated: Bool

  enum CodingKeys: String, CodingKey, CaseIterable {
    case tokens, labels, spans
    case tokenConfidences = "confidences"
    case sequenceProbability = "probability"
    case alternatives = "nbest"
    case alternativesTruncated = "nbest_truncated"
  }

  /// An analysis from its parts; the optional parts are absent unless given. `labels` and
  /// `tokenConfidences` have one entry per token.
  public init(
    tokens: [String], labels: [String], spans: [Span], tokenConfidences: [Double]? = nil,
    sequenceProbability: Double? = nil, alternatives: [Alternative] = [],
    alternativesTruncated: Bool = false
  ) {
    self.tokens = tokens
    self.labels = labels
    self.spans = spans
    self.tokenConfidences = tokenConfidences
    self.sequenceProbability = sequenceProbability
    self.alternatives = alternatives
    self.alternativesTruncated = alternativesTruncated
  }

  /// `nbest` is present only when n-best lists were asked for, `nbest_truncated` only when true.
  public init(from decoder: any Swift.Decoder) throws {
    let container = try decoder.container(keyedBy: CodingKeys.self)
    tokens = try container.decode([String].self, forKey: .tokens)
    labels = try container.decode([String].self, forKey: .labels)
    spans = try container.decode([Span].self, forKey: .spans)
    tokenConfidences = try container.decodeIfPresent([Double].self, forKey: .tokenConfidences)
    sequenceProbability = try container.decodeIfPresent(Double.self, forKey: .sequenceProbability)
    alternatives = try container.decodeIfPresent([Alternative].self, forKey: .alternatives) ?? []
    alternativesTruncated =
      try container.decodeIfPresent(Bool.self, forKey: .alternativesTruncated) ?? false
  }

  public func encode(to encoder: any Swift.Encoder) throws {
    var container = encoder.container(keyedBy: CodingKeys.self)
    try container.encode(tokens, forKey: .tokens)
    try container.encode(labels, forKey: .labels)
    try container.encode(spans, forKey: .spans)
    try container.encodeIfPresent(tokenConfidences, forKey: .tokenConfidences)
    try container.encodeIfPresent(sequenceProbability, forKey: .sequenceProbability)
    if !alternatives.isEmpty { try container.encode(alternatives, forKey: .alternatives) }
    if alternativesTruncated { try container.encode(true, forKey: .alternativesTruncated) }
  }
}

/// A labelled span of tokens `start..<end`, with its text (the tokens joined by spaces).
public struct Span: Codable, Equatable, Sendable {
  /// The chunk type (`Chunk.type`): the starting label after its first `-` (`city` for
  /// `B-city`).
  public var label: String
  /// The index of the span's first token.
  public var start: Int
  /// One past the index of its last token.
  public var end: Int
  /// The span's text: its tokens joined by single spaces, or, in a `TaggingResponse`, the
  /// request's text from `startChar` to `endChar`.
  public var text: String
  /// Where `text` is in the request's text (or in its tokens joined by single spaces), counted
  /// in code points as Python's `str` and spaCy's `start_char` count: set by the pipeline
  /// (`TaggerModel.respond(to:options:)`), nil from `analyze`.
  public var startChar: Int?
  /// Where `text` ends (exclusive), counted as `startChar` is; set and nil with it.
  public var endChar: Int?

  enum CodingKeys: String, CodingKey {
    case label, start, end, text
    case startChar = "start_char"
    case endChar = "end_char"
  }

  /// A span of tokens `start..<end`; the character offsets are nil unless given.
  public init(
    label: String, start: Int, end: Int, text: String, startChar: Int? = nil, endChar: Int? = nil
  ) {
    self.label = label
    self.start = start
    self.end = end
    self.text = text
    self.startChar = startChar
    self.endChar = endChar
  }
}

/// One of the n best label sequences.
public struct Alternative: Codable, Equatable, Sendable {
  /// One label per token.
  public var labels: [String]
  /// The head's score of the sequence, higher is better: for the chain
  /// heads the sum of its emission and transition scores, for the softmax head log p(labels | x).
  public var score: Double
  /// p(labels | x); nil for heads that define no probabilities.
  public var probability: Double?

  /// A sequence with its score and, for a head that defines them, its probability.
  public init(labels: [String], score: Double, probability: Double? = nil) {
    (self.labels, self.score, self.probability) = (labels, score, probability)
  }
}

/// Per-call tagging choices; the defaults are what `trellis tag` does without options.
/// `validate()` refuses values out of range, as every command and interface does; the Swift
/// calls take such a value as the nearest in range (a `batchSize` or `threads` below 1 as 1,
/// above its limit as the limit; an `nbest` below 0 as 0, above `nbestLimit` as that) rather
/// than stop the process.
public struct TaggingOptions: Codable, Equatable, Sendable {
  /// Decode under the tag scheme's transition constraints (when the model has them; the
  /// chain heads only: the softmax head labels each token on its own).
  public var constrained: Bool
  /// Add per-token marginals and the sequence probability (heads that define them).
  public var confidence: Bool
  /// How many best label sequences to list; 0 lists none.
  public var nbest: Int
  /// The most sentences (of similar length) per forward pass. Labels do not depend on it;
  /// confidences and scores may move by up to `confidenceBatchTolerance`, since batching
  /// changes the order of the floating-point sums inside the matrix products.
  public var batchSize: Int
  /// The most threads one call tags on, the calling thread included: 1 keeps the call on the
  /// caller's thread (a Spark task that owns one core). Results do not depend on it.
  public var threads: Int

  /// The largest n-best list: list Viterbi costs O(T·L²·k) time and O(T·L·k) memory.
  public static let nbestLimit = 1000
  /// The most paths an n-best search looks through for k distinct sequences of the data's
  /// scheme, where a model's paths convert to the same one (BIOES `S-X` and `B-X` both become
  /// BIO `B-X`): it bounds the search's time.
  public static let nbestSearchLimit = 8 * nbestLimit
  /// The most entries (16 bytes each) list Viterbi keeps for one sentence of T tokens and L
  /// labels, T·L·k: a sentence too long for `nbest` gets the ⌊limit / (T·L)⌋ best sequences
  /// (at least one). 2²⁵ entries are 512 MiB; k = 1000 with ATIS's 120 labels fits 279 tokens.
  public static let nbestEntryLimit = 1 << 25

  /// The most sequences an n-best list of `k` holds for a sentence of `tokens` tokens tagged
  /// with `labels` labels: k, cut to ⌊`entryLimit` / (tokens·labels)⌋ (at least one).
  public static func nbestLength(
    _ k: Int, tokens: Int, labels: Int, entryLimit: Int = nbestEntryLimit
  ) -> Int {
    min(k, max(1, entryLimit / max(1, tokens * labels)))
  }
  /// The most a token confidence may differ between two batch sizes (tested).
  public static let confidenceBatchTolerance = 1e-4
  /// The largest batch: beyond it a pass only grows its buffers.
  public static let batchSizeLimit = 4096
  /// The most threads a call may ask for; more than the cores only adds switching.
  public static let threadsLimit = 1024
  /// The cores this process may run on (its CPU affinity and cgroup quota): the default
  /// `threads`. Read once: each read opens and parses the cgroup's files, and `trellis tag`'s
  /// argument parsing alone read them 18 times. Foundation's count leaves the affinity out on
  /// Linux, so the smaller of the two is taken.
  public static let activeCores: Int = {
    let affinity = trellis_affinity_core_count()
    let quota = ProcessInfo.processInfo.activeProcessorCount
    return max(1, affinity > 0 ? min(affinity, quota) : quota)
  }()

  /// Options that differ from the defaults only where given; each parameter sets the property
  /// of the same name, and its default is the one place the property's default is written.
  /// Call `validate()` before use when the values come from outside.
  public init(
    constrained: Bool = true, confidence: Bool = false, nbest: Int = 0, batchSize: Int = 32,
    threads: Int = TaggingOptions.activeCores
  ) {
    self.constrained = constrained
    self.confidence = confidence
    self.nbest = nbest
    self.batchSize = batchSize
    self.threads = threads
  }

  /// Decodes a JSON object of options; a field left out keeps its default, so a caller names
  /// only what it changes (and objects written before `threads` existed still decode).
  public init(from decoder: any Swift.Decoder) throws {
    self.init()
    let container = try decoder.container(keyedBy: CodingKeys.self)
    try container.decode(&constrained, .constrained)
    try container.decode(&confidence, .confidence)
    try container.decode(&nbest, .nbest)
    try container.decode(&batchSize, .batchSize)
    try container.decode(&threads, .threads)
  }

  /// Throws an `OptionError` naming the first value outside its range.
  public func validate() throws {
    try require(nbest, in: 0...Self.nbestLimit, "nbest")
    try require(batchSize, in: 1...Self.batchSizeLimit, "batch-size")
    try require(threads, in: 1...Self.threadsLimit, "threads")
  }
}
