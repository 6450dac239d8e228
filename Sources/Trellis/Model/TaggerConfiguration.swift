import ConllEval

extension TagScheme: Codable {}

/// The architecture of a tagger: everything needed to rebuild its parameter layout.
public struct TaggerConfiguration: Codable, Equatable, Sendable {
  /// The recurrent encoder over the token representations.
  public var encoder: EncoderKind = .bilstm
  /// The structured output layer.
  public var head: HeadKind = .crf
  /// The head's own settings (the SSVM's cost and L2 penalty).
  public var headOptions = HeadOptions()
  /// Word embedding size `D`.
  public var embeddingSize = 100
  /// Hidden units per direction `H`.
  public var hiddenSize = 100
  /// Stacked encoder layers, each reading the one below's outputs (`EncoderStack`).
  public var layers = 1
  /// Context window `K`: a token's input is the representations of tokens t−K … t+K
  /// concatenated (Mesnil et al. 2013); 0 is the token alone.
  public var window = 0
  /// Filters `F` of the character CNN whose features join each word embedding; 0 turns it off.
  /// On by default (30 filters, Ma & Hovy 2016): character features help every corpus
  /// measured and matter most for names and words unseen in training.
  public var characterFilters = 30
  /// Character embedding size `Dc` of the character CNN (30, Ma & Hovy 2016).
  public var characterEmbeddingSize = 30
  /// Extra CoNLL columns read as categorical features (part-of-speech tags, gazetteer flags,
  /// casing), each embedded with its own vocabulary and joined to the word embedding.
  public var featureColumns: [FeatureColumn] = []
  /// How tokens become vocabulary keys.
  public var normalization = TokenNormalization()
  /// Whether the character CNN reads tokens lowercased. Off by default, whatever the word
  /// keys do: case is the strongest cue for names (Lample et al. 2016, Ma & Hovy 2016 read
  /// the original characters), and lowercased word keys still share one embedding.
  public var lowercaseCharacters = false
  /// The tag scheme of the training data; tagging output is in this scheme. Not a setting:
  /// training detects it from the data (`detectScheme`), so a recipe holds it only once its run
  /// has read the data (`--print-config` has none), and a configuration file may not give it.
  /// Read as BIO until set (a configuration made by hand).
  public var scheme: TagScheme {
    get { detectedScheme ?? .bio }
    set { detectedScheme = newValue }
  }
  /// `scheme` once set: its JSON form has "scheme" only then.
  private var detectedScheme: TagScheme?
  /// The scheme the model's own labels are in (`--scheme`), when it differs from `scheme`:
  /// training labels are converted to it, predictions converted back. BIOES gives the chain
  /// separate labels for single-token and final tokens of a span.
  public var trainingScheme: TagScheme?
  /// Sets `scheme` to the scheme of the training labels `labels` (`detectScheme`) and, when no
  /// `trainingScheme` was chosen, the scheme to train in: BIO for IOB1 data whose labels are
  /// all chunk labels (converted for training, predictions converted back), else the data's
  /// own. IOB1 writes B-X only where a chunk follows one of its own type, so its I-X both
  /// starts and continues chunks; Reimers & Gurevych (2017) found it the worst scheme to train
  /// in on every sequence-labelling task they measured, and Lample et al. (2016) and Ma & Hovy
  /// (2016) converted CoNLL-2003's IOB1 before training.
  public mutating func detectSchemes(in labels: [[String]]) {
    scheme = detectScheme(labels)
    if trainingScheme == nil, scheme == .iob1,
      labels.allSatisfy({ $0.allSatisfy(isChunkLabel) })
    {
      trainingScheme = .bio
    }
  }

  /// Unsets `scheme`, as a configuration is before its run reads the data.
  mutating func forgetDetectedScheme() {
    detectedScheme = nil
  }

