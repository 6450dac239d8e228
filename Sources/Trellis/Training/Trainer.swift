import ConllEval
import Foundation

/// Trains a `TaggerModel` on labelled sentences, keeping the parameters with the best dev F1.
public final class Trainer {
  /// The architecture of the model to train.
  public let configuration: TaggerConfiguration
  /// How it is trained; `train` says which of them a resumed run takes from here.
  public let options: TrainingOptions
  /// Vectors to start the embedding table from; their `keys` also join the vocabulary, so dev
  /// and test words never seen in training still get a meaningful embedding.
  public var pretrained: PretrainedEmbeddings?
  /// Told, once the vocabulary exists, how many of its rows a pretrained vector seeded and how
  /// many words it has beyond the training data's.
  public var onPretrainedVocabulary: (_ seeded: Int, _ added: Int) -> Void = { _, _ in }
  /// Told after every epoch, before its checkpoint is written: a run stopped between the two
  /// tells the epoch again when resumed (a log holds it twice, the later record standing),
  /// where told after it, the epoch was in the checkpoint and never told. An error it throws
  /// stops training and is rethrown.
  public var onEpoch: (EpochReport) throws -> Void = { _ in }
  /// Told after every step; an error it throws stops training and is rethrown.
  public var onStep: (StepReport) throws -> Void = { _ in }

  /// Told, when a resumed run's checkpoint was made with other settings than this trainer's,
  /// which ones: the run keeps the checkpoint's, and the model's provenance records them.
  public var onCheckpointSettings: (_ replaced: [ReplacedSetting]) -> Void = { _ in }

  /// What the model file records of its origin; the trainer records in it the configuration
  /// and options it trains with and the training outcome.
  public var provenance: Provenance?

  /// Told once before the first epoch, with `provenance`'s recipe as the run trains it: a
  /// resumed run's settings are the checkpoint's (`trellis train --log` writes it first). Not
  /// called without `provenance`; an error it throws stops training and is rethrown.
  public var onStart: (_ recipe: TrainingRecipe) throws -> Void = { _ in }

  /// A trainer for `configuration` and `options`, which `train` validates before any work.
  public init(configuration: TaggerConfiguration, options: TrainingOptions) {
    self.configuration = configuration
    self.options = options
  }

  /// Throws for settings out of range (from a program, which the command line's checks never
  /// saw), for vectors of another size than the embeddings, for `resume` without a checkpoint,
  /// for a fresh run whose checkpoint path holds one (an earlier run's, which it would
  /// replace), for output paths `trellis train` refuses (`FileRoles.check`: a file there that
  /// is not empty nor of the kind written, a device, a missing directory), and without
  /// OpenBLAS, whose absence would stop the process at initialisation's QR.
  private func checkSettingsAndBLAS(checkpoint: String?, resume: Bool, bestModel: String?) throws {
    try configuration.validate()
    try options.validate()
    if let idle = TrainingRecipe.idleSetting(configuration, options) { throw idle }
    // A resumed run's vectors are in its checkpoint, and its settings are the checkpoint's.
    try options.validateFreezing(hasVectors: pretrained != nil || resume)
    if let pretrained, pretrained.dimension != configuration.embeddingSize {
      throw OptionError(
        "embedding-size",
        "is \(configuration.embeddingSize), but the pretrained vectors have "
          + "\(pretrained.dimension) dimensions")
    }
    guard !resume || checkpoint != nil else {
      throw OptionError("resume", "needs the checkpoint to resume from")
    }
    // A program's paths: a CoNLL file given as `checkpoint` was replaced by the checkpoint,
    // which the run then removed, where the command line refuses it.
    var outputs = FileRoles()
    outputs.replaced = [("checkpoint", checkpoint), ("bestModel", bestModel)].compactMap {
      option, path in path.map { (option, $0) }
    }
    outputs.kinds = [
      "checkpoint": (Checkpoint.magic, "checkpoint"), "bestModel": (ModelFile.magic, "model"),
    ]
    try outputs.check()
    // A fresh run overwrote it after its first epoch and removed it at the end: hours of an
    // interrupted run lost to a command given again without --resume.
    if !resume, let checkpoint, Checkpoint.isCheckpoint(atPath: checkpoint) {
      throw TrellisError(
        file: checkpoint,
        "holds an earlier run's checkpoint (interrupted, or kept); resume it (--resume), or "
          + "remove it to train afresh")
    }
    try requireBLAS()
  }

