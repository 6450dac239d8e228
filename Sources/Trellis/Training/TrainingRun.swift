import ConllEval
import Foundation

/// One training run in progress: the model, its state and options, and the training corpus
/// encoded once (word and character ids, label ids), so epochs only form batches.
final class TrainingRun {
  let model: TaggerModel
  let options: TrainingOptions
  var state: TrainingState
  let examples: [(encoded: TaggerModel.EncodedSentence, labels: [Int])]
  let lengths: [Int]
  /// `isSingleton[id]`: word `id` occurs once in the training data (word dropout's candidates).
  let isSingleton: [Bool]
  /// The training steps' workspace, lent to the model's pool while the run evaluates, so dev
  /// tagging reuses its buffers instead of growing another set.
  let workspace = ModelWorkspace()
  /// The non-finite batches in a row so far (`Trainer.trainEpoch` skips them).
  var faults = ConsecutiveFaults()
  /// A batch of the first training sentences, to check after each epoch that the model's
  /// scores are still finite.
  let probe: Batch
  /// The parameters a step can change, ascending: all but the word-embedding rows that no
  /// training sentence holds (the words only a pretrained vocabulary brought, or only dev and
  /// test) and whose optimiser state is zero. Such a row's gradient is never written, so it
  /// and the optimiser's state stay zero and every update leaves it as it is; a step skips
  /// it (zeroing, the norm, clipping, the update) with the same bits. With GloVe 6B's 400,000 words
  /// kept, that is almost all of the model.
  let updatedRanges: [Range<Int>]
  /// The gradients in `updatedRanges` are zero: the optimiser's step left them so. False
  /// until the first step, and after a batch whose gradients were discarded (non-finite).
  private var gradientsAreZero = false

  /// The epochs of `TrainingOptions.updatesBeforeStopping` updates on these examples, before
  /// which neither patience nor annealing acts.
  var epochsBeforeStopping: Int {
    TrainingState.epochsBeforeStopping(sentences: examples.count, batchSize: options.batchSize)
  }

  /// Whether another epoch runs (`TrainingState.continues`).
  func continues() -> Bool {
    state.continues(options: options, epochsBeforeStopping: epochsBeforeStopping)
  }

  /// The learning rate of the next epoch (`TrainingState.learningRate`).
  var learningRate: Double {
    state.learningRate(options: options, epochsBeforeStopping: epochsBeforeStopping)
  }

  /// `sentences` are in the model's label scheme; `wordCounts[id]` is word id's training count.
  init(
    model: TaggerModel, state: TrainingState, options: TrainingOptions, sentences: [Sentence],
    wordCounts: [Int]
  ) {
    self.model = model
    self.state = state
    self.options = options
    examples = sentences.map { sentence in
      (
        model.encode(
          TokenInput(laidOut: sentence, featureCount: model.configuration.featureColumns.count)),
        sentence.labels.map { model.labels.id(for: $0)! }
      )
    }
    lengths = examples.map(\.encoded.words.count)
    isSingleton = wordCounts.map { $0 == 1 }
    probe = model.batch(examples.prefix(TaggingOptions().batchSize).map(\.encoded))
    updatedRanges = Self.updatedRanges(
      of: model, examples: examples.map(\.encoded), optimizerSlabs: state.optimizer.state.slabs)
  }

  /// `updatedRanges`: every parameter but the embedding rows that `examples` cannot write
  /// (their words, <unk> for word dropout and <pad> for windows and padding are written) and
  /// where every optimiser slab is zero.
  static func updatedRanges(
    of model: TaggerModel, examples: [TaggerModel.EncodedSentence], optimizerSlabs: [[Float]]
  ) -> [Range<Int>] {
    let table = model.embedding.table
    var updated = [Bool](repeating: false, count: table.rows)
    for example in examples { for id in example.words { updated[id] = true } }
    updated[ReservedWord.paddingId] = true
    updated[ReservedWord.unknownId] = true
    for slab in optimizerSlabs {
      for row in 0..<table.rows where !updated[row] {
        let start = table.offset + row * table.columns
        updated[row] = slab[start..<start + table.columns].contains { $0 != 0 }
      }
    }
    var ranges = [0..<table.offset]
    for row in 0..<table.rows where updated[row] {
      let start = table.offset + row * table.columns
      if let last = ranges.last, last.upperBound == start {
        ranges[ranges.count - 1] = last.lowerBound..<start + table.columns
      } else {
        ranges.append(start..<start + table.columns)
      }
    }
    let end = table.offset + table.count
    if let last = ranges.last, last.upperBound == end {
      ranges[ranges.count - 1] = last.lowerBound..<model.store.count
    } else {
      ranges.append(end..<model.store.count)
    }
    return ranges.filter { !$0.isEmpty }
  }

