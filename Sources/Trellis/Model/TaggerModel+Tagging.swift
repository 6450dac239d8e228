import ConllEval

extension TaggerModel {
  /// Sentences per batch when tagging.
  public static let taggingBatchSize = 32

  /// Labels for each tokenised sentence (in input order), `batchSize` sentences of similar
  /// length per forward pass.
  ///
  /// Safe to call from several threads at once on one model: weights are only read, and each
  /// call has its own workspace.
  public func tag(_ sentences: [[String]], batchSize: Int = taggingBatchSize) -> [[String]] {
    predictIds(sentences.map { $0.map(wordId(for:)) }, batchSize: batchSize).map { $0.map { labels[$0] } }
  }

  /// Label ids for sentences of word ids; batches sentences of similar length together.
  func predictIds(_ sentences: [[Int]], batchSize: Int) -> [[Int]] {
    workspaces.withWorkspace { workspace in predictIds(sentences, batchSize: batchSize, workspace: workspace) }
  }

  private func predictIds(_ sentences: [[Int]], batchSize: Int, workspace: ModelWorkspace) -> [[Int]] {
    var result = [[Int]](repeating: [], count: sentences.count)
    let order = sentences.indices.sorted { (sentences[$0].count, $0) < (sentences[$1].count, $1) }
    for start in stride(from: 0, to: order.count, by: batchSize) {
      let indices = order[start..<min(start + batchSize, order.count)]
      let nonEmpty = indices.filter { !sentences[$0].isEmpty }
      guard !nonEmpty.isEmpty else { continue }
      let predicted = decode(Batch(wordIds: nonEmpty.map { sentences[$0] }), workspace: workspace)
      for (i, labels) in zip(nonEmpty, predicted) { result[i] = labels }
    }
    return result
  }

  /// Tags `sentences` and scores them against their last column, as conlleval would.
  public func evaluate(_ sentences: [Sentence]) -> ConllCounts {
    let predicted = tag(sentences.map(\.tokens))
    var counts = ConllCounts()
    for (sentence, labels) in zip(sentences, predicted) {
      counts.add(gold: sentence.labels, predicted: labels)
    }
    return counts
  }
}
