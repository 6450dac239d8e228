import ConllEval
import Foundation

/// Everything training needs to continue exactly where it stopped: with these and the model's
/// parameters, epoch e+1 after a resume draws the same random numbers and makes the same
/// updates as in an uninterrupted run.
struct TrainingState {
  var completedEpochs = 0
  /// Steps taken, skipped ones included (the step number of `StepReport`).
  var step = 0
  var rng: SplitMix64
  var optimizer: any Optimizer
  /// The best dev F1 so far; nil before the first epoch and when there is no dev set.
  var bestF1: Double?
  /// The parameters of the selected epoch so far, else empty.
  var bestValues: [Float] = []
  var epochsWithoutImprovement = 0
  /// What the model file records of training (`Provenance.training`).
  var record = TrainingRecord()
  /// Embedding rows that keep their pretrained vectors (`TrainingOptions.freezeEmbeddings`):
  /// the rows of words with a vector. The other rows (`<unk>`, words without one) train.
  var frozenEmbeddingRows: [Int] = []
  /// `sentencesSHA256(of:)` of the dev sentences the run selects its epochs on (none included): a
  /// resumed run must have the same, since its best F1 and patience were measured on them.
  /// Nil only from a checkpoint written before it was recorded.
  var devSHA256: String?
  /// `sentencesSHA256(of:)` of the training sentences as given (before any scheme
  /// conversion): a resumed run must train on the same, or its model mixes epochs of two
  /// corpora. Nil only from a checkpoint written before it was recorded.
  var trainSHA256: String?
  /// Whether the run's model file held a model when the run began: it is then written once,
  /// when training ends, not after each selected epoch, which replaced a finished model with
  /// a partly trained one when a retrain was interrupted.
  var bestModelWaitsForTheEnd = false
  /// The updates the run's patience and annealing wait for (`TrainingOptions
  /// .updatesBeforeStopping`), as the version that wrote its checkpoint counted them: 0 for
  /// versions before the wait (0.6.0 and earlier), whose runs go on otherwise.
  var updatesBeforeStopping = TrainingOptions.updatesBeforeStopping

  /// Throws `TrainingFailure` when the system refuses the memory the state and the run's
  /// copies of the weights take (`checkMemory`).
  init(rng: SplitMix64, model: TaggerModel, options: TrainingOptions) throws {
    try Self.checkMemory(
      parameterCount: model.store.count,
      inferenceWeights: InferenceWeights.floats(
        embedding: model.embedding, encoder: model.encoder, output: model.output),
      options: options)
    self.rng = rng
    let base = options.optimizer.makeOptimizer(parameterCount: model.store.count)
    optimizer = options.average ? ParameterAveraging(base, initial: model.store.snapshot()) : base
  }

  /// Throws unless the system gives the memory of the optimiser's slabs, the average and the
  /// copies of the weights a run holds at once (the weights set aside while the selected or
  /// averaged ones are evaluated, the selected epoch's, and a newly selected one's), each
  /// `parameterCount` Floats, and the `inferenceWeights` Floats its dev evaluations derive
  /// (`InferenceWeights`): they are arrays and buffers whose allocation ends the process when
  /// it is refused (a model of 2,048 hidden units under `ulimit -v 3000000` stopped with a
  /// trap, where a larger one got the model store's message). Asked for before the workspaces,
  /// they leave those out: nearer the limit, an allocation later in the run can still end it.
  /// The derived weights are asked for also by a run without a dev set, which derives none.
  static func checkMemory(parameterCount: Int, inferenceWeights: Int, options: TrainingOptions)
    throws
  {
    let slabs = options.optimizer.slabCount + (options.average ? 1 : 0) + 3
    let (copies, overflow) = parameterCount.multipliedReportingOverflow(by: slabs)
    let (floats, sumOverflows) = copies.addingReportingOverflow(inferenceWeights)
    guard overflow || sumOverflows || !ParameterStore.canAllocate(floats: floats) else { return }
    let megabytes = overflow || sumOverflows ? Int.max >> 20 : floats >> 18 + 1
    throw TrainingFailure(
      "the run needs \(megabytes) MB for the optimiser's state, copies of the weights and the "
        + "weights its evaluations derive, besides the model's weights and gradients, more "
        + "than this system gives; choose smaller sizes")
  }

