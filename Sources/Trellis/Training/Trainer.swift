import ConllEval
import Foundation

/// How a model is trained; the defaults are the settings the README's numbers come from.
public struct TrainingOptions: Codable, Equatable, Sendable {
  public var epochs = 30
  public var batchSize = 32
  public var optimizer: OptimizerKind = .adam
  /// Initial learning rate η₀; nil picks the optimiser's usual value (Adam 0.001, SGD 0.1).
  public var learningRate: Double? = nil
  /// Epoch e (from 0) uses η₀ / (1 + decay·e).
  public var learningRateDecay = 0.0
  /// Gradients whose global norm exceeds this are scaled down to it (Pascanu et al. 2013);
  /// 0 turns clipping off.
  public var clipNorm = 5.0
  /// Dropout rate on the embeddings and on the encoder outputs.
  public var dropout: Float = 0.5
  /// Probability that a word seen once in training is read as `<unk>`, so `<unk>` is trained.
  public var unknownReplacement = 0.5
  /// Stop after this many epochs without a better dev F1; 0 never stops early.
  public var patience = 8
  public var seed: UInt64 = 1
  /// Keep the running average of the parameters over all steps and use it for evaluation
  /// and the saved model (Collins 2002's averaged perceptron, for any head).
  public var average = false

  public init() {}

  var initialLearningRate: Double {
    learningRate ?? (optimizer == .adam ? 0.001 : 0.1)
  }
}

/// One epoch's summary, also written as a JSON line by `trellis train --log`.
public struct EpochReport: Codable, Sendable {
  public var epoch: Int
  /// Mean training loss per sentence.
  public var loss: Double
  public var devF1: Double?
  public var devAccuracy: Double?
  /// Mean and maximum global gradient norm over the epoch's steps, before clipping.
  public var gradientNormMean: Double
  public var gradientNormMax: Double
  public var learningRate: Double
  public var skippedBatches: Int
  /// Wall-clock time of the epoch, dev evaluation included.
  public var seconds: Double
  /// Wall-clock time of the epoch's training steps alone.
  public var trainingSeconds: Double
  /// Training tokens per second of training time (dev evaluation excluded).
  public var tokensPerSecond: Double
  public var isBest: Bool
}

/// One optimisation step, for plots of the gradient norm.
public struct StepReport: Codable, Sendable {
  public var step: Int
  public var epoch: Int
  public var loss: Double
  public var gradientNorm: Double
}

/// Trains a `TaggerModel` on labelled sentences, keeping the parameters with the best dev F1.
public final class Trainer {
  public let configuration: TaggerConfiguration
  public let options: TrainingOptions
  /// Vectors to start the embedding table from; their words also join the vocabulary, so test
  /// words never seen in training still get a meaningful embedding.
  public var pretrained: PretrainedEmbeddings?
  /// Told, once the vocabulary exists, how many training words had a pretrained vector.
  public var onPretrainedCoverage: (_ covered: Int, _ trainingWords: Int, _ added: Int) -> Void = { _, _, _ in }
  public var onEpoch: (EpochReport) -> Void = { _ in }
  public var onStep: (StepReport) -> Void = { _ in }

  public init(configuration: TaggerConfiguration, options: TrainingOptions) {
    self.configuration = configuration
    self.options = options
  }