  /// Trains and returns the model of the selected epoch (`TrainingState.select`).
  ///
  /// With `checkpoint`, the whole training state is written there (atomically) after every
  /// epoch, and left there when training ends (`trellis train` removes it unless
  /// `--keep-checkpoint`; a fresh call refuses a checkpoint that is there); with `resume`,
  /// training continues from that file instead of starting afresh, and ends with the same
  /// model an uninterrupted run would have produced. A resumed run takes
  /// `epochs` and `patience` from this trainer's options and everything else from the
  /// checkpoint; it is refused when those two would have stopped a run before the epochs the
  /// checkpoint has run (and without a `checkpoint`). `bestModel` is rewritten after every
  /// selected epoch, so that an interrupted run leaves the best epoch so far there, unless
  /// `bestModel` held a model when the run began: that is replaced once, when training ends,
  /// and an interrupted retrain leaves it as it was (a resumed run does as the run it
  /// resumes). While training, this process alone may write `checkpoint` and
  /// `bestModel`: a call while another process trains into either throws, naming it.
  public func train(
    train: [Sentence], dev: [Sentence], checkpoint: String? = nil, resume: Bool = false,
    bestModel: String? = nil
  ) throws -> TaggerModel {
    // Claimed before the check for an earlier run's checkpoint: a run started together with
    // this one into the same files is refused rather than replacing them.
    let claim = try OutputClaim(replaced: [checkpoint, bestModel].compactMap { $0 })
    defer { claim.release() }
    try checkSettingsAndBLAS(checkpoint: checkpoint, resume: resume, bestModel: bestModel)
    let run: TrainingRun
    if resume, let checkpoint {
      run = try resumed(from: checkpoint, train: train, dev: dev)
      adoptSettings(of: run, train: train)
    } else {
      run = try fresh(train: train, dev: dev)
      run.state.bestModelWaitsForTheEnd = bestModel.map(holdsBytes) ?? false
    }
    if let recipe = recordedProvenance(run)?.recipe { try onStart(recipe) }
    while run.continues() {
      let started = Date()
      let totals = try trainEpoch(run)
      let trainingSeconds = Date().timeIntervalSince(started)
      // Finite weights can still overflow the scores (a learning rate of 1e30 leaves them
      // near 1e30): such a model must never replace the last good one.
      let (finite, devScores) = run.model.workspaces.lending(run.workspace) {
        run.withEvaluationParameters {
          let finite = run.model.scoresAreFinite(run.probe)
          return (finite, finite && !dev.isEmpty ? run.model.evaluate(dev, workers: 1) : nil)
        }
      }
      guard finite else {
        throw TrainingFailure(
          "epoch \(run.state.completedEpochs + 1) left weights whose scores are not finite "
            + "(non-finite); \(divergenceAdvice)")
      }
      let isBest = try keepIfSelected(run, dev: devScores, bestModel: bestModel)
      run.state.completedEpochs += 1
      // Before the checkpoint, which made a run stopped between the two lose the report.
      try onEpoch(
        EpochReport(
          epoch: run.state.completedEpochs, loss: totals.loss / Double(max(totals.sentences, 1)),
          devF1: devScores?.f1, devAccuracy: devScores?.accuracy,
          gradientNormMean: totals.normSum / Double(max(totals.steps, 1)),
          gradientNormMax: totals.normMax,
          learningRate: totals.learningRate, skippedBatches: totals.skipped,
          seconds: Date().timeIntervalSince(started), trainingSeconds: trainingSeconds,
          tokensPerSecond: Double(totals.tokens) / trainingSeconds, isBest: isBest))
      if let checkpoint { try writeCheckpoint(run, to: checkpoint) }
    }
    // Once more at the end, so the file's record has every epoch (and a resumed run with
    // nothing left to train still writes the model it holds).
    if let bestModel { try run.withSelectedParameters { try write(run, to: bestModel) } }
    if !run.state.bestValues.isEmpty { run.model.store.restore(run.state.bestValues) }
    run.model.provenance = recordedProvenance(run)
    return run.model
  }