  /// The SHA-256 of the sentences' fields (a tab after each field, a newline after each line
  /// and sentence): the same sentences give the same digest however their file spaced them. No
  /// sentences give the digest of no bytes.
  static func sentencesSHA256(of sentences: [Sentence]) -> String {
    var digest = SHA256()
    for sentence in sentences {
      for fields in sentence.fields {
        for field in fields {
          digest.update(field.utf8)
          digest.update(CollectionOfOne(UInt8(ascii: "\t")))
        }
        digest.update(CollectionOfOne(UInt8(ascii: "\n")))
      }
      digest.update(CollectionOfOne(UInt8(ascii: "\n")))
    }
    return digest.hexDigest()
  }

  /// How many times the learning rate has been annealed (`TrainingOptions.annealFactor`) after
  /// the epochs of `devF1History`: once for every `patience` epochs in a row without a better
  /// dev F1, the count of such epochs starting again after each annealing, and starting only
  /// after `epochsBeforeStopping` epochs, as patience's does (a small corpus's run kept
  /// halving its rate after a chance first epoch until it was too small to learn). A function
  /// of the dev history, which checkpoints keep, so a resumed run anneals as an uninterrupted
  /// one.
  static func annealings(devF1History: [Double], patience: Int, epochsBeforeStopping: Int)
    -> Int
  {
    annealing(
      devF1History: devF1History, patience: patience, epochsBeforeStopping: epochsBeforeStopping
    ).annealings
  }

  /// `annealings` and the epochs since the last annealing (or since the count started) without
  /// a better dev F1: what the next epochs' annealing follows from.
  static func annealing(devF1History: [Double], patience: Int, epochsBeforeStopping: Int)
    -> (annealings: Int, sinceAnnealing: Int)
  {
    var (selection, sinceAnnealing, annealings) = (Selection(), 0, 0)
    for (epoch, f1) in zip(1..., devF1History) {
      if selection.record(f1) || epoch <= epochsBeforeStopping {
        sinceAnnealing = 0
      } else {
        sinceAnnealing += 1
        if sinceAnnealing == patience { (annealings, sinceAnnealing) = (annealings + 1, 0) }
      }
    }
    return (annealings, sinceAnnealing)
  }

  /// The learning rate of the next epoch: η₀ / (1 + decay·e), annealed by
  /// `annealFactor`^`annealings` (exactly η₀ / (1 + decay·e) when nothing anneals).
  func learningRate(options: TrainingOptions, epochsBeforeStopping: Int) -> Double {
    let decayed =
      options.initialLearningRate / (1 + options.learningRateDecay * Double(completedEpochs))
    let annealings = Self.annealings(
      devF1History: record.devF1History, patience: options.annealPatience,
      epochsBeforeStopping: epochsBeforeStopping)
    return annealings == 0 ? decayed : decayed * pow(options.annealFactor, Double(annealings))
  }

  /// The epochs of `updates` updates on `sentences` training sentences in batches of
  /// `batchSize` (an epoch's batches are at least ⌈sentences / batchSize⌉).
  static func epochsBeforeStopping(
    sentences: Int, batchSize: Int, updates: Int = TrainingOptions.updatesBeforeStopping
  ) -> Int {
    let batches = max(1, (sentences + batchSize - 1) / batchSize)
    return (updates + batches - 1) / batches
  }

  /// Whether another epoch runs: `epochs` not reached, and with a dev set, fewer than
  /// `patience` epochs in a row without a better dev F1 or fewer than `epochsBeforeStopping`
  /// epochs run.
  func continues(options: TrainingOptions, epochsBeforeStopping: Int) -> Bool {
    Self.continues(
      completedEpochs: completedEpochs, epochsWithoutImprovement: epochsWithoutImprovement,
      options: options, epochsBeforeStopping: epochsBeforeStopping)
  }

  /// `continues(options:epochsBeforeStopping:)` after `completedEpochs` epochs, the last
  /// `epochsWithoutImprovement` of them without a better dev F1.
  private static func continues(
    completedEpochs: Int, epochsWithoutImprovement: Int, options: TrainingOptions,
    epochsBeforeStopping: Int
  ) -> Bool {
    completedEpochs < options.epochs
      && (options.patience == 0 || epochsWithoutImprovement < options.patience
        || completedEpochs < epochsBeforeStopping)
  }