  /// Trains and returns the model with the best dev F1 (the last one when `dev` is empty).
  ///
  /// With `checkpoint`, the whole training state is written there (atomically) after every
  /// epoch; with `resume`, training continues from that file instead of starting afresh, and
  /// ends with the same model an uninterrupted run would have produced. A resumed run takes
  /// `epochs` and `patience` from this trainer's options and everything else from the
  /// checkpoint.
  public func train(
    train: [Sentence], dev: [Sentence], checkpoint: String? = nil, resume: Bool = false,
    bestModel: String? = nil
  ) throws -> TaggerModel {
    let start: Start
    if resume, let checkpoint {
      start = try resumed(from: checkpoint, train: train)
    } else {
      start = fresh(train: train)
    }
    let (model, options) = (start.model, start.options)
    var state = start.state
    let examples = start.sentences.map { sentence in
      (encoded: model.encode(sentence.tokens), labels: sentence.labels.map { model.labels.id(for: $0)! })
    }
    let lengths = examples.map(\.encoded.words.count)
    let singleton = start.wordCounts.map { $0 == 1 }
    let store = model.store
    let workspace = ModelWorkspace()
    var consecutiveFaults = 0

    while state.completedEpochs < options.epochs {
      if options.patience > 0, state.epochsWithoutImprovement >= options.patience { break }
      let epoch = state.completedEpochs
      let started = Date()
      let rate = options.initialLearningRate / (1 + options.learningRateDecay * Double(epoch))
      var lossSum = 0.0, normSum = 0.0, normMax = 0.0, steps = 0, skipped = 0, tokens = 0
      for indices in Self.batches(count: examples.count, lengths: lengths, size: options.batchSize, rng: &state.rng) {
        let wordIds = indices.map { i in
          examples[i].encoded.words.map { id in
            singleton[id] && state.rng.nextUnitDouble() < options.unknownReplacement ? ReservedWord.unknownId : id
          }
        }
        let batch = model.batch(
          indices.map { examples[$0].encoded }, words: wordIds, gold: indices.map { examples[$0].labels })
        store.zeroGradients()
        let loss = model.lossAndGradient(batch, workspace: workspace, dropoutRate: options.dropout, rng: &state.rng)
        let norm = store.gradientNorm()
        state.step += 1
        onStep(StepReport(step: state.step, epoch: epoch + 1, loss: loss / Double(batch.size), gradientNorm: norm))
        guard loss.isFinite, norm.isFinite else {
          skipped += 1
          consecutiveFaults += 1
          if consecutiveFaults >= 20 {
            throw TrellisError(
              file: "training",
              "20 batches in a row gave a non-finite loss or gradient (epoch \(epoch + 1)); "
                + "lower --learning-rate or keep --clip on")
          }
          continue
        }
        consecutiveFaults = 0
        if options.clipNorm > 0, norm > options.clipNorm {
          let scale = Float(options.clipNorm / norm)
          for k in 0..<store.count { store.gradients[k] *= scale }
        }
        if state.adam != nil {
          state.adam!.step(store, rate: Float(rate))
        } else {
          var sgd = SGD()
          sgd.step(store, rate: Float(rate))
        }
        state.updates += 1
        if options.average {
          // Running mean over updates: avg ← avg + (θ − avg) / n.
          let n = Float(state.updates)
          state.average.withUnsafeMutableBufferPointer { avg in
            for k in 0..<store.count { avg[k] += (store.values[k] - avg[k]) / n }
          }
        }
        lossSum += loss
        normSum += norm
        normMax = max(normMax, norm)
        steps += 1
        tokens += batch.tokenCount
      }
      guard steps > 0 else {
        throw TrellisError(
          file: "training",
          "every batch of epoch \(epoch + 1) gave a non-finite loss or gradient; "
            + "lower --learning-rate or keep --clip on")
      }
      let trainingSeconds = Date().timeIntervalSince(started)
      let current = options.average ? store.snapshot() : nil
      if options.average { store.restore(state.average) }
      let devScores = dev.isEmpty ? nil : model.evaluate(dev)
      let f1 = devScores?.f1 ?? Double(epoch)
      let isBest = state.bestF1.map { f1 > $0 } ?? true
      if isBest {
        state.bestF1 = f1
        state.bestValues = store.snapshot()
        state.epochsWithoutImprovement = 0
        if let bestModel { try ModelFile.write(model, to: bestModel) }
      } else {
        state.epochsWithoutImprovement += 1
      }
      if let current { store.restore(current) }
      state.completedEpochs += 1
      if let checkpoint { try Checkpoint.write(model: model, state: state, options: options, to: checkpoint) }
      onEpoch(
        EpochReport(
          epoch: epoch + 1, loss: lossSum / Double(max(examples.count, 1)), devF1: devScores?.f1,
          devAccuracy: devScores?.accuracy, gradientNormMean: normSum / Double(max(steps, 1)),
          gradientNormMax: normMax, learningRate: rate, skippedBatches: skipped,
          seconds: Date().timeIntervalSince(started), trainingSeconds: trainingSeconds, tokensPerSecond: Double(tokens) / trainingSeconds,
          isBest: isBest))
    }
    if !state.bestValues.isEmpty { store.restore(state.bestValues) }
    return model
  }

  /// Where a run begins: the model, the training state, the options in force, the training
  /// sentences in the model's label scheme, and each word id's training count.
  private struct Start {
    var model: TaggerModel
    var state: TrainingState
    var options: TrainingOptions
    var sentences: [Sentence]
    var wordCounts: [Int]
  }

  /// A new model: scheme detected from the data, vocabularies built (extended by pretrained
  /// vectors, which also seed the embeddings), weights drawn from the seed.
  private func fresh(train: [Sentence]) -> Start {
    var rng = SplitMix64(seed: options.seed)
    var configuration = self.configuration
    configuration.scheme = detectScheme(train.map(\.labels))
    // Training labels are in the model's own scheme (`--scheme`); dev stays as it is, since
    // evaluation converts predictions back to the data's scheme.
    let sentences = Self.converted(train, to: configuration)
    let (trainingVocabulary, labels, trainingCounts) = Self.vocabularies(
      of: sentences, normalization: configuration.normalization)
    var words = trainingVocabulary, counts = trainingCounts
    for key in pretrained?.keys ?? [] where words.id(for: key) == nil {
      words.insert(key)
      counts.append(0)
    }
    let model = TaggerModel(
      configuration: configuration, words: words, labels: labels,
      characters: configuration.characterFilters > 0
        ? Self.characterVocabulary(of: sentences, normalization: configuration.normalization) : Vocabulary(),
      rng: &rng)
    if let pretrained { seedEmbeddings(of: model, from: pretrained, trainingWords: trainingVocabulary.count) }
    return Start(
      model: model, state: TrainingState(rng: rng, model: model, options: options), options: options,
      sentences: sentences, wordCounts: counts)
  }

