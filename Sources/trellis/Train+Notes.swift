import ConllEval
import Foundation
import Trellis

/// The notes `train` prints before training: how it will choose its epoch, and which of its
/// settings a resumed run's checkpoint overrides.
extension Train {
  /// Not silenced by --quiet: settings the command line gives are being overridden. Only
  /// those this command sets are named: a setting it leaves alone is no instruction the
  /// checkpoint overrides. A setting is set when the recipe's value is not its default (the
  /// schemes a run takes from its data, `detectSchemes`, are defaults too), or when a flag
  /// changes the checkpoint's value: `--seed 1`, the default, against a checkpoint of seed 7
  /// (`--embeddings-scope` whenever it is typed).
  func noteCheckpointSettings(of trainer: Trainer, recipe: TrainingRecipe, train: [Sentence]) {
    var defaults = TrainingRecipe()
    defaults.configuration.detectSchemes(in: train.map(\.labels))
    let setByCommand = Set(
      (replacedSettings(given: defaults.configuration, kept: trainer.configuration)
        + replacedSettings(given: defaults.options, kept: trainer.options)).map(\.key)
        + (recipe.data.embeddings != nil ? ["embeddings"] : [])
        + (recipe.data.test != nil ? ["test"] : []) + (recipe.note != nil ? ["note"] : [])
        + (recipe.data.embeddingsScope != defaults.data.embeddingsScope || embeddingsScope != nil
          ? ["embeddingsScope"] : []))
    trainer.onCheckpointSettings = { replaced in
      let flagged = flaggedSettings(among: replaced, of: recipe)
      let named = replaced.filter { setByCommand.contains($0.key) || flagged.contains($0.key) }
      guard !named.isEmpty else { return }
      printError(
        "note: --resume continues with the checkpoint's settings, not this command's: "
          + named.map(\.description).joined(separator: ", "))
    }
  }

  /// The keys of `replaced` whose values a flag of this command gives: those the flags change
  /// when applied over `recipe` holding the checkpoint's values.
  private func flaggedSettings(among replaced: [ReplacedSetting], of recipe: TrainingRecipe)
    -> Set<String>
  {
    var kept = recipe
    kept.configuration = withKeptValues(recipe.configuration, replaced)
    kept.options = withKeptValues(recipe.options, replaced)
    let flagged = flagsApplied(to: kept)
    return Set(
      (replacedSettings(given: flagged.configuration, kept: kept.configuration)
        + replacedSettings(given: flagged.options, kept: kept.options)).map(\.key))
  }

  /// The notes before training: which columns the run reads and what it made of the labels
  /// (a file laid out otherwise than the defaults assume, its labels not last, trained on the
  /// wrong column without a word, and the scheme detected was seen only in `trellis info`),
  /// then how it chooses its epoch.
  func noteBeforeTraining(_ recipe: TrainingRecipe, train: [Sentence], dev: [Sentence]) {
    var labels: [String] = []
    var seen = Set<ExactString>()
    for label in train.lazy.flatMap(\.labels) where seen.insert(ExactString(label)).inserted {
      labels.append(label)
    }
    let configuration = recipe.configuration
    let reading =
      TaggerModel.areRaw(labels)
      ? "no chunk prefixes, each label a one-token chunk (as conlleval -r scores them)"
      : "\(configuration.scheme.rawValue.uppercased())"
        + (configuration.convertedScheme.map { ", trained in \($0.rawValue.uppercased())" } ?? "")
    let labelColumn = recipe.data.labelColumn.map { "column \($0)" } ?? "the last column"
    let name = LineReader.displayName(of: recipe.data.train)
    printError(
      "note: \(name): tokens from column \(recipe.data.tokenColumn), labels from \(labelColumn): "
        + "\(labels.count) labels, \(reading)")
    noteEpochSelection(recipe, train: train, dev: dev)
  }

  /// On standard error: what a run without --dev does differently, or why dev F1 cannot
  /// choose between epochs (`devSelectionNote`), if it cannot.
  private func noteEpochSelection(_ recipe: TrainingRecipe, train: [Sentence], dev: [Sentence]) {
    guard let devPath = recipe.data.dev else { return noteTrainingWithoutDev(recipe.options) }
    Self.devSelectionNote(train: train, dev: dev, devName: LineReader.displayName(of: devPath))
      .map(printError)
  }