  /// The number of epochs after which a run with `options` would have stopped, replaying the
  /// dev F1 of `completedEpochs` epochs (`devF1History`, empty without a dev set), or nil when
  /// it would have run them all. A resumed run whose new `epochs` or `patience` stop it before
  /// its checkpoint's epochs cannot end as an uninterrupted run with them.
  static func stoppingPoint(
    devF1History: [Double], completedEpochs: Int, options: TrainingOptions,
    epochsBeforeStopping: Int
  ) -> Int? {
    var selection = Selection()
    for epochs in 0..<completedEpochs {
      guard
        continues(
          completedEpochs: epochs, epochsWithoutImprovement: selection.epochsAfter,
          options: options, epochsBeforeStopping: epochsBeforeStopping)
      else { return epochs }
      if epochs < devF1History.count { selection.record(devF1History[epochs]) }
    }
    return nil
  }

  /// The epoch `select(dev:)` keeps after the epochs of `devF1History` (0 before any) and how
  /// many epochs followed it without a better dev F1.
  static func selection(replaying devF1History: [Double]) -> (epoch: Int, epochsAfter: Int) {
    var selection = Selection()
    for f1 in devF1History { selection.record(f1) }
    return (selection.epoch, selection.epochsAfter)
  }

  /// Throws unless the epoch this state keeps, and the epochs since it, are what the dev
  /// history gives by today's rule (`Selection`): a checkpoint of a version that kept the first
  /// of epochs at dev F1 0 and counted them against patience resumed with its choice, and
  /// stopped where an uninterrupted run goes on.
  func checkSelection(checkpoint: String) throws {
    let history = record.devF1History
    guard !history.isEmpty else { return }
    let replayed = Self.selection(replaying: history)
    guard replayed != (record.selectedEpoch, epochsWithoutImprovement) else { return }
    throw TrellisError(
      file: checkpoint,
      "kept epoch \(record.selectedEpoch) with \(epochsWithoutImprovement) epochs after it "
        + "without a better dev F1, where this version keeps epoch \(replayed.epoch) with "
        + "\(replayed.epochsAfter) (an earlier version's model selection): remove it to start "
        + "afresh")
  }

  /// The one rule behind selection, patience and annealing, which a resumed run replays: which
  /// epoch is kept after the dev F1s recorded so far, and how many epochs followed it without a
  /// better dev F1.
  struct Selection {
    /// The kept epoch's dev F1; nil before the first epoch.
    var best: Double?
    /// The kept epoch, from 1; 0 before the first.
    var epoch = 0
    /// The epochs after the kept one, none with a better dev F1.
    var epochsAfter = 0
    /// The epochs recorded.
    var count = 0

    /// Records the next epoch's dev F1; returns whether that epoch is kept. An epoch is kept
    /// when its F1 beats the best so far, and every epoch improves on a best of 0: until some
    /// dev chunk is found right the scores say nothing, so the latest is kept, as without a dev
    /// set.
    @discardableResult mutating func record(_ f1: Double) -> Bool {
      count += 1
      guard best.map({ f1 > $0 || $0 == 0 }) ?? true else {
        epochsAfter += 1
        return false
      }
      (best, epoch, epochsAfter) = (f1, count, 0)
      return true
    }
  }

  /// Records an epoch's dev F1 (nil without a dev set) and returns whether its parameters are
  /// the ones to keep. With a dev set, the epoch must beat every earlier one; without one,
  /// the latest epoch is always kept, and patience never runs out.
  mutating func select(dev: ConllCounts?) -> Bool {
    record.epochsRun = completedEpochs + 1
    guard let dev else {
      record.selectedEpoch = completedEpochs + 1
      return true
    }
    var selection = Selection(
      best: bestF1, epoch: record.selectedEpoch, epochsAfter: epochsWithoutImprovement,
      count: completedEpochs)
    let kept = selection.record(dev.f1)
    record.devF1History.append(dev.f1)
    (bestF1, epochsWithoutImprovement) = (selection.best, selection.epochsAfter)
    guard kept else { return false }
    record.selectedEpoch = selection.epoch
    record.dev = DevScores(dev)
    return true
  }
}
