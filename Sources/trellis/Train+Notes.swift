import ConllEval
import Trellis

/// The notes `train` prints before training about how it will choose its epoch.
extension Train {
  /// On standard error: what a run without --dev does differently, or why dev F1 cannot
  /// choose between epochs (`devSelectionNote`), if it cannot.
  func noteEpochSelection(_ recipe: TrainingRecipe, train: [Sentence], dev: [Sentence]) {
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
  /// training data has, so no model finds one, every epoch scores 0, and the first is kept
  /// however much later ones improve (a dev slice without entities, without a word). Labels
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
      + ", so dev F1 is 0 in every epoch and training keeps the first; give --dev a file "
      + "with chunks, or train without --dev, which keeps the last epoch"
  }
}
