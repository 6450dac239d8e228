/// How a model is trained; the defaults are the settings the README's numbers come from, and
/// the only place those defaults are written (the CLI's help prints them from here).
public struct TrainingOptions: Codable, Equatable, Sendable {
  /// The most epochs a run may take: on a corpus of thousands of sentences a cap rarely
  /// reached, since `patience` stops training on a dev plateau (README "Default settings, and
  /// why": ATIS runs peak between epochs 36 and 60), but every run on a few hundred sentences
  /// or fewer takes them all (`updatesBeforeStopping`).
  public var epochs = 100
  /// Sentences per batch.
  public var batchSize = 32
  /// The update rule.
  public var optimizer: OptimizerKind = .adam
  /// Initial learning rate η₀; nil picks the optimiser's usual value (`defaultLearningRate`).
  public var learningRate: Double? = nil
  /// Epoch e (from 0) uses η₀ / (1 + decay·e).
  public var learningRateDecay = 0.0
  /// The learning rate is multiplied by this after every `annealPatience` epochs in a row
  /// without a better dev F1, so training takes smaller steps on a plateau before `patience`
  /// stops it (Keras's ReduceLROnPlateau; flair anneals by 0.5), once the run has made
  /// `updatesBeforeStopping` updates. 1 never anneals, nor does a run without a dev set.
  public var annealFactor = 1.0
  /// Epochs in a row without a better dev F1 before each annealing (`annealFactor`).
  public var annealPatience = 3
  /// Gradients whose global norm exceeds this are scaled down to it (Pascanu et al. 2013);
  /// 0 turns clipping off.
  public var clipNorm = 5.0
  /// Dropout rate on the embeddings and on the encoder outputs.
  public var dropout: Float = 0.5
  /// One dropout mask per sentence, the same at every token (Gal & Ghahramani 2016), instead
  /// of a fresh mask per token, on what `dropout` masks and on each direction's recurrent state.
  public var variationalDropout = false
  /// Probability that a word seen once in training is read as `<unk>`, so `<unk>` is trained.
  public var unknownReplacement = 0.5
  /// Stop after this many epochs without a better dev F1; 0 never stops early. Without a dev
  /// set there is nothing to compare, so training runs all `epochs`; nor does it end a run of
  /// fewer than `updatesBeforeStopping` updates.
  public var patience = 10
  /// Seeds the one random generator behind initialisation, shuffling, word dropout and
  /// dropout masks: the same seed and data give the same model bytes.
  public var seed: UInt64 = 1
  /// Keep the running average of the parameters over all steps and use it for evaluation
  /// and the saved model (Collins 2002's averaged perceptron, for any head).
  public var average = false
  /// Keep the pretrained vectors (`TrainingData.embeddings`) as they are: their rows get no
  /// gradient. The rows of words without a vector, `<unk>` among them, still train, since a
  /// frozen random row would carry no information (Lample et al. 2016 fine-tune every row).
  public var freezeEmbeddings = false

  /// The defaults above.
  public init() {}

  /// The fewest updates a run makes before `patience` may end it: early stopping judges a
  /// plateau of a model that has trained. On a corpus of a few dozen sentences an epoch is one
  /// or two updates; its first epochs find a few dev chunks by chance or none, and the next
  /// ten, none, ended such runs with a model of chance (53 sentences of the shipped corpus,
  /// seed 1: test FB1 1.70 after 11 epochs, 55.93 after 100). The default runs on ATIS peak
  /// after 5,000–8,400 updates (epochs 36–60 of 140 batches).
  public static let updatesBeforeStopping = 1_000

  /// The most `epochs`, and the most `patience`, that `validate()` accepts.
  public static let epochLimit = 100_000
  /// The largest `batchSize` that `validate()` accepts.
  public static let batchSizeLimit = 4096

  /// Throws an `OptionError` when `freezeEmbeddings` is set without pretrained vectors
  /// (`hasVectors`) to keep fixed: it would do nothing, silently. `TrainingRecipe.validate()`
  /// and `Trainer.train` both ask.
  func validateFreezing(hasVectors: Bool) throws {
    if freezeEmbeddings && !hasVectors {
      throw OptionError("freeze-embeddings", "needs --embeddings, the vectors it keeps fixed")
    }
  }