  /// The batch of `indices`, each singleton word read as `<unk>` with probability
  /// `unknownReplacement` (drawn from the run's generator, word by word).
  func batch(_ indices: [Int]) -> Batch {
    let wordIds = indices.map { i in
      examples[i].encoded.words.map { id in
        isSingleton[id] && state.rng.nextUnitDouble() < options.unknownReplacement
          ? ReservedWord.unknownId : id
      }
    }
    return model.batch(
      indices.map { examples[$0].encoded }, words: wordIds,
      gold: indices.map { examples[$0].labels })
  }

  /// Fresh gradients of the batch: its summed loss and the gradients' global norm.
  func lossAndGradient(_ batch: Batch) -> (loss: Double, norm: Double) {
    if !gradientsAreZero { model.store.zeroGradients(in: updatedRanges) }
    gradientsAreZero = false
    let loss = model.lossAndGradient(
      batch, workspace: workspace, dropoutRate: options.dropout,
      sentenceMasks: options.variationalDropout, rng: &state.rng)
    zeroFrozenGradients()
    return (loss, model.store.gradientNorm(over: updatedRanges))
  }

  /// Zeroes the gradient of the frozen embedding rows (`TrainingState.frozenEmbeddingRows`)
  /// before clipping sees it: with no gradient, SGD and Adam leave a row exactly as it is.
  private func zeroFrozenGradients() {
    let D = model.embedding.wordSize
    let gradients = model.store.gradient(model.embedding.table)  // (V, D)
    for row in state.frozenEmbeddingRows { (gradients + row * D).update(repeating: 0, count: D) }
  }

  /// The optimiser's step along the gradients clipped to `clipNorm` (their norm is
  /// `gradientNorm`), which leaves them zero.
  func update(gradientNorm norm: Double, learningRate: Double) {
    let clips = options.clipNorm > 0 && norm > options.clipNorm
    state.optimizer.step(
      model.store, rate: Float(learningRate),
      gradientScale: clips ? Float(options.clipNorm / norm) : 1, ranges: updatedRanges)
    gradientsAreZero = true
  }

  /// Runs `body` with the selected epoch's parameters (the latest ones if none was selected)
  /// in the model, then puts the training parameters back.
  func withSelectedParameters<Result>(_ body: () throws -> Result) rethrows -> Result {
    guard !state.bestValues.isEmpty else { return try withEvaluationParameters(body) }
    let current = model.store.snapshot()
    model.store.restore(state.bestValues)
    defer { model.store.restore(current) }
    return try body()
  }

  /// Runs `body` with the parameters evaluation reads (the average, when averaging) in the
  /// model, then puts the training parameters back.
  func withEvaluationParameters<Result>(_ body: () throws -> Result) rethrows -> Result {
    guard let evaluated = state.optimizer.evaluationParameters else { return try body() }
    let current = model.store.snapshot()
    model.store.restore(evaluated)
    defer { model.store.restore(current) }
    return try body()
  }
}

extension Trainer {
  /// A new run: the data checked (`TrainingData.check`), scheme detected from it,
  /// vocabularies built (extended by the words of `pretrained.keys`), weights drawn from the
  /// seed, then the rows of words with a pretrained vector overwritten by it; the dev
  /// sentences' digest recorded.
  func fresh(train: [Sentence], dev: [Sentence] = []) throws -> TrainingRun {
    var rng = SplitMix64(seed: options.seed)
    try TrainingData.check(
      train: train, file: "training data", dev: dev, file: "dev data",
      configuration: configuration)
    var configuration = self.configuration
    configuration.detectSchemes(in: train.map(\.labels))
    // Training labels are in the model's own scheme (`--scheme`); dev stays as it is, since
    // evaluation converts predictions back to the data's scheme.
    let sentences = train.converted(to: configuration)
    let corpus = CorpusVocabularies(
      of: sentences, normalization: configuration.normalization,
      featureCount: configuration.featureColumns.count)
    var words = corpus.words
    var counts = corpus.wordCounts
    for key in pretrained?.keys ?? [] where words.id(for: key) == nil {
      words.insert(key)
      counts.append(0)
    }
    let model: TaggerModel
    do {
      model = try TaggerModel(
        configuration: configuration, words: words, labels: corpus.labels,
        characters: configuration.characterFilters > 0
          ? CorpusVocabularies.characters(of: sentences, configuration: configuration)
          : Vocabulary(),
        featureVocabularies: corpus.features, rng: &rng)
    } catch let failure as ParameterStore.AllocationFailure {
      throw TrainingFailure(
        "the model needs \(failure.megabytes) MB for its weights and gradients, more than this "
          + "system gives; choose smaller sizes")
    }
    // The vectors go in before the state is made: averaging starts from the weights as they
    // are then, and started from the random rows, a frozen row's average never reached its
    // vector (nor did the vector of a word no training sentence holds).
    let seeded = pretrained.map { seedEmbeddings(of: model, from: $0) }
    var state = try TrainingState(rng: rng, model: model, options: options)
    state.devSHA256 = TrainingState.sentencesSHA256(of: dev)
    state.trainSHA256 = TrainingState.sentencesSHA256(of: train)
    if let seeded {
      if options.freezeEmbeddings { state.frozenEmbeddingRows = seeded }
      onPretrainedVocabulary(seeded.count, model.words.count - corpus.words.count)
    }
    return TrainingRun(
      model: model, state: state, options: options, sentences: sentences, wordCounts: counts)
  }

