import ArgumentParser
import Trellis

/// `trellis train`'s flags for how the weights are fitted (`TrainingOptions`), apart from
/// `Train`'s others for the data, the architecture and the run's files. Each is nil unless
/// given, so that a `--config` file's value stands.
struct OptimizationFlags: ParsableArguments {
  @Option(
    parsing: .unconditional,
    help:
      "Random seed: the same seed and data give the same model file (default: \(Train.defaults.options.seed))."
  )
  var seed: UInt64?
  @Option(
    parsing: .unconditional,
    help: "Maximum number of epochs (default: \(Train.defaults.options.epochs))."
  ) var epochs: Int?
  @Option(
    parsing: .unconditional,
    help: "Sentences per batch (default: \(Train.defaults.options.batchSize)).")
  var batchSize: Int?
  @Option(help: "Optimizer (default: \(Train.defaults.options.optimizer)).") var optimizer:
    OptimizerKind?
  @Option(
    parsing: .unconditional,
    help:
      "Learning rate (default: \(OptimizerKind.allCases.map { "\($0) \($0.defaultLearningRate)" }.joined(separator: ", "))).",
    transform: floatingPointValue
  )
  var learningRate: Double?
  @Option(
    parsing: .unconditional,
    help:
      "Learning-rate decay: epoch e (from 1, as logged) uses lr / (1 + decay * (e - 1)) (default: \(Train.defaults.options.learningRateDecay)).",
    transform: floatingPointValue
  )
  var learningRateDecay: Double?
  @Option(
    parsing: .unconditional,
    help:
      "Multiply the learning rate by this after each --anneal-patience epochs without a better dev F1, once the run has made \(TrainingOptions.updatesBeforeStopping) updates; 1 never anneals, nor does a run without --dev (default: \(Train.defaults.options.annealFactor)).",
    transform: floatingPointValue
  )
  var annealFactor: Double?
  @Option(
    parsing: .unconditional,
    help:
      "Epochs without a better dev F1 before each annealing (with --dev); refused with --anneal-factor 1 (default: \(Train.defaults.options.annealPatience))."
  )
  var annealPatience: Int?
  @Option(
    parsing: .unconditional,
    help:
      "Clip the gradient's global norm to this; 0 turns clipping off (default: \(Train.defaults.options.clipNorm)).",
    transform: floatingPointValue
  )
  var clip: Double?
  @Option(
    parsing: .unconditional,
    help: "Dropout on embeddings and encoder outputs (default: \(Train.defaults.options.dropout)).",
    transform: floatingPointValue
  )
  var dropout: Float?
  @Flag(
    inversion: .prefixedNo,
    help:
      "One dropout mask per sentence, kept at every token, also on the recurrent state; refused with --dropout 0 (default: \(Train.defaults.options.variationalDropout))."
  )
  var variationalDropout: Bool?
  @Option(
    parsing: .unconditional,
    help:
      "Probability of reading a word seen once in training as <unk> (default: \(Train.defaults.options.unknownReplacement)).",
    transform: floatingPointValue
  )
  var unknownReplacement: Double?
  @Option(
    parsing: .unconditional,
    help:
      "Stop after this many epochs without a better dev F1, once the run has made \(TrainingOptions.updatesBeforeStopping) updates (epochs of a corpus of a few dozen sentences are one or two); 0 never stops early, nor does a run without --dev (default: \(Train.defaults.options.patience))."
  )
  var patience: Int?
  @Flag(
    inversion: .prefixedNo,
    help: "Average the parameters over all steps (default: \(Train.defaults.options.average)).")
  var average: Bool?
}
