import XCTest

@testable import ConllEval
@testable import Trellis

/// Confidences of a model trained in another scheme than its data's are those of the labels
/// printed: a BIOES model answering in BIO prints B-a for its B-a and S-a alike, so the
/// printed label's probability is the sum of both marginals.
final class ConvertedConfidenceTests: XCTestCase {
  /// A BIOES model of two chunk types (b without I-b) answering in its data's BIO, its
  /// weights drawn from `seed`.
  func bioesModelAnsweringInBIO(seed: UInt64) throws -> TaggerModel {
    var configuration = TaggerConfiguration()
    (configuration.embeddingSize, configuration.hiddenSize) = (3, 2)
    (configuration.scheme, configuration.trainingScheme) = (.bio, .bioes)
    var rng = SplitMix64(seed: seed)
    return try TaggerModel(
      configuration: configuration, words: Vocabulary(["<pad>", "<unk>", "a", "b"]),
      labels: Vocabulary(["O", "B-a", "I-a", "E-a", "S-a", "B-b", "E-b", "S-b"]), rng: &rng)
  }

  /// `model`'s analysis of "a b a b" with confidences and every sequence listed, checked to
  /// hold them all (their probabilities sum to 1).
  func analysisListingEverySequence(_ model: TaggerModel) throws -> Analysis {
    let analysis = model.analyze(
      [["a", "b", "a", "b"]], options: TaggingOptions(confidence: true, nbest: 1000))[0]
    XCTAssertFalse(analysis.alternativesTruncated)
    let total = analysis.alternatives.reduce(0) { $0 + ($1.probability ?? .nan) }
    XCTAssertEqual(total, 1, accuracy: 1e-9, "the list holds every sequence")
    return analysis
  }

  /// The total probability of `analysis`'s n-best sequences that print `label` at token `t`.
  func probabilityPrinting(_ label: String, at t: Int, in analysis: Analysis) -> Double {
    analysis.alternatives.filter { $0.labels[t] == label }.reduce(0) {
      $0 + ($1.probability ?? .nan)
    }
  }

  /// Against enumeration: with constraints every BIO sequence is one BIOES path, so the
  /// n-best list of a short sentence holds every printed sequence with its probability, and a
  /// token's confidence must be the total probability of the sequences printing its label.
  func testPrintedLabelsConfidenceIsTheirTotalProbability() throws {
    for seed in 1...5 {
      let model = try bioesModelAnsweringInBIO(seed: UInt64(seed))
      let analysis = try analysisListingEverySequence(model)
      let confidences = try XCTUnwrap(analysis.tokenConfidences)
      for (t, label) in analysis.labels.enumerated() {
        XCTAssertEqual(
          confidences[t], probabilityPrinting(label, at: t, in: analysis), accuracy: 1e-9,
          "seed \(seed), token \(t)")
      }
    }
  }

  /// Against every label sequence, where a printed label depends on its neighbours (a BIO
  /// model answering in IOB1, whose B-X follows a chunk of type X, or in BIOES, whose E-X and
  /// S-X end a chunk; a BIOES model answering in BIO without constraints, where an invalid
  /// path's E-X can start a chunk), for the CRF and the softmax head: a token's confidence is
  /// the total probability of the sequences that print its label there. The CRF's are
  /// checked twice: with head weights in ±2, from the scaled recursions, and in ±200, whose
  /// spread the scaled recursions cannot hold, from the log-space ones.
  func testPrintedConfidenceIsTheTotalProbabilityOfEverySequencePrintingIt() throws {
    let bio = ["O", "B-a", "I-a", "B-b", "I-b"]
    let bioes = ["O", "B-a", "I-a", "E-a", "S-a"]
    let cases: [(TagScheme, TagScheme, [String], Bool, HeadKind)] = [
      (.bio, .iob1, bio, true, .crf), (.bio, .iob1, bio, false, .crf),
      (.bio, .bioes, bio, true, .crf), (.bioes, .bio, bioes, false, .crf),
      (.bioes, .iob1, bioes, true, .crf), (.iob1, .bio, bio, true, .crf),
      (.bio, .iob1, bio, true, .softmax), (.bio, .bioes, bio, false, .softmax),
      // The softmax head gives invalid paths probability whatever the constraints, so its
      // BIOES to BIO confidences cannot come from grouping labels.
      (.bioes, .bio, bioes, true, .softmax),
    ]
    for (modelScheme, dataScheme, labels, constrained, head) in cases {
      for seed in 1...3 {
        for spread: Float in head == .crf ? [2, 200] : [2] {
          try checkPrintedConfidences(
            modelScheme: modelScheme, dataScheme: dataScheme, labels: labels,
            constrained: constrained, head: head, seed: seed, spread: spread)
        }
      }
    }
  }