  /// Throws an `OptionError` naming the first setting outside its range.
  public func validate() throws {
    try require(epochs, in: 1...Self.epochLimit, "epochs")
    try require(batchSize, in: 1...Self.batchSizeLimit, "batch-size")
    // The optimisers step in Float: a rate that rounds to 0 there (1e-46) would train nothing.
    if let learningRate, !(Float(learningRate) > 0 && Float(learningRate).isFinite) {
      throw OptionError(
        "learning-rate", "must be positive and finite in single precision (got \(learningRate))")
    }
    try require(learningRateDecay, in: 0...1000, "learning-rate-decay")
    try require(annealFactor, in: 1e-3...1, "anneal-factor")
    try require(annealPatience, in: 1...Self.epochLimit, "anneal-patience")
    try require(clipNorm, in: 0...1e6, "clip", field: "clipNorm")
    // Gradients are scaled by clipNorm / norm in Float: a norm below its smallest normal value
    // (1e-50) scaled every gradient to 0 and trained nothing.
    if clipNorm > 0, Float(clipNorm) < .leastNormalMagnitude {
      throw OptionError(
        "clip", "must be 0 (off) or at least \(Float.leastNormalMagnitude) (got \(clipNorm))",
        field: "clipNorm")
    }
    try require(dropout, in: 0..<1, "dropout")
    try require(unknownReplacement, in: 0...1, "unknown-replacement")
    try require(patience, in: 0...Self.epochLimit, "patience")
  }

  /// The rate training starts at: `learningRate`, or the optimizer's own default.
  package var initialLearningRate: Double { learningRate ?? optimizer.defaultLearningRate }

  /// Fields missing from a checkpoint or configuration file take their defaults.
  public init(from decoder: any Swift.Decoder) throws {
    self.init()
    let container = try decoder.container(keyedBy: CodingKeys.self)
    try container.decode(&epochs, .epochs)
    try container.decode(&batchSize, .batchSize)
    try container.decode(&optimizer, .optimizer)
    learningRate = try container.decodeIfPresent(Double.self, forKey: .learningRate)
    try container.decode(&learningRateDecay, .learningRateDecay)
    try container.decode(&annealFactor, .annealFactor)
    try container.decode(&annealPatience, .annealPatience)
    try container.decode(&clipNorm, .clipNorm)
    try container.decode(&dropout, .dropout)
    try container.decode(&variationalDropout, .variationalDropout)
    try container.decode(&unknownReplacement, .unknownReplacement)
    try container.decode(&patience, .patience)
    try container.decode(&seed, .seed)
    try container.decode(&average, .average)
    try container.decode(&freezeEmbeddings, .freezeEmbeddings)
  }
}

/// One epoch's summary, also written as a JSON line by `trellis train --log` (its keys in
/// snake_case there: `dev_f1`).
public struct EpochReport: Codable, Sendable {
  /// The epoch's number, from 1; a resumed run goes on counting from its checkpoint.
  public var epoch: Int
  /// Mean training loss per sentence, over the batches that were applied (a skipped,
  /// non-finite batch counts neither its loss nor its sentences).
  public var loss: Double
  /// Chunk FB1 on the dev set after the epoch, in percent (conlleval's); nil without a dev set.
  public var devF1: Double?
  /// Token accuracy on the dev set, in percent; nil without a dev set.
  public var devAccuracy: Double?
  /// The mean global gradient norm over the epoch's applied steps, before clipping.
  public var gradientNormMean: Double
  /// The largest global gradient norm of the epoch's applied steps, before clipping.
  public var gradientNormMax: Double
  /// The learning rate of the epoch's steps (`TrainingOptions.learningRateDecay` and
  /// `annealFactor` say how it falls from epoch to epoch).
  public var learningRate: Double
  /// Batches left out because their loss or gradient was not finite; too many in a row end
  /// training with an error.
  public var skippedBatches: Int
  /// Wall-clock time of the epoch, dev evaluation included.
  public var seconds: Double
  /// Wall-clock time of the epoch's training steps alone.
  public var trainingSeconds: Double
  /// Training tokens per second of training time (dev evaluation excluded).
  public var tokensPerSecond: Double
  /// Whether the epoch's parameters are the ones kept: its dev F1 beats every earlier epoch's,
  /// or every one so far is 0 (without a dev set, every epoch is kept in turn).
  public var isBest: Bool
}

/// One optimisation step, for plots of the gradient norm.
public struct StepReport: Codable, Sendable {
  /// The step's number over the whole run, from 1, skipped steps included.
  public var step: Int
  /// The epoch the step belongs to, from 1.
  public var epoch: Int
  /// The batch's mean loss per sentence. A step whose loss or gradient norm is not finite is
  /// still reported, then skipped.
  public var loss: Double
  /// The global norm of the batch's gradient, before clipping.
  public var gradientNorm: Double
}
