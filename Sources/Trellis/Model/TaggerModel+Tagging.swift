import ConllEval
import Foundation

extension TaggerModel {
  /// Labels for each tokenised sentence (in input order), up to `batchSize` sentences of
  /// similar length per forward pass, and at most `TaggerModel.batchTokenStepLimit`
  /// token-steps unless one sentence has more (`lengthBatches`). A model that reads feature
  /// columns reads each as unknown here (`checkReadsTokensAlone()`): give it `TokenInput`s.
  ///
  /// Safe to call from several threads at once on one model: weights are only read, and each
  /// call has its own workspace.
  ///
  /// Sentences of any length are tagged, in memory that grows with a sentence's tokens times
  /// the labels: a program tagging input it does not control refuses a sentence for which
  /// `tokenLimitError(count:)` gives a reason first, as `tagJSONLines` and `trellis tag` do.
  /// The same holds for `analyze`, `respond(to:options:)` and `analyses`.
  public func tag(_ sentences: [[String]], options: TaggingOptions = TaggingOptions()) -> [[String]]
  {
    tag(sentences.map { TokenInput(tokens: $0) }, options: options)
  }

  /// Labels for each input; for a model with feature columns, each input carries their values.
  /// (Disfavoured beside `tag(_: [[String]])`, so that `tag([])` needs no type.)
  @_disfavoredOverload
  public func tag(_ inputs: [TokenInput], options: TaggingOptions = TaggingOptions()) -> [[String]]
  {
    var labelsOnly = options
    (labelsOnly.confidence, labelsOnly.nbest) = (false, 0)
    return predict(inputs, options: labelsOnly).map { outputLabels($0.path) }
  }

  /// Every label an answer can hold: the model's own, or for a model trained in another scheme
  /// than its data's (`trellis train --scheme bioes`), every label of the data's scheme the
  /// conversion can write.
  public var outputLabels: [String] {
    guard configuration.convertedScheme != nil else { return labels.strings }
    return convertedLabels(labels.strings, to: configuration.scheme)
  }

  /// Label strings for label ids, in the scheme of the training data (converted back when the
  /// model was trained in another scheme).
  func outputLabels(_ path: [Int]) -> [String] {
    let strings = path.map { labels[$0] }
    guard let modelScheme = configuration.convertedScheme else { return strings }
    return convert(strings, from: modelScheme, to: configuration.scheme)
  }

  /// Tags each sentence and adds spans and, on request, confidences and the `nbest` best
  /// label sequences. Thread-safe like `tag`.
  public func analyze(_ sentences: [[String]], options: TaggingOptions = TaggingOptions())
    -> [Analysis]
  {
    analyze(sentences.map { TokenInput(tokens: $0) }, options: options)
  }

  /// `analyze` for inputs with feature-column values (disfavoured as `tag`'s is).
  @_disfavoredOverload
  public func analyze(_ inputs: [TokenInput], options: TaggingOptions = TaggingOptions())
    -> [Analysis]
  {
    let predictions = predict(inputs, options: options)
    return Array(zip(inputs.map(\.tokens), predictions)).concurrentMap(threads: options.threads) {
      analysis(of: $0, $1)
    }
  }

  /// The analysis of `tokens` from their prediction: label strings, spans, confidences, n-best.
  func analysis(of tokens: [String], _ prediction: Prediction) -> Analysis {
    let labelStrings = outputLabels(prediction.path)
    let spans =
      labelChunks?.chunks(in: prediction.path)
      ?? chunks(in: labelStrings, scheme: configuration.scheme)
    return Analysis(
      tokens: tokens, labels: labelStrings,
      spans: spans.map {
        Span(
          label: $0.type, start: $0.start, end: $0.end,
          text: tokens[$0.start..<$0.end].joinedBySpaces())
      },
      tokenConfidences: prediction.confidence?.tokens.map(asProbability),
      sequenceProbability: prediction.confidence.map { asProbability($0.sequence) },
      alternatives: prediction.alternatives.map {
        Alternative(
          labels: outputLabels($0.path), score: $0.score,
          probability: $0.probability.map(asProbability))
      }, alternativesTruncated: prediction.alternativesTruncated)
  }

