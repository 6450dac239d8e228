import ArgumentParser
import Foundation
import Trellis

struct Bench: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "bench",
    abstract: "Measure training and tagging throughput, peak memory and the BLAS fraction.",
    discussion: """
      Fixed seed and data; every figure is the median of --repetitions runs. Prints a table, then \
      the same figures as one JSON object (also written to --json FILE).
      """)

  @Option(help: "Directory with train.conll (make bench passes ATIS when it is there).")
  var corpus = "Corpora/synthetic"
  @Option(parsing: .unconditional, help: "Runs per figure; the median is reported.")
  var repetitions = 3
  @Option(help: "Also write the JSON figures to this file.") var json: String?
  @Option(
    help: """
      Measure only tagging, with this model (nothing is trained): TaggerModel.tag on the \
      sentences of --test at --batch-size, and tagJSONLines on them as JSON-lines requests, \
      each run's tokens/s after one warm-up run.
      """)
  var model: String?
  @Option(help: "With --model: the CoNLL file to tag (default: CORPUS/test.conll).")
  var test: String?
  /// The corpus's training file, and the file `--model` tags: `--test`, or the corpus's test file.
  var trainFile: String { "\(corpus)/train.conll" }
  var testFile: String { test ?? "\(corpus)/test.conll" }
  @Option(parsing: .unconditional, help: "With --model: the most sentences per forward pass.")
  var batchSize = TaggingOptions().batchSize
  @Option(
    parsing: .unconditional,
    help:
      "With --model: the column of --test holding the token (1-based; default: the model's training column, else \(TrainingData.defaultTokenColumn)), as tag reads it."
  )
  var tokenColumn: Int?

  func validate() throws {
    // "" named the root directory's train.conll.
    guard !corpus.isEmpty else {
      throw ValidationError(OptionError.emptyPath("corpus").description)
    }
    try validated { try require(repetitions, in: 1...100, "repetitions") }
    guard
      model != nil
        || (test == nil && batchSize == TaggingOptions().batchSize
          && tokenColumn == nil)
    else {
      throw ValidationError("--test, --batch-size and --token-column apply to --model")
    }
    try validated(TaggingOptions(batchSize: batchSize).validate)
    if let tokenColumn {
      try validated { try TrainingData.validateColumns(token: tokenColumn, label: nil) }
    }
  }

  struct Figures: Codable {
    var cores: Int
    var blasCore: String
    /// The instruction set of Trellis's vector kernels (`vectorKernelLevel()`).
    var vectorKernels: String
    var corpus: String
    var trainingTokens: Int
    /// The sizes and settings every training figure uses, which the PyTorch peer must share
    /// (`Eval/peers/compare.py` checks).
    var trainingSettings: [String: Double] = Bench.trainingSettings
    var trainingTokensPerSecond: [String: Double] = [:]
    var taggingTokensPerSecondBatch1 = 0.0
    var taggingTokensPerSecondBatch32 = 0.0
    var taggingTokensPerSecondOneCallPerSentence = 0.0
    var batch1EqualsBatch32 = false
    /// Max RSS after the training runs (before tagging).
    var peakMemoryMegabytes = 0.0
    var sgemmGflops = 0.0
    var lstmForwardGflops = 0.0
    var lstmBackwardGflops = 0.0
    /// The median over the rounds of each round's LSTM GFLOP/s over its sgemm GFLOP/s.
    var lstmForwardShareOfSgemm = 0.0
    var lstmBackwardShareOfSgemm = 0.0
  }

  func run() throws {
    try files().check()
    if let model { return try measureTaggingOnly(model: model) }
    try requireBLAS()  // the sgemm reference and training's initialisation
    // The sgemm reference is OpenBLAS's own, so it must run on the CPU's tuned kernels even
    // where OpenBLAS fell back to its generic ones (`BLASCore`); nothing else here uses them.
    BLASCore.restartWithTunedCoreIfNeeded()
    let train = try readLabelledCoNLL(path: trainFile)
    var figures = Figures(
      cores: TaggingOptions.activeCores, blasCore: blasCoreName(),
      vectorKernels: vectorKernelLevel(), corpus: corpus,
      trainingTokens: train.reduce(0) { $0 + $1.count })
    let defaults = TrainingRecipe()
    print("the default sizes without character features (as in the PyTorch peer, make bench-peers)")
    print(
      "cores \(figures.cores), OpenBLAS core \(figures.blasCore), vector kernels "
        + "\(figures.vectorKernels), corpus \(corpus), median of \(repetitions)")
    print(
      "embeddings \(defaults.configuration.embeddingSize), hidden \(defaults.configuration.hiddenSize) per "
        + "direction, batch \(defaults.options.batchSize)")
    let model = try measureTraining(train, into: &figures)
    // Tagging is timed on the training sentences: 5x the test set, so a run lasts long enough
    // to measure through scheduling noise.
    measureTagging(model, on: train.map(\.tokens), into: &figures)
    try measureBLAS(into: &figures)
    try report(figures)
  }

  /// The files bench reads and the one it writes (`--json`), checked before minutes of
  /// measuring: the figures never replace an input, a device, a directory or a file that is
  /// not JSON (a model named by mistake).
  func files() throws -> FileRoles {
    var roles = FileRoles()
    roles.inputs =
      model.map { model in [("--model", model), ("--test", testFile)] }
      ?? [("--corpus", trainFile)]
    roles.replaced = json.map { [("--json", $0)] } ?? []
    roles.kinds = ["--json": (Self.reportFirstBytes, "bench report")]
    return roles
  }

  /// How a report begins, its keys sorted: `batch1_equals_batch32` first with `--corpus`,
  /// `batch_size` with `--model` (`BenchTests` checks both). A file at `--json` that begins
  /// otherwise is not a report that a run may replace (`FileRoles.kinds`).
  static let reportFirstBytes = Array(#"{"batch"#.utf8)

  /// Prints `figures` as one JSON line (snake-case keys, sorted) and writes the same bytes to
  /// `--json` atomically.
  func report(_ figures: some Encodable) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    encoder.keyEncodingStrategy = .convertToSnakeCase
    let data = try encoder.encode(figures)
    print(String(decoding: data, as: UTF8.self))
    if let json { try writeAtomically(data, to: json) }
  }

  /// Training tokens/s of every encoder and head (one epoch per run, no dev set, so the figure
  /// is pure training throughput) and the peak memory; returns the trained BiLSTM-CRF.
  func measureTraining(_ train: [Sentence], into figures: inout Figures) throws -> TaggerModel {
    let systems: [(EncoderKind, HeadKind)] =
      HeadKind.allCases.map { (.bilstm, $0) }
      + [.lstm, .birnn, .rnn, .bigru, .gru].map { ($0, .crf) }
      + [(.rnn, .softmax)]
    var model: TaggerModel?
    print("\ntraining tokens/s")
    for (encoder, head) in systems {
      var configuration = Self.benchConfiguration
      configuration.encoder = encoder
      configuration.head = head
      var options = TrainingOptions()
      options.epochs = 1
      var rates: [Double] = []
      for _ in 0..<repetitions {
        let trainer = Trainer(configuration: configuration, options: options)
        trainer.onEpoch = { rates.append($0.tokensPerSecond) }
        let trained = try trainer.train(train: train, dev: [])
        if encoder == .bilstm && head == .crf { model = trained }
      }
      let name = "\(encoder)+\(head)"
      figures.trainingTokensPerSecond[name] = median(rates)
      print(
        "  " + name.padding(toLength: 18, withPad: " ", startingAt: 0)
          + String(format: "%9.0f", median(rates)))
    }
    // The process's peak so far is the training peak (corpus and all ten trainings included);
    // read it before tagging adds a second workspace for the second core.
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    figures.peakMemoryMegabytes = Double(usage.ru_maxrss) / 1024
    print(
      String(format: "peak memory while training (max RSS) %.0f MB", figures.peakMemoryMegabytes))
    return model!
  }

  /// Tagging tokens/s at batch 1 and 32 and with one call per sentence.
  func measureTagging(_ tagger: TaggerModel, on test: [[String]], into figures: inout Figures) {
    let testTokens = Double(test.reduce(0) { $0 + $1.count })
    func rate(_ body: () -> Void) -> Double {
      median(
        (0..<repetitions).map { _ in
          let started = Date()
          body()
          return testTokens / Date().timeIntervalSince(started)
        })
    }
    var outputs: [Int: [[String]]] = [:]
    figures.taggingTokensPerSecondBatch1 = rate {
      outputs[1] = tagger.tag(test, options: TaggingOptions(batchSize: 1))
    }
    figures.taggingTokensPerSecondBatch32 = rate {
      outputs[32] = tagger.tag(test, options: TaggingOptions(batchSize: 32))
    }
    figures.batch1EqualsBatch32 = outputs[1] == outputs[32]
    // One call per sentence, as a service answering requests one by one would: no second
    // sentence in flight, so only the encoder's two directions share the cores.
    figures.taggingTokensPerSecondOneCallPerSentence = rate {
      for sentence in test { _ = tagger.tag([sentence]) }
    }
    print(
      String(
        format: "\ntagging tokens/s   batch 1 %9.0f   batch 32 %9.0f   (same labels: %@)",
        figures.taggingTokensPerSecondBatch1, figures.taggingTokensPerSecondBatch32,
        figures.batch1EqualsBatch32 ? "yes" : "NO"))
    print(
      String(
        format: "                   one call per sentence %9.0f",
        figures.taggingTokensPerSecondOneCallPerSentence))
  }

  /// The BLAS limit with the two threads the encoder uses (one per direction), and the LSTM's
  /// own rate, in --repetitions rounds of the LSTM's passes then sgemm; each figure is the median
  /// over the rounds, and each share of sgemm the median of the rounds' own shares. A shared
  /// machine's speed moves over seconds (session 35's `make bench-peers` read the LSTM at 52% of
  /// an sgemm measured a second later, its next `trellis bench` runs 88–97%), so a share is only
  /// a share when both sides of it ran in the same stretch.
  /// Within a round the LSTM goes first, and a round ends with a pause: after a product on two
  /// OpenBLAS threads, OpenBLAS's pool thread spins (sched_yield) for about a tenth of a second,
  /// longer than the LSTM's whole measurement, and can take a core from it (one `make
  /// bench-peers` run on a Zen 3 had forward and backward at 28% and 24% of sgemm, the next runs
  /// 50–67% and 46–64%). Each side is the fastest of its repetitions, taken over a comparable
  /// stretch: 40 of the LSTM's passes, which take 1–2.5 ms each at 100 GFLOP/s (the fastest of 5
  /// sampled a few milliseconds), and 10 of sgemm's 15 ms (with 5, one run's sgemm came out at
  /// 99.8 GFLOP/s, below the LSTM's backward pass, against 120–140 in the others).
  func measureBLAS(into figures: inout Figures) throws {
    let defaults = TaggerConfiguration()
    let (steps, batch) = (12, TrainingOptions().batchSize)
    let (sgemmSize, sgemmThreads) = (1024, 2)
    var rounds: [(forward: Double, backward: Double, sgemm: Double)] = []
    for round in 0..<repetitions {
      if round > 0 { Thread.sleep(forTimeInterval: Self.blasSpinPause) }
      let lstm = try Benchmark.lstmGFLOPs(
        inputSize: defaults.embeddingSize, hiddenSize: defaults.hiddenSize,
        batch: batch, steps: steps, repetitions: 40)
      let sgemm = Benchmark.sgemmGFLOPs(
        size: sgemmSize, threads: sgemmThreads, repetitions: 10)
      rounds.append((lstm.forward, lstm.backward, sgemm))
    }
    figures.sgemmGflops = median(rounds.map(\.sgemm))
    figures.lstmForwardGflops = median(rounds.map(\.forward))
    figures.lstmBackwardGflops = median(rounds.map(\.backward))
    figures.lstmForwardShareOfSgemm = median(rounds.map { $0.forward / $0.sgemm })
    figures.lstmBackwardShareOfSgemm = median(rounds.map { $0.backward / $0.sgemm })
    print(
      String(
        format: "sgemm %d³, %d threads: %.1f GFLOP/s", sgemmSize, sgemmThreads,
        figures.sgemmGflops))
    print(
      String(
        format:
          "BiLSTM T=%d B=%d: forward %.1f GFLOP/s (%.0f%% of sgemm), backward %.1f GFLOP/s (%.0f%%)",
        steps, batch, figures.lstmForwardGflops, 100 * figures.lstmForwardShareOfSgemm,
        figures.lstmBackwardGflops, 100 * figures.lstmBackwardShareOfSgemm))
    let shares = rounds.map { round in
      String(
        format: "%.0f%%/%.0f%%", 100 * round.forward / round.sgemm,
        100 * round.backward / round.sgemm)
    }
    print("  shares of sgemm by round: " + shares.joined(separator: ", "))
  }

  /// Seconds between a round's sgemm and the next round's LSTM: longer than OpenBLAS's pool
  /// thread spins after a product (about a tenth of a second; `measureBLAS`).
  static let blasSpinPause = 0.25

  /// The architecture every figure measures: the defaults without the character CNN, the
  /// classic BiLSTM-CRF that the PyTorch peer (Eval/peers) implements with the same sizes.
  static var benchConfiguration: TaggerConfiguration {
    var configuration = TaggerConfiguration()
    configuration.characterFilters = 0
    return configuration
  }

  /// `Figures.trainingSettings`, by the names the peer gives its own (snake case).
  static var trainingSettings: [String: Double] {
    let (configuration, options) = (benchConfiguration, TrainingOptions())
    return [
      "embedding_size": Double(configuration.embeddingSize),
      "hidden_size": Double(configuration.hiddenSize),
      "batch_size": Double(options.batchSize),
      "learning_rate": options.initialLearningRate,
      // By its decimal digits: Double(Float(0.3)) is 0.30000001192…, not the peer's 0.3.
      "dropout": Double("\(options.dropout)")!,
      "clip_norm": options.clipNorm,
      "unknown_replacement": options.unknownReplacement,
      "pool_batches": Double(Trainer.poolBatches),
    ]
  }

  func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    return sorted.isEmpty ? 0 : sorted[sorted.count / 2]
  }
}