  /// Throws when the run reads other columns of its data than the checkpoint's run did
  /// (`TrainingData`'s token and label columns and the configuration's feature columns, as
  /// both provenances record them): the sentences then differ, and the refusal said "other
  /// data" of the same file.
  private func checkColumns(of model: TaggerModel, checkpoint: String) throws {
    guard let kept = model.provenance?.recipe, let given = provenance?.recipe else { return }
    func columns(_ recipe: TrainingRecipe) -> String {
      let data = recipe.data
      // The data was read with the command's feature columns, so a checkpoint of others could
      // not go on with its own: "other data" named the file, not the columns.
      let features = recipe.configuration.featureColumns.map { "--feature-column \($0.column)" }
      return (["--token-column \(data.tokenColumn)"] + features).joined(separator: ", ") + " and "
        + (data.labelColumn.map { "--label-column \($0)" } ?? "the last column's labels")
    }
    guard columns(kept) != columns(given) else { return }
    throw TrellisError(
      file: checkpoint,
      "was trained on \(columns(kept)), but this run reads \(columns(given)); resume with the "
        + "checkpoint's columns")
  }

  /// Throws where `options`' limits would have stopped an uninterrupted run before the epochs
  /// the checkpoint's `state` has run: epochs already run cannot be undone, so resuming cannot
  /// give the model such a run ends with. Checked after the data (`sentences` sets the floor of
  /// `TrainingState.epochsBeforeStopping`: another --train file's gave a misleading refusal).
  private func checkLimits(
    of state: TrainingState, options: TrainingOptions, checkpointOptions: TrainingOptions,
    sentences: Int, checkpoint: String
  ) throws {
    let floor = TrainingState.epochsBeforeStopping(
      sentences: sentences, batchSize: options.batchSize)
    try checkRules(of: state, options: options, sentences: sentences, checkpoint: checkpoint)
    if let stop = TrainingState.stoppingPoint(
      devF1History: state.record.devF1History, completedEpochs: state.completedEpochs,
      options: options, epochsBeforeStopping: floor)
    {
      // Where the floor set the epoch, the count alone would name an earlier one.
      let waited =
        stop == floor
        ? ", acting once the run has made \(TrainingOptions.updatesBeforeStopping) updates" : ""
      let limit =
        stop == options.epochs
        ? "--epochs \(options.epochs)"
        : "--patience \(options.patience) (\(options.patience) epochs without a better dev F1"
          + "\(waited))"
      throw TrellisError(
        file: checkpoint,
        "has run \(state.completedEpochs) epochs, but \(limit) would have stopped an "
          + "uninterrupted run after epoch \(stop); resuming cannot give that run's model: "
          + "remove it to start afresh, or resume with limits that run "
          + "\(state.completedEpochs) epochs (the checkpoint's are --epochs "
          + "\(checkpointOptions.epochs) --patience \(checkpointOptions.patience))")
    }
  }