  /// `p` held to [0, 1]: sums of exponentials in floating point land a few ulps past 1 (a
  /// printed 1.0000000000291038 when log Z was about 1e5); a NaN stays, for the writers to
  /// refuse.
  private func asProbability(_ p: Double) -> Double { p.isNaN ? p : min(max(p, 0), 1) }

  struct Prediction {
    var path: [Int] = []
    var confidence: PathConfidence?
    var alternatives: [ScoredPath] = []
    /// The list was cut to fit the entry limit (`Analysis.alternativesTruncated`).
    var alternativesTruncated = false
  }

  /// Predictions for tokenised sentences, in input order; sentences of similar length share
  /// a batch. The batches are dealt out to up to `options.threads` workers, each with its own
  /// workspace and single-threaded passes: whole batches in parallel keep the cores busier
  /// than splitting each pass. A worker with a spare thread of its own (one batch, two
  /// threads) runs each pass on two (encoder directions, head halves). Every batch is formed
  /// as in a sequential run, so the results do not depend on the threading.
  /// `workers` caps the workers below `options.threads` (nil: no cap).
  func predict(_ sentences: [TokenInput], options: TaggingOptions, workers: Int? = nil)
    -> [Prediction]
  {
    guard let constraints = constraints(applied: options.constrained) else {
      return predictInBatches(sentences, options: options, workers: workers)
    }
    // A length the constraints admit no path of (`admitsPath(length:)`) would get a path of
    // score −∞ and NaN confidences: such sentences are decoded without constraints instead.
    let unconstrainable = sentences.indices.filter {
      !sentences[$0].tokens.isEmpty && !constraints.admitsPath(length: sentences[$0].tokens.count)
    }
    guard !unconstrainable.isEmpty else {
      return predictInBatches(sentences, options: options, workers: workers)
    }
    var unconstrained = options
    unconstrained.constrained = false
    let set = Set(unconstrainable)
    var result = predictInBatches(
      sentences.indices.map { set.contains($0) ? TokenInput(tokens: []) : sentences[$0] },
      options: options, workers: workers)
    let fallback = predictInBatches(
      unconstrainable.map { sentences[$0] }, options: unconstrained, workers: workers)
    for (index, prediction) in zip(unconstrainable, fallback) { result[index] = prediction }
    return result
  }