  /// Records a resumed run's settings, the checkpoint's, in the provenance, and tells
  /// `onCheckpointSettings` which of this trainer's they replace. The data's scheme is no
  /// setting, so none is replaced: it is detected from the data, which is the checkpoint's.
  private func adoptSettings(of run: TrainingRun, train: [Sentence]) {
    let configuration = run.model.configuration
    var given = self.configuration
    // The schemes as a fresh run on `train`, the checkpoint's data, would take them.
    given.detectSchemes(in: train.map(\.labels))
    // `run.options` already has this trainer's epochs and patience.
    var replaced =
      replacedSettings(given: given, kept: configuration)
      + replacedSettings(given: options, kept: run.options)
    // The checkpoint's weights were seeded from its run's vectors; this trainer's are never
    // read into them, so the record names the checkpoint's.
    if let kept = run.model.provenance, var provenance {
      let keptVectors = kept.inputs.filter { $0.role == "embeddings" }
      let givenVectors = provenance.inputs.filter { $0.role == "embeddings" }
      if keptVectors.map(\.sha256) != givenVectors.map(\.sha256) {
        replaced.append(
          ReplacedSetting(
            key: "embeddings", kept: keptVectors.first?.path, given: givenVectors.first?.path))
      }
      let (keptScope, givenScope) = (
        kept.recipe.data.embeddingsScope, provenance.recipe.data.embeddingsScope
      )
      if keptScope != givenScope {
        replaced.append(
          ReplacedSetting(
            key: "embeddingsScope", kept: keptScope.rawValue, given: givenScope.rawValue))
      }
      (provenance.recipe.data.embeddings, provenance.recipe.data.embeddingsScope) = (
        kept.recipe.data.embeddings, kept.recipe.data.embeddingsScope
      )
      adoptTestAndNote(of: kept, into: &provenance, replaced: &replaced)
      provenance.inputs =
        provenance.inputs.filter { $0.role != "embeddings" && $0.role != "test" }
        + kept.inputs.filter { $0.role == "test" } + keptVectors
      self.provenance = provenance
    }
    if !replaced.isEmpty { onCheckpointSettings(replaced) }
  }

  /// The `--test` file and the note of the run that wrote the checkpoint `kept`, recorded in
  /// place of `provenance`'s, with the replaced ones appended to `replaced`: the checkpoint's
  /// embedding rows were made for its run's test words, and a resumed run ends with the model
  /// file an uninterrupted one writes. (Both had been the resuming command's: its recipe then
  /// retrained another model, and a resume without `--note` dropped the note.)
  private func adoptTestAndNote(
    of kept: Provenance, into provenance: inout Provenance, replaced: inout [ReplacedSetting]
  ) {
    let (keptTest, givenTest) = (kept.recipe.data.test, provenance.recipe.data.test)
    if keptTest != givenTest {
      replaced.append(ReplacedSetting(key: "test", kept: keptTest, given: givenTest))
    }
    if kept.note != provenance.note {
      replaced.append(ReplacedSetting(key: "note", kept: kept.note, given: provenance.note))
    }
    (provenance.recipe.data.test, provenance.note) = (keptTest, kept.note)
  }

  /// The provenance with the run's configuration and options as it trains them and its
  /// training record so far: a program's provenance with another recipe's architecture (the
  /// default one) recorded that architecture, not the model's.
  private func recordedProvenance(_ run: TrainingRun) -> Provenance? {
    guard var provenance else { return nil }
    provenance.recipe.configuration = run.model.configuration
    provenance.recipe.options = run.options
    provenance.training = run.state.record
    return provenance
  }

  /// Keeps the epoch's parameters when `TrainingState.select` selects it, and writes them to
  /// `bestModel` unless that waits for the end; returns whether the epoch was selected.
  private func keepIfSelected(_ run: TrainingRun, dev: ConllCounts?, bestModel: String?) throws
    -> Bool
  {
    guard run.state.select(dev: dev) else { return false }
    try run.withEvaluationParameters {
      run.state.bestValues = run.model.store.snapshot()
      if let bestModel, !run.state.bestModelWaitsForTheEnd { try write(run, to: bestModel) }
    }
    return true
  }

  /// Writes the whole training state of `run` to `path`. The checkpoint's model carries the
  /// recipe a resume is checked against (its columns, test file and note), also in a run that
  /// has not written its model yet.
  private func writeCheckpoint(_ run: TrainingRun, to path: String) throws {
    run.model.provenance = recordedProvenance(run)
    try Checkpoint.write(model: run.model, state: run.state, options: run.options, to: path)
  }

  /// Writes the model as it is now in `run`, with its provenance.
  private func write(_ run: TrainingRun, to path: String) throws {
    run.model.provenance = recordedProvenance(run)
    try ModelFile.write(run.model, to: path)
  }

  /// Sums over one epoch's applied steps.
  struct EpochTotals {
    var learningRate: Double
    var loss = 0.0, normSum = 0.0, normMax = 0.0
    var steps = 0, skipped = 0, sentences = 0, tokens = 0
  }

  /// One pass over the training sentences in seeded batches (`batches`), a step per batch.
  private func trainEpoch(_ run: TrainingRun) throws -> EpochTotals {
    let epoch = run.state.completedEpochs
    var totals = EpochTotals(learningRate: run.learningRate)
    for indices in Self.batches(
      count: run.examples.count, lengths: run.lengths, size: run.options.batchSize,
      rng: &run.state.rng)
    {
      let batch = run.batch(indices)
      let (loss, norm) = run.lossAndGradient(batch)
      run.state.step += 1
      try onStep(
        StepReport(
          step: run.state.step, epoch: epoch + 1, loss: loss / Double(batch.size),
          gradientNorm: norm))
      guard try run.faults.admits(loss: loss, norm: norm, epoch: epoch) else {
        totals.skipped += 1
        continue
      }
      run.update(gradientNorm: norm, learningRate: totals.learningRate)
      totals.loss += loss
      totals.normSum += norm
      totals.normMax = max(totals.normMax, norm)
      totals.steps += 1
      totals.sentences += batch.size
      totals.tokens += batch.tokenCount
    }
    guard totals.steps > 0 else { throw divergenceError("every batch", epoch) }
    return totals
  }

