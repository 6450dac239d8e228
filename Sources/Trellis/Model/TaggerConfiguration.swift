import ConllEval

extension TagScheme: Codable {}

/// The architecture of a tagger: everything needed to rebuild its parameter layout.
public struct TaggerConfiguration: Codable, Equatable, Sendable {
  /// The recurrent encoder over the token representations.
  public var encoder: EncoderKind = .bilstm
  /// The structured output layer.
  public var head: HeadKind = .crf
  public var headOptions = HeadOptions()
  /// Word embedding size `D`.
  public var embeddingSize = 100
  /// Hidden units per direction `H`.
  public var hiddenSize = 100
  /// Context window `K`: a token's input is the representations of tokens t−K … t+K
  /// concatenated (Mesnil et al. 2013); 0 is the token alone.
  public var window = 0
  /// Filters `F` of the character CNN whose features join each word embedding; 0 turns it off.
  public var characterFilters = 0
  /// Character embedding size `Dc` of the character CNN.
  public var characterEmbeddingSize = 16
  /// How tokens become vocabulary keys.
  public var normalization = TokenNormalization()
  /// The tag scheme of the training data, detected when training starts; tagging output is in
  /// this scheme.
  public var scheme: TagScheme = .bio
  /// The scheme the model's own labels are in (`--scheme`), when it differs from `scheme`:
  /// training labels are converted to it, predictions converted back. BIOES gives the chain
  /// separate labels for single-token and final tokens of a span.
  public var trainingScheme: TagScheme?
  /// Whether decoding forbids the transitions `scheme` rules out.
  public var constrainedDecoding = true

  public init() {}

  /// Fields missing from a model file take their defaults, so files written before a field
  /// existed (format version 1 throughout) still load.
  public init(from decoder: any Swift.Decoder) throws {
    let container = try decoder.container(keyedBy: CodingKeys.self)
    let defaults = TaggerConfiguration()
    func value<T: Decodable>(_ key: CodingKeys, _ fallback: T) throws -> T {
      try container.decodeIfPresent(T.self, forKey: key) ?? fallback
    }
    encoder = try value(.encoder, defaults.encoder)
    head = try value(.head, defaults.head)
    headOptions = try value(.headOptions, defaults.headOptions)
    embeddingSize = try value(.embeddingSize, defaults.embeddingSize)
    hiddenSize = try value(.hiddenSize, defaults.hiddenSize)
    window = try value(.window, defaults.window)
    characterFilters = try value(.characterFilters, defaults.characterFilters)
    characterEmbeddingSize = try value(.characterEmbeddingSize, defaults.characterEmbeddingSize)
    normalization = try value(.normalization, defaults.normalization)
    scheme = try value(.scheme, defaults.scheme)
    trainingScheme = try container.decodeIfPresent(TagScheme.self, forKey: .trainingScheme)
    constrainedDecoding = try value(.constrainedDecoding, defaults.constrainedDecoding)
  }

  /// The largest size any dimension may have: far beyond any useful tagger, small enough that
  /// no product of two sizes overflows, so a damaged or hostile model file cannot make the
  /// loader compute a nonsensical layout.
  public static let sizeLimit = 1 << 16

  /// Throws a message naming the first size outside its range.
  public func validate() throws {
    for (name, value, minimum) in [
      ("embedding size", embeddingSize, 1), ("hidden size", hiddenSize, 1),
      ("character filters", characterFilters, 0), ("character embedding size", characterEmbeddingSize, 1),
    ] where !(minimum...Self.sizeLimit).contains(value) {
      throw TrellisError(file: "configuration", "\(name) \(value) is outside \(minimum)...\(Self.sizeLimit)")
    }
    guard (0...64).contains(window) else {
      throw TrellisError(file: "configuration", "window \(window) is outside 0...64")
    }
  }

  /// Width of one token's representation: its word embedding and character features.
  public var tokenSize: Int { embeddingSize + characterFilters }

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
}
