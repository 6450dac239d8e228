import ArgumentParser
import Foundation
import Trellis

struct Train: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Train a tagger on a labelled CoNLL file, keeping the model with the best dev F1.")

  @Option(help: "Training data: CoNLL, token first, gold label last.") var train: String
  @Option(help: "Development data for model selection and early stopping.") var dev: String?
  @Option(help: "Where to write the model (atomically, after every epoch that improves dev F1).")
  var model: String
  @OptionGroup var columns: ColumnOptions

  @Option(help: "Encoder.") var encoder: EncoderKind = .bilstm
  @Option(help: "Output head.") var head: HeadKind = .crf
  @Option(help: "Word embedding size.") var embeddingSize = 100
  @Option(help: "Hidden units per direction.") var hiddenSize = 100
  @Option(help: "Context window: also feed the K words on each side of a token.") var window = 0
  @Option(help: "Filters of a character CNN whose features join each word embedding (0: off).")
  var characterFilters = 0
  @Option(help: "Character embedding size of the character CNN.") var characterEmbeddingSize = 16
  @Option(help: "Pretrained word vectors (word2vec/GloVe text) to start the embeddings from.")
  var embeddings: String?
  @Option(help: "SSVM: cost of one wrong label (Hamming cost weight).") var costWeight = 1.0
  @Option(help: "SSVM: L2 penalty on the head's parameters.") var l2 = 1e-4
  @Flag(help: "Keep tokens' case.") var keepCase = false
  @Flag(help: "Keep digits (default maps every digit to 0).") var keepDigits = false
  @Flag(help: "Let decoding produce label sequences the tag scheme forbids.") var noConstraints = false
  @Option(help: "Train in this tag scheme (bio, bioes, iob1); output stays in the data's scheme.")
  var scheme: TagScheme?

  @Option(help: "Random seed: the same seed and data give the same model file.") var seed: UInt64 = 1
  @Option(help: "Maximum number of epochs.") var epochs = 30
  @Option(help: "Sentences per batch.") var batchSize = 32
  @Option(help: "Optimizer.") var optimizer: OptimizerKind = .adam
  @Option(help: "Learning rate (default: adam 0.001, sgd 0.1).") var learningRate: Double?
  @Option(help: "Learning-rate decay: epoch e uses lr / (1 + decay * e).") var learningRateDecay = 0.0
  @Option(help: "Clip the gradient's global norm to this; 0 turns clipping off.") var clip = 5.0
  @Option(help: "Dropout on embeddings and encoder outputs.") var dropout: Float = 0.5
  @Option(help: "Probability of reading a word seen once in training as <unk>.") var unknownReplacement = 0.5
  @Option(help: "Stop after this many epochs without a better dev F1; 0 never stops early.") var patience = 8
  @Flag(help: "Average the parameters over all steps (averaged perceptron).") var average = false
  @Option(help: "Checkpoint written after every epoch (default: MODEL.checkpoint).") var checkpoint: String?
  @Flag(help: "Continue from the checkpoint instead of starting afresh (same data; --epochs and --patience may change, the other settings are the checkpoint's).")
  var resume = false
  @Option(help: "Write one JSON line per epoch to this file (replacing it).") var log: String?
  @Flag(help: "Also log every step's loss and gradient norm to --log.") var logSteps = false
  @Flag(help: "Print nothing but errors.") var quiet = false

  func validate() throws {
    let limit = TaggerConfiguration.sizeLimit
    guard (1...limit).contains(embeddingSize), (1...limit).contains(hiddenSize) else {
      throw ValidationError("--embedding-size and --hidden-size must be in 1...\(limit)")
    }
    guard (0...64).contains(window) else { throw ValidationError("--window must be in 0...64") }
    guard [learningRate ?? 1, learningRateDecay, clip, l2, costWeight].allSatisfy(\.isFinite) else {
      throw ValidationError("--learning-rate, --learning-rate-decay, --clip, --l2 and --cost-weight must be finite")
    }
    guard (0...limit).contains(characterFilters), (1...limit).contains(characterEmbeddingSize) else {
      throw ValidationError("--character-filters must be in 0...\(limit), --character-embedding-size in 1...\(limit)")
    }
    guard epochs > 0, batchSize > 0 else { throw ValidationError("--epochs and --batch-size must be positive") }
    guard (0..<1).contains(dropout) else { throw ValidationError("--dropout must be in [0, 1)") }
    guard clip >= 0 else { throw ValidationError("--clip must be >= 0") }
    guard learningRate.map({ $0 > 0 }) ?? true else { throw ValidationError("--learning-rate must be > 0") }
    guard learningRateDecay >= 0 else { throw ValidationError("--learning-rate-decay must be >= 0") }
    guard (0...1).contains(unknownReplacement) else {
      throw ValidationError("--unknown-replacement is a probability, in [0, 1]")
    }
    guard patience >= 0 else { throw ValidationError("--patience must be >= 0") }
    guard !logSteps || log != nil else { throw ValidationError("--log-steps needs --log FILE") }
    guard costWeight >= 0, l2 >= 0 else { throw ValidationError("--cost-weight and --l2 must be >= 0") }
  }

  func run() throws {
    var configuration = TaggerConfiguration()
    configuration.encoder = encoder
    configuration.head = head
    configuration.headOptions = HeadOptions(costWeight: costWeight, l2: l2)
    configuration.embeddingSize = embeddingSize
    configuration.hiddenSize = hiddenSize
    configuration.window = window
    configuration.characterFilters = characterFilters
    configuration.characterEmbeddingSize = characterEmbeddingSize
    configuration.normalization = TokenNormalization(lowercase: !keepCase, digitsToZero: !keepDigits)
    configuration.constrainedDecoding = !noConstraints
    configuration.trainingScheme = scheme
    var options = TrainingOptions()
    options.seed = seed
    options.epochs = epochs
    options.batchSize = batchSize
    options.optimizer = optimizer
    options.learningRate = learningRate
    options.learningRateDecay = learningRateDecay
    options.clipNorm = clip
    options.dropout = dropout
    options.unknownReplacement = unknownReplacement
    options.patience = patience
    options.average = average

    // Fail before hours of training, not after, when the model cannot be written.
    let directory = URL(fileURLWithPath: model).deletingLastPathComponent().path
    guard FileManager.default.isWritableFile(atPath: directory) else {
      throw TrellisError(file: model, "cannot be written: \(directory) is missing or not writable")
    }
    var isDirectory: ObjCBool = false
    guard !(FileManager.default.fileExists(atPath: model, isDirectory: &isDirectory) && isDirectory.boolValue) else {
      throw TrellisError(file: model, "is a directory, not a model file")
    }
    let trainSentences = try columns.read(train)
    let devSentences = try dev.map(columns.read) ?? []
    let logFile = try log.map(JSONLinesLog.init(path:))
    if !quiet, let hint = blasKernelHint() { printError(hint) }
    let trainer = Trainer(configuration: configuration, options: options)
    trainer.pretrained = try embeddings.map {
      try PretrainedEmbeddings(path: $0, dimension: embeddingSize, normalization: configuration.normalization)
    }
    trainer.onPretrainedCoverage = { covered, total, added in
      guard !quiet else { return }
      printError(
        String(
          format: "embeddings: %d of %d training words have a pretrained vector (%.1f%%); %d more words added",
          covered, total, 100 * Double(covered) / Double(max(total, 1)), added))
    }
    let started = Date()
    trainer.onEpoch = { report in
      logFile?.write(report)
      guard !quiet else { return }
      let f1 = report.devF1.map { String(format: "%6.2f", $0) } ?? "     -"
      printError(
        String(
          format: "epoch %3d  loss %9.4f  dev F1 %@  %7.0f tokens/s  %6.1fs%@%@",
          report.epoch, report.loss, f1, report.tokensPerSecond,
          Date().timeIntervalSince(started), report.isBest ? "  *" : "",
          report.skippedBatches > 0 ? "  (\(report.skippedBatches) batches skipped: non-finite)" : ""))
    }
    if logSteps { trainer.onStep = { logFile?.write($0) } }
    let trained = try trainer.train(
      train: trainSentences, dev: devSentences, checkpoint: checkpoint ?? model + ".checkpoint", resume: resume,
      bestModel: model)
    if !quiet {
      printError("wrote \(model) (\(trained.store.count) parameters, \(trained.labels.count) labels)")
    }
  }
}