  /// `predict` with one `options.constrained` for every sentence.
  private func predictInBatches(
    _ sentences: [TokenInput], options: TaggingOptions, workers maxWorkers: Int?
  ) -> [Prediction] {
    // `TaggingOptions`: a Swift caller's batch size or thread count out of range is the
    // nearest in range (lengthBatches needs a batch of one at least, a worker tags anything).
    let batchSize = min(max(options.batchSize, 1), TaggingOptions.batchSizeLimit)
    let order = sentences.indices.sorted {
      (sentences[$0].tokens.count, $0) < (sentences[$1].tokens.count, $1)
    }
    .filter { !sentences[$0].tokens.isEmpty }
    let batches = lengthBatches(order.map { sentences[$0].tokens.count }, maximum: batchSize)
      .map { Array(order[$0]) }
    let threads = min(max(options.threads, 1), TaggingOptions.threadsLimit)
    // A batch past the token-step limit holds one long sentence (`lengthBatches`; its last
    // is its longest). Such batches run one at a time, each pass on two threads, so memory
    // follows the longest sentence whatever the threads: side by side on two workers, four
    // sentences of 90,000 tokens took 1,670 MB and 3.57 s, one at a time 886 MB and 3.22 s
    // (with more cores, side by side would take less time, and that many times the memory).
    func isLong(_ batch: [Int]) -> Bool {
      batch.count * sentences[batch.last!].tokens.count > TaggerModel.batchTokenStepLimit
    }
    let (long, ordinary) = (batches.filter(isLong), batches.filter { !isLong($0) })
    let workers = max(min(threads, ordinary.count, maxWorkers ?? threads), 1)
    // Every sentence with tokens is overwritten below; the empty ones keep this answer.
    var result = [Prediction](
      repeating: emptySentencePrediction(options), count: sentences.count)
    // Workers take the next batch when they finish one, longest first, so a worker slowed by
    // other work on its core (the CLI's reading and writing) does not hold up the others.
    let queue = WorkQueue(count: ordinary.count)
    result.withUnsafeMutableBufferPointer { result in
      func tag(_ indices: [Int], in workspace: ModelWorkspace) {
        let predictions = predict(
          indices.map { sentences[$0] }, workspace: workspace, options: options)
        for (index, prediction) in zip(indices, predictions) { result[index] = prediction }
      }
      if !long.isEmpty {
        // Not kept: its buffers are the long sentences'.
        workspaces.withWorkspace(keeping: false) { workspace in
          workspace.usesTwoThreads = threads >= 2
          for indices in long.reversed() { tag(indices, in: workspace) }
        }
      }
      // One iteration runs on the calling thread.
      performConcurrently(iterations: workers) { _ in
        workspaces.withWorkspace(keeping: true) { workspace in
          workspace.usesTwoThreads = threads >= 2 * workers
          while let next = queue.take() { tag(ordinary[ordinary.count - 1 - next], in: workspace) }
        }
      }
    }
    return result
  }

  /// A sentence without tokens has one labelling, the empty path: score 0 under every head,
  /// and under a head that defines p(y | x) probability 1 (the CRF's log Z sums exp 0 over
  /// that one path; the softmax's product over no tokens is 1). So asked-for confidences are
  /// an empty list with a sequence probability of 1, and an n-best list holds that path, as
  /// for any sentence, instead of being left out.
  private func emptySentencePrediction(_ options: TaggingOptions) -> Prediction {
    let probabilities = head.definesProbabilities
    return Prediction(
      confidence: options.confidence && probabilities
        ? PathConfidence(tokens: [], sequence: 1) : nil,
      alternatives: options.nbest > 0
        ? [ScoredPath(path: [], score: 0, probability: probabilities ? 1 : nil)] : [])
  }

  /// The paths' confidences, a token's of the label printed: where labels are converted to
  /// the data's scheme with neighbours deciding, from `PrintedLabels`; else the head's own,
  /// exact without a conversion and, through `sameOutputGroups`, for BIOES to BIO by a CRF
  /// under constraints (with every path valid, a printed B-X is exactly the model's B-X or
  /// S-X; the softmax head gives invalid paths probability, constraints or not).
  private func confidences(
    _ paths: [[Int]], _ emissions: [MatrixView], _ constraints: TransitionConstraints?
  ) -> [PathConfidence]? {
    func own() -> [PathConfidence]? {
      head.confidences(
        of: paths, emissions: emissions, parameters: headParameters, constraints: constraints,
        sameOutput: sameOutputGroups)
    }
    guard let modelScheme = configuration.convertedScheme,
      sameOutputGroups == nil || constraints == nil || !(head is CRFHead)
    else { return own() }
    let printed = printedLabels.labels {
      PrintedLabels(labels: labels.strings, from: modelScheme, to: configuration.scheme)
    }
    if let crf = head as? CRFHead {
      return crf.printedConfidences(
        of: paths, emissions: emissions, parameters: headParameters, constraints: constraints,
        printed: printed)
    }
    guard let softmax = head as? SoftmaxHead else { return own() }
    guard var confidences = own() else { return nil }
    let tokens = softmax.printedConfidences(of: paths, emissions: emissions, printed: printed)
    for b in confidences.indices { confidences[b].tokens = tokens[b] }
    return confidences
  }

