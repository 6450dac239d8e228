import ConllEval
import Dispatch

/// A tagged sentence with everything a pipeline may want from it.
public struct Analysis: Equatable, Sendable {
  public var tokens: [String]
  public var labels: [String]
  /// The labelled spans (conlleval's chunks), with their text.
  public var spans: [Span]
  /// P(y_t = labels[t] | x) per token, when asked for and the head defines probabilities.
  public var tokenConfidences: [Double]?
  /// p(labels | x), likewise.
  public var sequenceProbability: Double?
  /// The n best label sequences, best first, when asked for (the first equals `labels`).
  public var alternatives: [Alternative]
}

/// A labelled span of tokens `start..<end`.
public struct Span: Codable, Equatable, Sendable {
  public var type: String
  public var start: Int
  public var end: Int
  public var text: String
}

/// One of the n best label sequences.
public struct Alternative: Equatable, Sendable {
  public var labels: [String]
  public var score: Double
  public var probability: Double?
}

extension TaggerModel {
  /// Sentences per batch when tagging.
  public static let taggingBatchSize = 32

  /// Labels for each tokenised sentence (in input order), `batchSize` sentences of similar
  /// length per forward pass.
  ///
  /// Safe to call from several threads at once on one model: weights are only read, and each
  /// call has its own workspace.
  public func tag(_ sentences: [[String]], batchSize: Int = taggingBatchSize) -> [[String]] {
    predict(sentences, batchSize: batchSize, confidence: false, nbest: 0)
      .map { outputLabels($0.path) }
  }

  /// Label strings for label ids, in the scheme of the training data (converted back when the
  /// model was trained in another scheme).
  func outputLabels(_ path: [Int]) -> [String] {
    let strings = path.map { labels[$0] }
    guard let modelScheme = configuration.trainingScheme, modelScheme != configuration.scheme else { return strings }
    return convert(strings, from: modelScheme, to: configuration.scheme)
  }

  /// Tags each sentence and adds spans and, on request, confidences and the `nbest` best
  /// label sequences. Thread-safe like `tag`.
  public func analyze(
    _ sentences: [[String]], confidence: Bool = false, nbest: Int = 0, batchSize: Int = taggingBatchSize
  ) -> [Analysis] {
    let predictions = predict(sentences, batchSize: batchSize, confidence: confidence, nbest: nbest)
    return zip(sentences, predictions).map { tokens, prediction in
      let labelStrings = outputLabels(prediction.path)
      return Analysis(
        tokens: tokens, labels: labelStrings,
        spans: chunks(in: labelStrings).map {
          Span(type: $0.type, start: $0.start, end: $0.end, text: tokens[$0.start..<$0.end].joined(separator: " "))
        },
        tokenConfidences: prediction.confidence?.tokens, sequenceProbability: prediction.confidence?.sequence,
        alternatives: prediction.alternatives.map {
          Alternative(labels: outputLabels($0.path), score: $0.score, probability: $0.probability)
        })
    }
  }

  struct Prediction {
    var path: [Int] = []
    var confidence: PathConfidence?
    var alternatives: [ScoredPath] = []
  }

  /// Predictions for tokenised sentences, in input order; sentences of similar length share
  /// a batch. With two or more batches, the batches alternate between two threads, each with
  /// its own workspace and single-threaded passes: whole batches in parallel keep both cores
  /// busier than splitting each pass. Every batch is formed as in a sequential run, so the
  /// results do not depend on the threading.
  func predict(_ sentences: [[String]], batchSize: Int, confidence: Bool, nbest: Int) -> [Prediction] {
    let order = sentences.indices.sorted { (sentences[$0].count, $0) < (sentences[$1].count, $1) }
      .filter { !sentences[$0].isEmpty }
    let batches = stride(from: 0, to: order.count, by: batchSize).map {
      Array(order[$0..<min($0 + batchSize, order.count)])
    }
    var result = [Prediction](repeating: Prediction(), count: sentences.count)
    result.withUnsafeMutableBufferPointer { result in
      let workers = batches.count >= 2 ? 2 : 1
      DispatchQueue.concurrentPerform(iterations: workers) { worker in
        workspaces.withWorkspace { workspace in
          workspace.usesTwoThreads = workers == 1
          for indices in batches.enumerated().filter({ $0.offset % workers == worker }).map(\.element) {
            predict(indices.map { sentences[$0] }, workspace: workspace, confidence: confidence, nbest: nbest)
              .enumerated().forEach { result[indices[$0]] = $1 }
          }
        }
      }
    }
    return result
  }

  /// Predictions for one batch.
  private func predict(
    _ sentences: [[String]], workspace: ModelWorkspace, confidence: Bool, nbest: Int
  ) -> [Prediction] {
    let batch = batch(sentences)
    let paths = decode(batch, workspace: workspace)
    let emissions = (0..<batch.size).map { emissionView(workspace, batch: batch, sentence: $0) }
    let confidences =
      confidence
      ? head.confidences(of: paths, emissions: emissions, parameters: headParameters, constraints: constraints)
      : nil
    return paths.enumerated().map { b, path in
      Prediction(
        path: path, confidence: confidences?[b],
        alternatives: nbest > 0
          ? head.nBest(nbest, emissions: emissions[b], parameters: headParameters, constraints: constraints) : [])
    }
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