  /// The model and state of a checkpoint, after checking it was trained on this data.
  private func resumed(from checkpoint: String, train: [Sentence]) throws -> Start {
    let (model, state, checkpointOptions) = try Checkpoint.read(from: checkpoint)
    var options = checkpointOptions
    // The run's length may change on resume; everything that shapes each update may not.
    options.epochs = self.options.epochs
    options.patience = self.options.patience
    let sentences = Self.converted(train, to: model.configuration)
    let (words, labels, counts) = Self.vocabularies(of: sentences, normalization: model.configuration.normalization)
    // Pretrained vectors may have added words after the training vocabulary.
    guard Array(model.words.strings.prefix(words.count)) == words.strings, labels == model.labels else {
      throw TrellisError(file: checkpoint, "was trained on other data than the --train file given")
    }
    return Start(
      model: model, state: state, options: options, sentences: sentences,
      wordCounts: counts + [Int](repeating: 0, count: model.words.count - words.count))
  }

  /// Copies the pretrained vector of every vocabulary word that has one into the embeddings.
  private func seedEmbeddings(of model: TaggerModel, from pretrained: PretrainedEmbeddings, trainingWords: Int) {
    precondition(pretrained.dimension == model.configuration.embeddingSize, "checked when the file was read")
    var covered = 0
    for id in 0..<model.words.count {
      guard let vector = pretrained.vectors[model.words[id]] else { continue }
      (model.store.value(model.embedding.table) + id * pretrained.dimension).update(from: vector, count: pretrained.dimension)
      if id < trainingWords { covered += 1 }
    }
    model.store.didChangeValues()
    onPretrainedCoverage(covered, trainingWords - 2, model.words.count - trainingWords)
  }

  /// `sentences` with their labels in `configuration.trainingScheme`, when that differs.
  static func converted(_ sentences: [Sentence], to configuration: TaggerConfiguration) -> [Sentence] {
    guard let modelScheme = configuration.trainingScheme, modelScheme != configuration.scheme else { return sentences }
    return sentences.map { sentence in
      let labels = convert(sentence.labels, from: configuration.scheme, to: modelScheme)
      return Sentence(
        fields: zip(sentence.fields, labels).map { fields, label in fields.dropLast() + [label] },
        firstLine: sentence.firstLine)
    }
  }

  /// Words (normalised keys, `<pad>` and `<unk>` first), labels in order of first appearance,
  /// and each word id's training count.
  static func vocabularies(
    of sentences: [Sentence], normalization: TokenNormalization
  ) -> (words: Vocabulary, labels: Vocabulary, counts: [Int]) {
    var words = Vocabulary([ReservedWord.padding, ReservedWord.unknown])
    var labels = Vocabulary()
    var counts = [0, 0]
    for sentence in sentences {
      for fields in sentence.fields {
        let id = words.insert(normalization.key(for: fields[0]))
        if id == counts.count { counts.append(0) }
        counts[id] += 1
        labels.insert(fields[fields.count - 1])
      }
    }
    return (words, labels, counts)
  }

  /// Characters of the training tokens (as the character CNN reads them), `<pad>` and `<unk>`
  /// first, then in order of first appearance.
  static func characterVocabulary(of sentences: [Sentence], normalization: TokenNormalization) -> Vocabulary {
    var characters = Vocabulary([ReservedWord.padding, ReservedWord.unknown])
    for sentence in sentences {
      for token in sentence.tokens {
        for character in (normalization.lowercase ? token.lowercased() : token).prefix(CharacterCNN.maximumLength) {
          characters.insert(String(character))
        }
      }
    }
    return characters
  }

  /// One epoch's batches: a seeded shuffle, then within pools of 20 batches a sort by length,
  /// so a batch pads little while the order still changes every epoch; batch order shuffled.
  static func batches(count: Int, lengths: [Int], size: Int, rng: inout SplitMix64) -> [[Int]] {
    var order = Array(0..<count)
    order.shuffle(using: &rng)
    var batches: [[Int]] = []
    let pool = size * 20
    for poolStart in stride(from: 0, to: count, by: pool) {
      let sorted = order[poolStart..<min(poolStart + pool, count)].sorted {
        (lengths[$0], $0) < (lengths[$1], $1)
      }
      for start in stride(from: 0, to: sorted.count, by: size) {
        batches.append(Array(sorted[start..<min(start + size, sorted.count)]))
      }
    }
    batches.shuffle(using: &rng)
    return batches
  }
}