  /// Predictions for one batch.
  private func predict(
    _ sentences: [TokenInput], workspace: ModelWorkspace, options: TaggingOptions
  ) -> [Prediction] {
    let batch = batch(sentences)
    let paths = decode(batch, workspace: workspace, constrained: options.constrained)
    let constraints = constraints(applied: options.constrained)
    let emissions = (0..<batch.size).map { emissionView(workspace, batch: batch, sentence: $0) }
    let confidences = options.confidence ? confidences(paths, emissions, constraints) : nil
    // Each n-best list's log Z: from the confidences' pass when there was one, else from one
    // pass over the batch (none for a head without a partition function).
    let logPartitions =
      options.nbest == 0
      ? []
      : confidences?.map(\.logPartition)
        ?? head.logPartitions(
          emissions: emissions, parameters: headParameters, constraints: constraints)
        ?? [Double?](repeating: nil, count: batch.size)
    return paths.enumerated().map { b, path in
      let best =
        options.nbest > 0
        ? distinctBest(
          min(options.nbest, TaggingOptions.nbestLimit), emissions: emissions[b],
          constraints: constraints,
          logPartition: logPartitions[b])
        : (paths: [], truncated: false)
      // A list asked for and empty means no sequence has a finite score (a damaged model's
      // overflowing weights): the best path stands in with the score −∞, which every writer
      // refuses as it refuses any number that is not finite, instead of leaving the list out.
      let alternatives =
        options.nbest > 0 && best.paths.isEmpty && !path.isEmpty
        ? [ScoredPath(path: path, score: -.infinity, probability: nil)] : best.paths
      return Prediction(
        path: path, confidence: confidences?[b], alternatives: alternatives,
        alternativesTruncated: best.truncated)
    }
  }

  /// The `k` best paths whose output labels differ. Paths in the model's own scheme are
  /// distinct, but two of them can convert to one sequence of the data's scheme (BIOES
  /// `S-X` and `B-X` both become BIO `B-X` when decoding without constraints), so the list is
  /// deduplicated after conversion and asked for again, twice as long, until it holds k
  /// sequences or no more paths exist (at most `TaggingOptions.nbestSearchLimit` paths). List
  /// Viterbi keeps up to `requested` entries per (token, label), so a sentence of T tokens asks
  /// for at most `entryLimit` / (T·L) paths (at least one): a long sentence gets a shorter
  /// list instead of taking the machine's memory, and `truncated` says so (fewer than k
  /// sequences although the last search, at the bound, found as many paths as it asked for).
  /// `logPartition`, the sentence's log Z(x) from the batch's `StructuredHead.logPartitions`,
  /// spares each search a forward pass of its own.
  func distinctBest(
    _ k: Int, emissions: MatrixView, constraints: TransitionConstraints?,
    logPartition: Double? = nil, entryLimit: Int = TaggingOptions.nbestEntryLimit
  ) -> (paths: [ScoredPath], truncated: Bool) {
    // The most paths a search may ask for: the search's bound, cut to fit the entries.
    let most = TaggingOptions.nbestLength(
      TaggingOptions.nbestSearchLimit, tokens: emissions.rows, labels: labels.count,
      entryLimit: entryLimit)
    var requested = min(k, most)
    while true {
      let entries = requested * emissions.rows * labels.count
      let paths = SearchEntries.process.whileHolding(entries) {
        head.nBest(
          requested, emissions: emissions, parameters: headParameters, constraints: constraints,
          logPartition: logPartition)
      }
      var seen = Set<[String]>()
      var distinct: [ScoredPath] = []
      for path in paths where distinct.count < k && seen.insert(outputLabels(path.path)).inserted {
        distinct.append(path)
      }
      if distinct.count == k || paths.count < requested || requested == most {
        return (distinct, distinct.count < k && paths.count == requested)
      }
      requested = min(2 * requested, most)
    }
  }

