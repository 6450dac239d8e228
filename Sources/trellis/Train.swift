import ArgumentParser
import Foundation
import Trellis

struct Train: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "train",
    abstract: "Train a tagger on a labelled CoNLL file, keeping the model with the best dev F1.",
    discussion: """
      Every setting can also come from a JSON configuration file (--config); a flag overrides \
      the file. --print-config prints the effective configuration without training, so \
      `trellis train ... --print-config > run.json` then `trellis train --config run.json \
      --model M` repeats the run (the same seed gives the same model bytes).
      """)

  /// The defaults every option below shows, from the library: the one place they are written.
  static let defaults = TrainingRecipe()

  @Option(help: "A JSON training configuration (as --print-config writes); flags override it.")
  var config: String?
  @Flag(help: "Print the effective configuration as JSON and exit without training.")
  var printConfig = false

  @Option(help: "Training data: CoNLL (its columns: --token-column, --label-column).")
  var train: String?
  @Option(help: "Development data for model selection and early stopping.") var dev: String?
  @Option(
    help: """
      Test data, read only for its words: --embeddings keeps their vectors too (train does not \
      score it; left out, with a note, without --embeddings). Read as --train is, so its \
      lines need a label column too.
      """)
  var test: String?
  @Option(help: "Where to write the model (atomically, after every epoch that improves dev F1).")
  var model: String?
  @Option(
    parsing: .unconditional,
    help: "The column holding the token (1-based; default: \(TrainingData.defaultTokenColumn)).")
  var tokenColumn: Int?
  @Option(
    parsing: .unconditional, help: "The column holding the gold label (1-based; default: the last)."
  )
  var labelColumn: Int?

  @Option(help: "Encoder (default: \(defaults.configuration.encoder)).") var encoder: EncoderKind?
  @Option(help: "Output head (default: \(defaults.configuration.head)).") var head: HeadKind?
  @Option(
    parsing: .unconditional,
    help: "Word embedding size (default: \(defaults.configuration.embeddingSize)).")
  var embeddingSize: Int?
  @Option(
    parsing: .unconditional,
    help: "Hidden units per direction (default: \(defaults.configuration.hiddenSize)).")
  var hiddenSize: Int?
  @Option(
    parsing: .unconditional,
    help:
      "Stacked encoder layers, each reading the one below (default: \(defaults.configuration.layers))."
  )
  var layers: Int?
  @Option(
    parsing: .unconditional,
    help:
      "Context window: also feed the K words on each side of a token (default: \(defaults.configuration.window))."
  )
  var window: Int?
  @Option(
    parsing: .unconditional,
    help:
      "Filters of a character CNN whose features join each word embedding; 0 is off (default: \(defaults.configuration.characterFilters))."
  )
  var characterFilters: Int?
  @Option(
    parsing: .unconditional,
    help:
      "Character embedding size of the character CNN; refused with --character-filters 0 (default: \(defaults.configuration.characterEmbeddingSize))."
  )
  var characterEmbeddingSize: Int?
  @Option(
    parsing: .unconditionalSingleValue,
    help: ArgumentHelp(
      "Read column N as a categorical feature embedded in DIM dimensions (\(FeatureColumn.defaultSize) when not given); repeatable.",
      valueName: "N[:DIM]"))
  var featureColumn: [FeatureColumn] = []
  @Option(
    help: """
      Pretrained word vectors to start the embeddings from: GloVe or word2vec text, fastText \
      .vec, word2vec binary.
      """)
  var embeddings: String?
  @Option(
    help: """
      Vectors of --embeddings kept (all needs it): data (words of --train, --dev, --test) or \
      all (every word of the file: with GloVe 6B 50d a model of some 17.9 M parameters on \
      ATIS) (default: \(defaults.data.embeddingsScope)).
      """)
  var embeddingsScope: EmbeddingScope?
  @Flag(
    inversion: .prefixedNo,
    help: """
      Keep the pretrained vectors of --embeddings (which it needs) fixed; the rows of words \
      without one still train (default: \(defaults.options.freezeEmbeddings)).
      """)
  var freezeEmbeddings: Bool?
  @Option(
    parsing: .unconditional,
    help:
      "SSVM: cost of one wrong label; refused with another head (default: \(defaults.configuration.headOptions.costWeight)).",
    transform: floatingPointValue
  )
  var costWeight: Double?
  @Option(
    parsing: .unconditional,
    help:
      "SSVM: L2 penalty on the head's parameters; refused with another head (default: \(defaults.configuration.headOptions.l2)).",
    transform: floatingPointValue
  )
  var l2: Double?
  @Flag(
    inversion: .prefixedNo,
    help:
      "Keep the case of word keys (default: \(!defaults.configuration.normalization.lowercase)).")
  var keepCase: Bool?
  @Flag(
    inversion: .prefixedNo,
    help:
      "Let the character CNN read lowercased tokens; refused with --character-filters 0 (default: \(defaults.configuration.lowercaseCharacters))."
  )
  var lowercaseCharacters: Bool?
  @Flag(
    inversion: .prefixedNo,
    help:
      "Keep digits instead of mapping each ASCII digit (0-9) to 0 (default: \(!defaults.configuration.normalization.digitsToZero))."
  )
  var keepDigits: Bool?
  @Flag(
    inversion: .prefixedNo,
    help:
      "Decode under the tag scheme's transition constraints (default: \(defaults.configuration.constrainedDecoding)); the softmax head labels each token on its own."
  )
  var constraints: Bool?
  @Option(
    help:
      "Train in this tag scheme (bio, bioes, iob1; default: the data's, but BIO for IOB1 data); output stays in the data's scheme."
  )
  var scheme: TagScheme?

  @OptionGroup var optimization: OptimizationFlags

  @Option(
    help:
      "Checkpoint written after every epoch (default: MODEL.checkpoint); a run without --resume refuses one that holds an earlier run's."
  ) var checkpoint: String?
  @Flag(
    help:
      "Continue from the checkpoint instead of starting afresh (same data; --epochs and --patience may change, but not to limits that would have stopped the run before the epochs the checkpoint has run; the other settings are the checkpoint's, and a note names any this command sets to another value, even to its default)."
  )
  var resume = false
  @Option(
    help:
      "Write the configuration, then one JSON line per epoch, to this file (replacing it; with --resume, after what it holds)."
  )
  var log: String?
  @Flag(help: "Also log every step's loss and gradient norm to --log.") var logSteps = false
  @Flag(
    help:
      "Keep the checkpoint when training ends normally (it is removed by default, so it is never shipped by accident)."
  )
  var keepCheckpoint = false
  @Option(help: "A free-text note stored in the model's provenance (trellis info shows it).")
  var note: String?
  @Flag(help: "Print nothing but errors.") var quiet = false

  func run() throws {
    var recipe = try usageCheckedRecipe()
    if printConfig {
      // `--print-config >> run.json` must not append to the --config file it read.
      try FileRoles(inputs: inputs(of: recipe)).check()
      print(try recipe.json())
      return
    }
    let model = model!
    let checkpoint = checkpoint ?? model + ".checkpoint"
    try files(recipe, model: model, checkpoint: checkpoint).check()
    // Held until the checkpoint is removed: a run into these files meanwhile is refused.
    let claim = try OutputClaim(replaced: [model, checkpoint], streamed: log.map { [$0] } ?? [])
    defer { claim.release() }
    try requireBLAS()  // initialisation's QR, before any data is read
    // --test is read only with vectors read (`pretrainedVectors`); a resumed run reads none,
    // and its --test must still be a file.
    if resume, let test = recipe.data.test { _ = try LineReader(path: test) }
    let columns = ColumnOptions(
      tokenColumn: recipe.data.tokenColumn, labelColumn: recipe.data.labelColumn,
      featureColumns: recipe.configuration.featureColumns.map(\.column))
    let train = try readDescribed(recipe.data.train, role: "train", columns: columns)
    let trainName = LineReader.displayName(of: recipe.data.train)
    let dev = try recipe.data.dev.map { try readDescribed($0, role: "dev", columns: columns) }
    let (trainSentences, devSentences) = (train.sentences, dev?.sentences ?? [])
    // The data's scheme, as training detects it: the log and the model's recipe say which
    // scheme the run read, beside the one it trains in (BIO for IOB1 data unless --scheme).
    recipe.configuration.detectSchemes(in: trainSentences.map(\.labels))
    try TrainingData.check(
      train: trainSentences, file: trainName, dev: devSentences,
      file: LineReader.displayName(of: recipe.data.dev ?? ""),
      configuration: recipe.configuration)
    if !quiet { noteBeforeTraining(recipe, train: trainSentences, dev: devSentences) }
    // A resumed run adds to the log: replacing it lost the interrupted run's epochs.
    let logFile = try log.map { try JSONLinesLog(path: $0, appending: resume) }
    let trainer = Trainer(configuration: recipe.configuration, options: recipe.options)
    let pretrained = try pretrainedVectors(
      recipe, data: trainSentences + devSentences, columns: columns)
    trainer.pretrained = pretrained.vectors
    trainer.provenance = Provenance(
      recipe: recipe, inputs: [train.file] + [dev?.file].compactMap { $0 } + pretrained.files)
    reportProgress(of: trainer, to: logFile, recipe: recipe, train: trainSentences)
    let trained: TaggerModel
    do {
      trained = try trainer.train(
        train: trainSentences, dev: devSentences, checkpoint: checkpoint, resume: resume,
        bestModel: model)
    } catch let failure as TrainingFailure where Checkpoint.isCheckpoint(atPath: checkpoint) {
      // Resuming repeats the run's settings, and a run without --resume refuses the file:
      // the advice to change a setting must say what stands in the way.
      throw TrainingFailure(
        failure.message + "; \(checkpoint) keeps the run as of its last good epoch, with these "
          + "settings: remove it to train afresh")
    }
    // Through a symbolic link, the file written is its target: that is what goes.
    if !keepCheckpoint {
      try? FileManager.default.removeItem(atPath: replacementTarget(checkpoint))
    }
    if !quiet { noteWritten(trained, to: model) }
  }

  /// `validatedRecipe()`, its usage errors printed with this command's usage line and ending
  /// the process (status 64): thrown on from `run`, they came with the top command's,
  /// `trellis <subcommand>`.
  func usageCheckedRecipe() throws -> TrainingRecipe {
    do { return try validatedRecipe() } catch let error as ValidationError {
      exitWithUsageError(error.message, of: Self.self)
    }
  }

  /// The vectors the run's embeddings start from, read for the words of `data` and of --test,
  /// and the files they come from (--test, the vectors) for the provenance. A resumed run's
  /// embeddings are its checkpoint's: it reads neither into them, and only digests the
  /// vectors, for the note on vectors other than the checkpoint's (parsing them took as long
  /// as at the run's start, and vectors of another size were refused).
  func pretrainedVectors(_ recipe: TrainingRecipe, data: [Sentence], columns: ColumnOptions)
    throws -> (vectors: PretrainedEmbeddings?, files: [InputFile])
  {
    guard let path = recipe.data.embeddings else { return (nil, []) }
    guard !resume else {
      let digest = try PretrainedEmbeddings.fileDigest(of: path)
      return (nil, [InputFile(role: "embeddings", path: path, digest: digest)])
    }
    let test = try recipe.data.test.map { try readDescribed($0, role: "test", columns: columns) }
    let vectors = try readEmbeddings(path, recipe: recipe, data: data + (test?.sentences ?? []))
    let file = InputFile(role: "embeddings", path: path, digest: vectors.fileDigest)
    return (vectors, [test?.file].compactMap { $0 } + [file])
  }

  /// The sentences of `path` and its `InputFile` in `role`, read once with its size and
  /// SHA-256 taken as it is read: a pipe or FIFO can be read only once.
  func readDescribed(_ path: String, role: String, columns: ColumnOptions) throws
    -> (sentences: [Sentence], file: InputFile)
  {
    let (sentences, digest) = try columns.readWithDigest(path)
    return (sentences, InputFile(role: role, path: path, digest: digest, sentences: sentences))
  }

  /// Every file the run reads, with the option that names it.
  func inputs(of recipe: TrainingRecipe) -> [(option: String, path: String)] {
    [("--train", recipe.data.train)]
      + [
        ("--dev", recipe.data.dev), ("--embeddings", recipe.data.embeddings),
        ("--test", recipe.data.test), ("--config", config),
      ].compactMap { option, path in path.map { (option, $0) } }
  }

  /// Every file the run reads and writes, checked before hours of training, not after.
  func files(_ recipe: TrainingRecipe, model: String, checkpoint: String) throws -> FileRoles {
    var roles = FileRoles(inputs: inputs(of: recipe))
    roles.replaced = [("--model", model), ("--checkpoint", checkpoint)]
    roles.kinds = [
      "--model": (ModelFile.magic, "model"), "--checkpoint": (Checkpoint.magic, "checkpoint"),
      "--log": (JSONLinesLog.firstBytes, "JSON-lines log"),
    ]
    roles.streamed = log.map { [("--log", $0)] } ?? []
    return roles
  }

  /// The vectors of `path` that `recipe` keeps for the words of `data`, reported with their
  /// coverage of those words.
  func readEmbeddings(_ path: String, recipe: TrainingRecipe, data: [Sentence]) throws
    -> PretrainedEmbeddings
  {
    let normalization = recipe.configuration.normalization
    let vectors = try PretrainedEmbeddings(
      path: path, dimension: recipe.configuration.embeddingSize, normalization: normalization,
      dataWords: PretrainedEmbeddings.dataWords(of: data, normalization: normalization),
      scope: recipe.data.embeddingsScope)
    if !quiet { printError(lines: embeddingsReport(vectors, path: path)) }
    return vectors
  }

  /// Progress lines on standard error (unless --quiet) and records in the log, for a run of
  /// `recipe` on the sentences `train`.
  func reportProgress(
    of trainer: Trainer, to logFile: JSONLinesLog?, recipe: TrainingRecipe, train: [Sentence]
  ) {
    let frozen = trainer.options.freezeEmbeddings ? " (frozen)" : ""
    trainer.onPretrainedVocabulary = { seeded, added in
      guard !quiet else { return }
      printError(
        "embeddings: \(seeded) rows seeded from vectors\(frozen); "
          + "\(added) words beyond the training data added")
    }
    noteCheckpointSettings(of: trainer, recipe: recipe, train: train)
    // The log's first line: the recipe as trained, a resumed run's the checkpoint's settings.
    trainer.onStart = { try logFile?.write(["recipe": $0]) }
    let started = Date()
    trainer.onEpoch = { report in
      try logFile?.write(report)
      guard !quiet else { return }
      let f1 = report.devF1.map { String(format: "%6.2f", $0) } ?? "     -"
      printError(
        String(
          format: "epoch %3d  loss %9.4f  dev F1 %@  %7.0f tokens/s  %6.1fs%@%@",
          report.epoch, report.loss, f1, report.tokensPerSecond,
          Date().timeIntervalSince(started), report.isBest ? "  *" : "",
          report.skippedBatches > 0
            ? "  (\(report.skippedBatches) batches skipped: non-finite)" : ""))
    }
    if logSteps { trainer.onStep = { try logFile?.write($0) } }
  }
}