  /// How many batches' sentences one epoch sorts by length together (`batches`).
  package static let poolBatches = 20

  /// One epoch's batches: a seeded shuffle, then within pools of `poolBatches` batches a sort
  /// by length, so a batch pads little while the order still changes every epoch; batch order
  /// shuffled.
  /// A batch ends early where one more sentence would take it past `maximumTokenSteps`.
  static func batches(
    count: Int, lengths: [Int], size: Int,
    maximumTokenSteps: Int = TaggerModel.batchTokenStepLimit, rng: inout SplitMix64
  ) -> [[Int]] {
    var order = Array(0..<count)
    order.shuffle(using: &rng)
    var batches: [[Int]] = []
    let pool = size * poolBatches
    for poolStart in stride(from: 0, to: count, by: pool) {
      let sorted = order[poolStart..<min(poolStart + pool, count)].sorted {
        (lengths[$0], $0) < (lengths[$1], $1)
      }
      var start = 0
      while start < sorted.count {
        // Ascending lengths: the sentence that would join is the batch's longest.
        var end = start + 1
        while end < min(start + size, sorted.count)
          && lengths[sorted[end]] * (end + 1 - start) <= maximumTokenSteps
        {
          end += 1
        }
        batches.append(Array(sorted[start..<end]))
        start = end
      }
    }
    batches.shuffle(using: &rng)
    return batches
  }
}

/// A setting a resumed run takes from its checkpoint instead of from its trainer: a
/// `TaggerConfiguration` or `TrainingOptions` key and both values as JSON text, nil for an
/// optional setting left out (its default).
public struct ReplacedSetting: Equatable, Sendable, CustomStringConvertible {
  /// The member's name in `TaggerConfiguration` or `TrainingOptions` (`hiddenSize`), or
  /// `embeddings` for the vectors the checkpoint's weights were seeded from (kept and given
  /// are then their paths), `embeddingsScope` for which of them (`EmbeddingScope`), `test`
  /// for the `--test` file whose words they took, or `note` for the run's `--note`.
  public var key: String
  /// The checkpoint's value, which the run keeps.
  public var kept: String?
  /// The trainer's value, which the run does not use.
  public var given: String?

  /// "key kept-value (not given-value)": for a value left out, "none" of a file or note,
  /// "default" of a setting.
  public var description: String {
    let absent = ["embeddings", "test", "note"].contains(key) ? "none" : "default"
    return "\(key) \(kept ?? absent) (not \(given ?? absent))"
  }
}

/// The top-level members of `value`'s JSON form, each value as JSON text (a member that is
/// nil is left out, as the encoder leaves it out): what `replacedSettings(given:kept:)`
/// compares, and what `trellis info` prints of a recipe.
package func jsonMembers<Value: Encodable>(of value: Value) -> [String: String] {
  let encoder = JSONEncoder()
  encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
  guard let data = try? encoder.encode(value),
    let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
  else { return [:] }
  return object.compactMapValues {
    (try? JSONSerialization.data(
      withJSONObject: $0, options: [.sortedKeys, .fragmentsAllowed, .withoutEscapingSlashes]))
      .map { String(decoding: $0, as: UTF8.self) }
  }
}

/// Each top-level member whose value differs between the JSON forms of `given` and `kept`,
/// sorted by key.
package func replacedSettings<Value: Encodable>(given: Value, kept: Value) -> [ReplacedSetting] {
  let (x, y) = (jsonMembers(of: given), jsonMembers(of: kept))
  return Set(x.keys).union(y.keys).sorted().filter { x[$0] != y[$0] }.map {
    ReplacedSetting(key: $0, kept: y[$0], given: x[$0])
  }
}

/// Why training stopped, or could not start, where no input file is at fault (a diverged
/// run, weights the system cannot allocate): printed `training: what`.
public struct TrainingFailure: Error, CustomStringConvertible, Equatable {
  /// What went wrong, as a sentence fragment.
  public var message: String

  /// A failure saying `message`.
  public init(_ message: String) { self.message = message }

  public var description: String { "training: \(message)" }
}

/// Whether `path` names a file with something in it (through links): at a run's `bestModel`,
/// a model, since `Trainer.train` refuses anything else there.
private func holdsBytes(_ path: String) -> Bool {
  var info = stat()
  return stat(path, &info) == 0 && info.st_size > 0
}
