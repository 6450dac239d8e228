/// How a model is trained; the defaults are the settings the README's numbers come from, and
/// the only place those defaults are written (the CLI's help prints them from here).
public struct TrainingOptions: Codable, Equatable, Sendable {
  /// The most epochs a run may take: a cap rarely reached, since `patience` stops training on a
  /// dev plateau (README "Default settings": ATIS runs peak between epochs 36 and 60).
  public var epochs = 100
  /// Sentences per batch.
  public var batchSize = 32
  public var optimizer: OptimizerKind = .adam
  /// Initial learning rate η₀; nil picks the optimiser's usual value (`defaultLearningRate`).
  public var learningRate: Double? = nil
  /// Epoch e (from 0) uses η₀ / (1 + decay·e).
  public var learningRateDecay = 0.0
  /// Gradients whose global norm exceeds this are scaled down to it (Pascanu et al. 2013);
  /// 0 turns clipping off.
  public var clipNorm = 5.0
  /// Dropout rate on the embeddings and on the encoder outputs.
  public var dropout: Float = 0.5
  /// Probability that a word seen once in training is read as `<unk>`, so `<unk>` is trained.
  public var unknownReplacement = 0.5
  /// Stop after this many epochs without a better dev F1; 0 never stops early. Without a dev
  /// set there is nothing to compare, so training runs all `epochs`.
  public var patience = 10
  public var seed: UInt64 = 1
  /// Keep the running average of the parameters over all steps and use it for evaluation
  /// and the saved model (Collins 2002's averaged perceptron, for any head).
  public var average = false
  /// Keep the pretrained vectors (`TrainingData.embeddings`) as they are: their rows get no
  /// gradient. The rows of words without a vector, `<unk>` among them, still train, since a
  /// frozen random row would carry no information (Lample et al. 2016 fine-tune every row).
  public var freezeEmbeddings = false

  public init() {}

  public static let epochLimit = 100_000
  public static let batchSizeLimit = 4096

  /// Throws an `OptionError` naming the first setting outside its range.
  public func validate() throws {
    try require(epochs, in: 1...Self.epochLimit, "epochs")
    try require(batchSize, in: 1...Self.batchSizeLimit, "batch-size")
    if let learningRate, !(learningRate > 0 && Float(learningRate).isFinite) {
      throw OptionError(
        "learning-rate", "must be positive and finite in single precision (got \(learningRate))")
    }
    try require(learningRateDecay, in: 0...1000, "learning-rate-decay")
    try require(clipNorm, in: 0...1e6, "clip")
    try require(dropout, in: 0..<1, "dropout")
    try require(unknownReplacement, in: 0...1, "unknown-replacement")
    try require(patience, in: 0...Self.epochLimit, "patience")
  }

  var initialLearningRate: Double { learningRate ?? optimizer.defaultLearningRate }

  /// Fields missing from a checkpoint or configuration file take their defaults.
  public init(from decoder: any Swift.Decoder) throws {
    self.init()
    let container = try decoder.container(keyedBy: CodingKeys.self)
    try container.decode(&epochs, .epochs)
    try container.decode(&batchSize, .batchSize)
    try container.decode(&optimizer, .optimizer)
    learningRate = try container.decodeIfPresent(Double.self, forKey: .learningRate)
    try container.decode(&learningRateDecay, .learningRateDecay)
    try container.decode(&clipNorm, .clipNorm)
    try container.decode(&dropout, .dropout)
    try container.decode(&unknownReplacement, .unknownReplacement)
    try container.decode(&patience, .patience)
    try container.decode(&seed, .seed)
    try container.decode(&average, .average)
    try container.decode(&freezeEmbeddings, .freezeEmbeddings)
  }
}

/// One epoch's summary, also written as a JSON line by `trellis train --log`.
public struct EpochReport: Codable, Sendable {
  public var epoch: Int
  /// Mean training loss per sentence, over the batches that were applied (a skipped,
  /// non-finite batch counts neither its loss nor its sentences).
  public var loss: Double
  public var devF1: Double?
  public var devAccuracy: Double?
  /// Mean and maximum global gradient norm over the epoch's steps, before clipping.
  public var gradientNormMean: Double
  public var gradientNormMax: Double
  public var learningRate: Double
  public var skippedBatches: Int
  /// Wall-clock time of the epoch, dev evaluation included.
  public var seconds: Double
  /// Wall-clock time of the epoch's training steps alone.
  public var trainingSeconds: Double
  /// Training tokens per second of training time (dev evaluation excluded).
  public var tokensPerSecond: Double
  public var isBest: Bool
}

/// One optimisation step, for plots of the gradient norm.
public struct StepReport: Codable, Sendable {
  public var step: Int
  public var epoch: Int
  public var loss: Double
  public var gradientNorm: Double
}