  /// One case of the test above: head weights uniform in ±`spread`.
  private func checkPrintedConfidences(
    modelScheme: TagScheme, dataScheme: TagScheme, labels: [String], constrained: Bool,
    head: HeadKind, seed: Int, spread: Float
  ) throws {
    let name =
      "\(modelScheme) to \(dataScheme), constrained \(constrained), \(head), seed \(seed), "
      + "spread \(spread)"
    var configuration = TaggerConfiguration()
    (configuration.embeddingSize, configuration.hiddenSize) = (3, 2)
    (configuration.characterFilters, configuration.head) = (0, head)
    (configuration.scheme, configuration.trainingScheme) = (dataScheme, modelScheme)
    configuration.constrainedDecoding = constrained
    let words = Vocabulary(["<pad>", "<unk>", "a", "b"])
    var rng = SplitMix64(seed: UInt64(seed))
    let model = try TaggerModel(
      configuration: configuration, words: words, labels: Vocabulary(labels), rng: &rng)
    for k in 0..<model.headSlot.count {
      model.store.value(model.headSlot)[k] = spread * (2 * rng.nextUnitFloat() - 1)
    }
    model.store.didChangeValues()
    if let crf = model.head as? CRFHead {
      XCTAssertEqual(
        crf.chain.scaledRecursionsFit(
          parameters: model.headParameters, constraints: model.constraints(applied: true)),
        spread < 100, "which recursions answer, \(name)")
    }
    // One batch of sentences of several lengths (one token: the first and last at once), so
    // each is read at its own rows of the batch's recursions.
    let batch = [["a", "b", "a", "a"], ["b"], ["a", "b"]]
    let analyses = model.analyze(batch, options: TaggingOptions(confidence: true))
    // The same weights read in the model's own scheme list every sequence it gives
    // probability to.
    var own = configuration
    (own.scheme, own.trainingScheme) = (modelScheme, nil)
    let twin = try TaggerModel(configuration: own, words: words, labels: Vocabulary(labels))
    twin.store.restore(model.store.snapshot())
    // The softmax head's n-best probabilities come from Float log-probabilities.
    let accuracy = head == .softmax ? 1e-6 : 1e-9
    for (tokens, analysis) in zip(batch, analyses) {
      let every = twin.analyze([tokens], options: TaggingOptions(nbest: 1000))[0].alternatives
      XCTAssertEqual(
        every.reduce(0) { $0 + ($1.probability ?? .nan) }, 1, accuracy: accuracy, name)
      let confidences = try XCTUnwrap(analysis.tokenConfidences)
      for (t, label) in analysis.labels.enumerated() {
        let expected = every.filter {
          convert($0.labels, from: modelScheme, to: dataScheme)[t] == label
        }.reduce(0) { $0 + ($1.probability ?? .nan) }
        XCTAssertEqual(
          confidences[t], expected, accuracy: accuracy, "\(name), \(tokens), token \(t)")
      }
      // The sequence's probability is its own path's, as without a conversion.
      let path = try XCTUnwrap(every.first { $0.labels == twin.analyze([tokens])[0].labels })
      if head == .crf || !constrained {
        try XCTAssertEqual(
          XCTUnwrap(analysis.sequenceProbability), XCTUnwrap(path.probability),
          accuracy: accuracy, "\(name), \(tokens)")
      }
    }
  }