  /// Throws when the checkpoint's version waited for another number of updates before
  /// patience and annealing act (0.6.0 and earlier did not wait) and its run would already
  /// have gone otherwise by this version's: annealed another number of times, or stopped. (A
  /// 0.6.0 run that had halved its rate resumed at the full rate and ended with another model.)
  private func checkRules(
    of state: TrainingState, options: TrainingOptions, sentences: Int, checkpoint: String
  ) throws {
    let floors = [state.updatesBeforeStopping, TrainingOptions.updatesBeforeStopping].map {
      TrainingState.epochsBeforeStopping(
        sentences: sentences, batchSize: options.batchSize, updates: $0)
    }
    guard floors[0] != floors[1] else { return }
    let history = state.record.devF1History
    let (annealings, stops) = (
      floors.map {
        TrainingState.annealing(
          devF1History: history, patience: options.annealPatience, epochsBeforeStopping: $0)
      },
      floors.map {
        TrainingState.stoppingPoint(
          devF1History: history, completedEpochs: state.completedEpochs, options: options,
          epochsBeforeStopping: $0)
      }
    )
    guard (options.annealFactor != 1 && annealings[0] != annealings[1]) || stops[0] != stops[1]
    else { return }
    let acted =
      state.updatesBeforeStopping == 0
      ? "from the first epoch" : "after \(state.updatesBeforeStopping) updates (epoch \(floors[0]))"
    throw TrellisError(
      file: checkpoint,
      "was written by a version whose patience and annealing acted \(acted), where this one's "
        + "wait for \(TrainingOptions.updatesBeforeStopping) updates (epoch \(floors[1])), and "
        + "its run would already have gone otherwise (annealed or stopped): resume it with that "
        + "version, or remove it to start afresh")
  }

  /// The run a checkpoint holds, after checking that this trainer's `epochs` and `patience`
  /// would not have stopped it before the epochs it has run, and that it was trained on this
  /// data and selected its epochs on these dev sentences (or had none, as now).
  func resumed(from checkpoint: String, train: [Sentence], dev: [Sentence]) throws -> TrainingRun {
    let (model, state, checkpointOptions) = try Checkpoint.read(from: checkpoint)
    var options = checkpointOptions
    // The run's length may change on resume; everything that shapes each update may not.
    options.epochs = self.options.epochs
    options.patience = self.options.patience
    try checkColumns(of: model, checkpoint: checkpoint)
    try state.checkSelection(checkpoint: checkpoint)
    let sentences = train.converted(to: model.configuration)
    let corpus = CorpusVocabularies(
      of: sentences, normalization: model.configuration.normalization,
      featureCount: model.configuration.featureColumns.count)
    // Pretrained vectors may have added words after the training vocabulary.
    guard Array(model.words.strings.prefix(corpus.words.count)) == corpus.words.strings,
      corpus.labels == model.labels, corpus.features == model.featureVocabularies,
      state.trainSHA256.map({ $0 == TrainingState.sentencesSHA256(of: train) }) ?? true
    else {
      throw TrellisError(file: checkpoint, "was trained on other data than the --train file given")
    }
    let noDev = TrainingState.sentencesSHA256(of: [])
    if let recorded = state.devSHA256, recorded != TrainingState.sentencesSHA256(of: dev) {
      let problem =
        recorded == noDev
        ? "was trained without dev sentences, but --dev is given"
        : dev.isEmpty
          ? "was trained with dev sentences; give the same --dev file again"
          : "was trained with other dev sentences than the --dev file given"
      throw TrellisError(
        file: checkpoint, problem + " (its best epoch and patience were measured on them)")
    }
    try checkLimits(
      of: state, options: options, checkpointOptions: checkpointOptions, sentences: train.count,
      checkpoint: checkpoint)
    return TrainingRun(
      model: model, state: state, options: options, sentences: sentences,
      wordCounts: corpus.wordCounts
        + [Int](repeating: 0, count: model.words.count - corpus.words.count))
  }

  /// Copies the pretrained vector of every vocabulary word that has one into the embeddings;
  /// returns the ids of the rows it wrote. `<pad>` and `<unk>` keep their own rows, even when a
  /// file has vectors by those names.
  private func seedEmbeddings(of model: TaggerModel, from pretrained: PretrainedEmbeddings)
    -> [Int]
  {
    precondition(
      pretrained.dimension == model.configuration.embeddingSize, "checked when the file was read")
    let D = pretrained.dimension
    let table = model.store.value(model.embedding.table)  // (V, D)
    var seeded: [Int] = []
    for id in (ReservedWord.unknownId + 1)..<model.words.count {
      guard let vector = pretrained.vector(for: model.words[id]) else { continue }
      vector.withUnsafeBufferPointer { (table + id * D).update(from: $0.baseAddress!, count: D) }
      seeded.append(id)
    }
    model.store.didChangeValues()
    return seeded
  }
}