  /// Tags `sentences` and scores them against their last column, as conlleval would (as
  /// `conlleval -r` for labels without chunk prefixes: `labelsAreRaw`). Throws a
  /// `TrellisError` ("evaluation data:LINE") for a line not laid out as the model reads it
  /// (`TrainingData.checkLayout`).
  public func evaluate(_ sentences: [Sentence]) throws -> ConllCounts {
    try TrainingData.checkLayout(
      of: sentences, file: "evaluation data", featureCount: configuration.featureColumns.count)
    return evaluate(sentences, workers: nil)
  }

  /// `evaluate` with at most `workers` tagging workers. Training evaluates its dev set with
  /// one, on the workspace it lends (`WorkspacePool.lending`), each pass on two threads, so no
  /// second workspace is grown beside it.
  func evaluate(_ sentences: [Sentence], workers: Int?) -> ConllCounts {
    let featureCount = configuration.featureColumns.count
    let predicted = predict(
      sentences.map { TokenInput(laidOut: $0, featureCount: featureCount) },
      options: TaggingOptions(),
      workers: workers
    ).map { outputLabels($0.path) }
    var counts = ConllCounts()
    for (sentence, labels) in zip(sentences, predicted) {
      counts.add(
        gold: countedLabels(sentence.labels), predicted: countedLabels(labels),
        tokens: sentence.firstFields, rawLabels: labelsAreRaw)
    }
    return counts
  }
}

extension Collection<String> {
  /// The strings joined by single spaces, as `joined(separator: " ")` gives them: one string is
  /// itself, and more are copied into one string of their total size (the generic `joined`
  /// was over half of building an analysis, for spans of one or two tokens).
  func joinedBySpaces() -> String {
    guard count > 1 else { return first ?? "" }
    let size = reduce(count - 1) { $0 + $1.utf8.count }
    return String(unsafeUninitializedCapacity: size) { bytes in
      var end = 0
      for (index, string) in enumerated() {
        if index > 0 {
          bytes[end] = UInt8(ascii: " ")
          end += 1
        }
        end = bytes[end...].initialize(fromContentsOf: string.utf8)
      }
      return end
    }
  }
}

/// Cuts sentences sorted by length (each at least 1) into consecutive batches of at most
/// `maximum` that pad least: a batch runs its longest sentence's steps for each of its
/// sentences. Runs of `maximum` straddle lengths: on the groups of 2,048 ATIS sentences that
/// `trellis tag` tags at a time they ran 2.4% more token-steps than the sentences hold. Of
/// equal cuts the one with the longer last batch is kept, so equal lengths make full batches.
/// The few more batches cost less than the padding they save: tagging 8,000 ATIS sentences
/// took 1.5% fewer instructions, and charging each batch 16 or 64 token-steps more gave fewer
/// batches but 1.4% and 1.1% (callgrind). A batch also runs at most `maximumTokenSteps`
/// token-steps unless it holds one sentence, so long sentences make small batches and a
/// pass's memory stays bounded. A dynamic programme over the cuts, O(count · maximum).
func lengthBatches(
  _ sortedLengths: [Int], maximum: Int,
  maximumTokenSteps: Int = TaggerModel.batchTokenStepLimit
) -> [Range<Int>] {
  // cost[j]: the fewest token-steps that batch the first j sentences; start[j]: where its
  // last batch starts.
  let count = sortedLengths.count
  var cost = [Int](repeating: .max, count: count + 1)
  var start = [Int](repeating: 0, count: count + 1)
  cost[0] = 0
  for end in stride(from: 1, through: count, by: 1) {
    // The batch's longest sentence is its last; one sentence alone may run past the limit.
    let widest = min(maximum, max(1, maximumTokenSteps / sortedLengths[end - 1]))
    for first in max(0, end - widest)..<end {
      let total = cost[first] + sortedLengths[end - 1] * (end - first)
      if total < cost[end] { (cost[end], start[end]) = (total, first) }
    }
  }
  var batches: [Range<Int>] = []
  var end = count
  while end > 0 {
    batches.append(start[end]..<end)
    end = start[end]
  }
  return batches.reversed()
}