  /// What a run without --dev does differently, on standard error. --patience and
  /// --anneal-factor are noted, not refused, though they do nothing without a dev set: a
  /// recipe tuned on dev is often run again on train and dev together, without --dev.
  private func noteTrainingWithoutDev(_ options: TrainingOptions) {
    let defaults = Self.defaults.options
    let idle = [
      options.patience != defaults.patience ? "--patience" : nil,
      options.annealFactor != defaults.annealFactor ? "--anneal-factor" : nil,
    ].compactMap { $0 }
    let verbs = idle.count == 1 ? ("follows", "does") : ("follow", "do")
    let unused =
      idle.isEmpty
      ? ""
      : " (\(idle.joined(separator: " and ")) \(verbs.0) dev F1, and \(verbs.1) nothing here)"
    let run =
      options.epochs == 1
      ? "runs its one epoch" : "runs all \(options.epochs) epochs and keeps the last"
    printError(
      "note: without --dev, training \(run)\(unused); --dev stops when dev F1 stops "
        + "improving and keeps the best epoch")
  }

  /// A note when dev F1 cannot choose between epochs, or nil: the training labels have chunk
  /// prefixes, and the dev file holds no chunk (every label "O"), or none of a type the
  /// training data has, so no model finds one, every epoch scores 0, and training runs all
  /// its epochs and keeps the last, as without a dev set, for all the time dev takes. Labels
  /// without prefixes (part-of-speech tags) are each a chunk of their own in dev F1, so there
  /// is always one to find.
  static func devSelectionNote(train: [Sentence], dev: [Sentence], devName: String) -> String? {
    guard train.contains(where: { $0.labels.contains { $0 != "O" && isChunkLabel($0) } }) else {
      return nil
    }
    var trainTypes = Set<String>()
    for sentence in train { trainTypes.formUnion(chunks(in: sentence.labels).map(\.type)) }
    var devChunkCount = 0
    for sentence in dev {
      let devChunks = chunks(in: sentence.labels)
      guard !devChunks.contains(where: { trainTypes.contains($0.type) }) else { return nil }
      devChunkCount += devChunks.count
    }
    return "note: \(devName) holds "
      + (devChunkCount == 0 ? "no chunks" : "no chunk of a type the training data has")
      + ", so dev F1 is 0 in every epoch and training runs all its epochs and keeps the "
      + "last, as without --dev: give --dev a file with chunks"
  }

  /// Says on standard error which model was written, and warns where no epoch's dev F1 was
  /// above 0: nothing told the epochs apart (`TrainingState.Selection` kept the last), and the
  /// model may be of no use.
  func noteWritten(_ trained: TaggerModel, to model: String) {
    printError(
      "wrote \(model) (\(trained.parameterCount) parameters, \(trained.labels.count) labels)")
    if let dev = trained.provenance?.training.devF1History, !dev.isEmpty,
      dev.allSatisfy({ $0 == 0 })
    {
      printError(
        "warning: no epoch found a dev chunk right (dev F1 0 in all \(dev.count)), so \(model) "
          + "is the last epoch's, which no dev score chose")
    }
  }
}

/// `value` with each top-level member that `replaced` names set to its kept value (left out
/// where that is nil): the decoder passes over the keys that are not `Value`'s members.
private func withKeptValues<Value: Codable>(_ value: Value, _ replaced: [ReplacedSetting])
  -> Value
{
  guard let data = try? JSONEncoder().encode(value),
    var object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
  else { return value }
  for setting in replaced {
    object[setting.key] = setting.kept.flatMap {
      try? JSONSerialization.jsonObject(with: Data($0.utf8), options: .fragmentsAllowed)
    }
  }
  guard let patched = try? JSONSerialization.data(withJSONObject: object),
    let decoded = try? JSONDecoder().decode(Value.self, from: patched)
  else { return value }
  return decoded
}