  /// `outputLabels` of a BIOES model answering in BIO are exactly the labels its answers hold
  /// (every sequence of a short sentence, unconstrained, so invalid paths' conversions too),
  /// a span's label is `spanLabels` of its first label, and the model's description (`info
  /// --json`, `GET /v1/model`, `trellis_model_info`) carries both tables.
  func testOutputLabelsAreTheLabelsAnswersHold() throws {
    let model = try bioesModelAnsweringInBIO(seed: 3)
    let options = TaggingOptions(constrained: false, confidence: false, nbest: 1000)
    let answers = model.analyze([["a", "b", "a"], ["b", "a"]], options: options)
    let written = Set(answers.flatMap { $0.alternatives.flatMap(\.labels) })
    XCTAssertEqual(Set(model.outputLabels), written)
    XCTAssertEqual(model.outputLabels.count, written.count, "no label listed twice")
    for answer in answers {
      for span in answer.spans {
        let first = try XCTUnwrap(model.outputLabels.firstIndex(of: answer.labels[span.start]))
        XCTAssertEqual(span.label, model.spanLabels[first])
      }
    }
    let description = ModelDescription(model: model, file: "")
    XCTAssertEqual(description.outputLabels, model.outputLabels)
    XCTAssertEqual(description.spanLabels, model.spanLabels)
    XCTAssertNotEqual(description.labels, description.outputLabels)
    XCTAssertTrue(description.definesProbabilities)
  }

  /// Only a conversion a token at a time groups labels; to IOB1 a printed label depends on
  /// the one before, and without a conversion each label is its own.
  func testOnlyBIOESToBIOGroupsLabels() throws {
    let labels = ["O", "B-a", "I-a", "E-a", "S-a"]
    let groups = try XCTUnwrap(TaggerModel.sameOutputGroups(labels: labels, from: .bioes, to: .bio))
    XCTAssertEqual(groups, [[0], [1, 4], [2, 3], [2, 3], [1, 4]])
    XCTAssertNil(TaggerModel.sameOutputGroups(labels: labels, from: .bioes, to: .iob1))
    XCTAssertNil(TaggerModel.sameOutputGroups(labels: labels, from: nil, to: .bioes))
    XCTAssertNil(TaggerModel.sameOutputGroups(labels: ["O", "B-a", "I-a"], from: .bio, to: .bioes))
  }

  /// The same where the scaled recursions are not trusted and log space answers: a start score
  /// of −400 for O (allowed, so its spread of 400 fails `scaledRecursionsFit`), the other head
  /// weights in ±1, so that B-a and S-a, which both print B-a, share the mass. A token's
  /// confidence must still sum the labels printed as its own.
  func testGroupedLabelsConfidenceIsTheirTotalProbabilityInLogSpace() throws {
    for seed in 1...3 {
      let model = try bioesModelAnsweringInBIO(seed: UInt64(seed))
      var rng = SplitMix64(seed: UInt64(seed))
      let head = model.store.value(model.headSlot)
      for k in 0..<model.headSlot.count { head[k] = 2 * rng.nextUnitFloat() - 1 }
      let crf = try XCTUnwrap(model.head as? CRFHead)
      head[crf.chain.startOffset + 0] = -400
      model.store.didChangeValues()
      XCTAssertFalse(
        crf.chain.scaledRecursionsFit(
          parameters: model.headParameters, constraints: model.constraints(applied: true)))
      let analysis = try analysisListingEverySequence(model)
      let confidences = try XCTUnwrap(analysis.tokenConfidences)
      var grouped = 0
      for (t, label) in analysis.labels.enumerated() {
        XCTAssertEqual(
          confidences[t], probabilityPrinting(label, at: t, in: analysis), accuracy: 1e-9,
          "seed \(seed), token \(t)")
        if label.hasPrefix("B-") || label.hasPrefix("I-") { grouped += 1 }
      }
      XCTAssertGreaterThan(grouped, 0, "seed \(seed): no token printed a grouped label")
    }
  }