/// Appends one JSON object per line; a line per epoch (and per step with --log-steps).
final class JSONLinesLog {
  let handle: FileHandle
  let encoder = JSONEncoder()

  init(path: String) throws {
    guard FileManager.default.createFile(atPath: path, contents: nil),
      let handle = FileHandle(forWritingAtPath: path)
    else { throw TrellisError(file: path, "cannot be created") }
    self.handle = handle
    encoder.outputFormatting = [.sortedKeys]
    encoder.keyEncodingStrategy = .convertToSnakeCase
    // A diverging run is exactly what a log must show: non-finite values become strings.
    encoder.nonConformingFloatEncodingStrategy = .convertToString(
      positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
  }

  func write<Record: Encodable>(_ record: Record) {
    guard var line = try? encoder.encode(record) else { return }
    line.append(0x0A)
    handle.write(line)
  }
}

func printError(_ message: String) {
  FileHandle.standardError.write(Data((message + "\n").utf8))
}

/// A one-line hint when OpenBLAS runs its generic SSE3 kernels on a CPU with AVX2: Debian's
/// OpenBLAS 0.3.21 does not recognise recent Xeons, and its products then run ~5x slower.
func blasKernelHint() -> String? {
  guard blasCoreName() == "Prescott", ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] == nil,
    let cpuinfo = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
    let flags = cpuinfo.split(separator: "\n").first(where: { $0.hasPrefix("flags") }),
    flags.split(separator: " ").contains("avx2")
  else { return nil }
  return "note: OpenBLAS chose its generic Prescott kernels on this AVX2 CPU; "
    + "OPENBLAS_CORETYPE=Haswell (or SkylakeX with AVX-512) trains several times faster (make train sets it)"
}

/// Which CoNLL columns hold the token and the gold label (train and eval).
struct ColumnOptions: ParsableArguments {
  @Option(help: "The column holding the token (1-based).") var tokenColumn = 1
  @Option(help: "The column holding the gold label (1-based; default: the last).") var labelColumn: Int?

  func validate() throws {
    guard tokenColumn >= 1, labelColumn.map({ $0 >= 1 }) ?? true else {
      throw ValidationError("columns count from 1")
    }
  }

  func read(_ path: String) throws -> [Sentence] {
    try readLabelledCoNLL(path: path, tokenColumn: tokenColumn, labelColumn: labelColumn)
  }
}