  /// `trainingScheme` when it differs from `scheme` (labels converted to it for training,
  /// predictions converted back), else nil: the model's labels are the data's.
  package var convertedScheme: TagScheme? { trainingScheme == scheme ? nil : trainingScheme }
  /// Whether the chain heads' decoding forbids the transitions `scheme` rules out (the softmax
  /// head labels each token on its own).
  public var constrainedDecoding = true

  /// The default architecture: BiLSTM-CRF with character features, as `trellis train` uses.
  public init() {}

  private enum CodingKeys: String, CodingKey {
    case encoder, head, headOptions, embeddingSize, hiddenSize, layers, window, characterFilters
    case characterEmbeddingSize, featureColumns, normalization, lowercaseCharacters
    case detectedScheme = "scheme"
    case trainingScheme, constrainedDecoding
  }

  /// Fields missing from a model or configuration file take their defaults, so files written
  /// before a field existed (format version 1 throughout) still load.
  public init(from decoder: any Swift.Decoder) throws {
    let container = try decoder.container(keyedBy: CodingKeys.self)
    try container.decode(&encoder, .encoder)
    try container.decode(&head, .head)
    try container.decode(&headOptions, .headOptions)
    try container.decode(&embeddingSize, .embeddingSize)
    try container.decode(&hiddenSize, .hiddenSize)
    try container.decode(&layers, .layers)
    // A model file from before stacking existed has one layer, whatever today's default.
    if decoder.userInfo[.readsModelFile] as? Bool == true, !container.contains(.layers) {
      layers = 1
    }
    try container.decode(&window, .window)
    try container.decode(&featureColumns, .featureColumns)
    try container.decode(&characterFilters, .characterFilters)
    // A model file from before the character CNN existed had none, whatever today's default.
    if decoder.userInfo[.readsModelFile] as? Bool == true, !container.contains(.characterFilters) {
      characterFilters = 0
    }
    try container.decode(&characterEmbeddingSize, .characterEmbeddingSize)
    try container.decode(&normalization, .normalization)
    try container.decode(&lowercaseCharacters, .lowercaseCharacters)
    // A model file from before this field read lowercased characters exactly when words were;
    // a configuration file without it takes today's default, as every other field does.
    if decoder.userInfo[.readsModelFile] as? Bool == true,
      !container.contains(.lowercaseCharacters)
    {
      lowercaseCharacters = normalization.lowercase
    }
    detectedScheme = try container.decodeIfPresent(TagScheme.self, forKey: .detectedScheme)
    trainingScheme = try container.decodeIfPresent(TagScheme.self, forKey: .trainingScheme)
    try container.decode(&constrainedDecoding, .constrainedDecoding)
  }

  /// The largest size any dimension may have: far beyond any useful tagger, small enough that
  /// the largest layer (an LSTM's 4H×H recurrent block, 268 MB at the limit) can be allocated
  /// and no product of sizes overflows, so neither an option nor a damaged or hostile model
  /// file can make the code compute a nonsensical layout.
  public static let sizeLimit = 4096
  /// The widest context window: 2K+1 tokens per input row.
  public static let windowLimit = 64
  /// The most stacked encoder layers.
  public static let layerLimit = 8
  /// The most parameters the sizes alone may ask for (a model of a two-word vocabulary and
  /// one label; the data's vocabularies add theirs): 2 GiB of weights, four times that in
  /// training. Each size is within its own limit, but together they could ask for more than a
  /// machine holds (`--window 64` with embeddings and LSTMs 4,096 wide: 17.6 billion), and the
  /// allocation trapped.
  public static let parameterLimit = 1 << 29