  /// A label that can print the token's label but that no forward weight reaches has
  /// probability 0, and its classes' shares are 0 / 0: it must add nothing. BIO printed in
  /// IOB1: B-b's emission −800 at the first token (e^−800 is exactly 0 in Double) and I-b's
  /// forbidden start leave I-b unreachable at the second, where the path O B-b prints I-b, as
  /// I-b after B-b or I-b would. The confidences against every allowed path's probability.
  func testALabelNoForwardWeightReachesAddsNothingToAPrintedConfidence() throws {
    let labels = ["O", "B-a", "I-a", "B-b", "I-b"]
    let L = labels.count
    let head = CRFHead(labelCount: L)
    let constraints = TransitionConstraints(labels: labels, scheme: .bio)
    let printed = PrintedLabels(labels: labels, from: .bio, to: .iob1)
    let θ = [Float](repeating: 0, count: L * L + 2 * L)
    var emissions = [Float](repeating: 0, count: 2 * L)  // (T = 2, L)
    emissions[3] = -800
    let path = [0, 3]
    let allowed = allPaths(length: 2, labels: L).filter {
      constraints.allowedStart[$0[0]] && constraints.allowedTransition[$0[0] * L + $0[1]]
    }
    let weights = allowed.map {
      exp(bruteScore($0, emissions: emissions, transitions: θ, labels: L))
    }
    let total = weights.reduce(0, +)
    let shown = convert(path.map { labels[$0] }, from: .bio, to: .iob1)
    XCTAssertEqual(shown, ["O", "I-b"])
    let confidence = try XCTUnwrap(
      θ.withUnsafeBufferPointer { θ in
        emissions.withUnsafeBufferPointer { e in
          head.printedConfidences(
            of: [path], emissions: [MatrixView(base: e.baseAddress!, rows: 2, columns: L)],
            parameters: θ, constraints: constraints, printed: printed
          ).first
        }
      })
    for t in 0..<2 {
      let expected =
        zip(allowed, weights).filter {
          convert($0.0.map { labels[$0] }, from: .bio, to: .iob1)[t] == shown[t]
        }.reduce(0) { $0 + $1.1 } / total
      XCTAssertEqual(confidence.tokens[t], expected, accuracy: 1e-12, "token \(t)")
    }
  }

  /// A sentence without tokens among others in the printed confidences of a BIO model
  /// answering in IOB1: no token confidences, probability 1 and log Z 0, from the scaled
  /// recursions (head weights in ±2) and from log space (±200, beyond `scaledRecursionsFit`)
  /// alike, and the other sentence the confidences it has alone.
  func testAnEmptySentenceInABatchOfPrintedConfidences() {
    let labels = ["O", "B-a", "I-a", "B-b", "I-b"]
    let L = labels.count
    let head = CRFHead(labelCount: L)
    let constraints = TransitionConstraints(labels: labels, scheme: .bio)
    let printed = PrintedLabels(labels: labels, from: .bio, to: .iob1)
    var rng = SplitMix64(seed: 5)
    let emissions = randomMatrix(rows: 3, columns: L, scale: 2, rng: &rng)
    let path = [0, 1, 2]
    for spread: Float in [2, 200] {
      let θ = randomMatrix(rows: 1, columns: L * L + 2 * L, scale: spread, rng: &rng)
      θ.withUnsafeBufferPointer { θ in
        emissions.withUnsafeBufferPointer { e in
          let view = MatrixView(base: e.baseAddress!, rows: 3, columns: L)
          let empty = MatrixView(base: e.baseAddress!, rows: 0, columns: L)
          XCTAssertEqual(
            head.chain.scaledRecursionsFit(parameters: θ, constraints: constraints), spread < 100)
          let batch = head.printedConfidences(
            of: [[], path, []], emissions: [empty, view, empty], parameters: θ,
            constraints: constraints, printed: printed)
          let alone = head.printedConfidences(
            of: [path], emissions: [view], parameters: θ, constraints: constraints,
            printed: printed)[0]
          for b in [0, 2] {
            XCTAssertEqual(
              batch[b], PathConfidence(tokens: [], sequence: 1, logPartition: 0),
              "spread \(spread), sentence \(b)")
          }
          assertClose(
            batch[1].tokens + [batch[1].sequence, batch[1].logPartition!],
            alone.tokens + [alone.sequence, alone.logPartition!], absolute: 1e-12,
            relative: 1e-12, "spread \(spread)")
        }
      }
    }
  }
}