  /// Throws an `OptionError` naming the first setting outside its range.
  public func validate() throws {
    try require(embeddingSize, in: 1...Self.sizeLimit, "embedding-size")
    try require(hiddenSize, in: 1...Self.sizeLimit, "hidden-size")
    try require(layers, in: 1...Self.layerLimit, "layers")
    try require(window, in: 0...Self.windowLimit, "window")
    try require(characterFilters, in: 0...Self.sizeLimit, "character-filters")
    try require(characterEmbeddingSize, in: 1...Self.sizeLimit, "character-embedding-size")
    for (index, feature) in featureColumns.enumerated() {
      let (columns, sizes) = (1...TrainingData.columnLimit, 1...Self.sizeLimit)
      guard columns.contains(feature.column) else {
        throw OptionError(
          "feature-column", "must be in \(columns) (got \(feature.column))",
          field: "featureColumns[\(index)].column", part: "N")
      }
      guard sizes.contains(feature.size) else {
        throw OptionError(
          "feature-column", "must be in \(sizes) (got \(feature.size))",
          field: "featureColumns[\(index)].size", part: "\(feature.column):DIM: DIM")
      }
    }
    guard Set(featureColumns.map(\.column)).count == featureColumns.count else {
      throw OptionError("feature-column", "names a column twice", field: "featureColumns")
    }
    try locating(in: "headOptions", headOptions.validate)
    let parameters = TaggerModel.layout(
      configuration: self, wordCount: 2, labelCount: 1, characterCount: 2,
      featureValueCounts: featureColumns.map { _ in 2 }
    ).reduce(0) { $0 + $1.count }
    guard parameters <= Self.parameterLimit else {
      throw OptionError(
        "hidden-size",
        "\(hiddenSize) over \(layers) layer(s) of inputs \(inputSize) wide (--embedding-size, "
          + "--character-filters and feature sizes, times 2 x --window + 1) makes \(parameters) "
          + "parameters, more than the \(Self.parameterLimit) a model may have")
    }
  }

  /// The text of `token` the character CNN reads.
  func characterText(of token: String) -> String {
    lowercaseCharacters ? token.lowercased() : token
  }

  /// Width of one token's representation: its word embedding and character features.
  var tokenSize: Int {
    embeddingSize + featureColumns.reduce(0) { $0 + $1.size } + characterFilters
  }

  /// Width of one token's input to the encoder: the window's token representations.
  public var inputSize: Int { (2 * window + 1) * tokenSize }
}

/// The vocabulary ids every model reserves.
enum ReservedWord {
  /// Fills window positions outside the sentence and batch padding.
  static let padding = "<pad>"
  /// Stands for every word not in the vocabulary.
  static let unknown = "<unk>"
  static let paddingId = 0
  static let unknownId = 1
  /// Both, in id order.
  static let all = [padding, unknown]
}

extension CodingUserInfoKey {
  /// Set when decoding a model file's header, where a missing field means a feature the file
  /// predates, not today's default.
  static let readsModelFile = CodingUserInfoKey(rawValue: "readsModelFile")!
}

/// A CoNLL column read as a categorical feature: `column` (1-based, as in the file) embedded in
/// `size` dimensions. `--feature-column 2:16` on the command line.
public struct FeatureColumn: Codable, Equatable, Sendable {
  /// The column's 1-based position on a CoNLL line.
  public var column: Int
  /// The dimension of each of its values' embeddings.
  public var size: Int

  /// The embedding size when none is given: a tag set has tens of values, not tens of thousands.
  public static let defaultSize = 10

  /// Column `column` embedded in `size` dimensions.
  public init(column: Int, size: Int = defaultSize) {
    self.column = column
    self.size = size
  }

  /// `size` missing from a configuration file takes its default (a model file has it);
  /// `column` has none.
  public init(from decoder: any Swift.Decoder) throws {
    let container = try decoder.container(keyedBy: CodingKeys.self)
    self.init(column: try container.decode(Int.self, forKey: .column))
    try container.decode(&size, .size, writtenByEveryModel: decoder)
  }

  /// Parses `N` or `N:DIM`.
  public init?(argument: String) {
    let parts = argument.split(separator: ":", omittingEmptySubsequences: false)
    guard (1...2).contains(parts.count), let column = Int(parts[0]) else { return nil }
    guard parts.count == 1 || Int(parts[1]) != nil else { return nil }
    self.init(column: column, size: parts.count == 2 ? Int(parts[1])! : Self.defaultSize)
  }
}
