import XCTest

@testable import ConllEval
@testable import Trellis

/// Confidences of a model trained in another scheme than its data's are those of the labels
/// printed: a BIOES model answering in BIO prints B-a for its B-a and S-a alike, so the
/// printed label's probability is the sum of both marginals.
final class ConvertedConfidenceTests: XCTestCase {
  /// Against enumeration: with constraints every BIO sequence is one BIOES path, so the
  /// n-best list of a short sentence holds every printed sequence with its probability, and a
  /// token's confidence must be the total probability of the sequences printing its label.
  func testPrintedLabelsConfidenceIsTheirTotalProbability() throws {
    var configuration = TaggerConfiguration()
    (configuration.embeddingSize, configuration.hiddenSize) = (3, 2)
    configuration.scheme = .bio
    configuration.trainingScheme = .bioes
    for seed in 1...5 {
      var rng = SplitMix64(seed: UInt64(seed))
      let model = try TaggerModel(
        configuration: configuration, words: Vocabulary(["<pad>", "<unk>", "a", "b"]),
        labels: Vocabulary(["O", "B-a", "I-a", "E-a", "S-a", "B-b", "E-b", "S-b"]), rng: &rng)
      let analysis = model.analyze(
        [["a", "b", "a", "b"]], options: TaggingOptions(confidence: true, nbest: 1000))[0]
      XCTAssertFalse(analysis.alternativesTruncated)
      let total = analysis.alternatives.reduce(0) { $0 + ($1.probability ?? .nan) }
      XCTAssertEqual(total, 1, accuracy: 1e-9, "the list holds every sequence")
      let confidences = try XCTUnwrap(analysis.tokenConfidences)
      for (t, label) in analysis.labels.enumerated() {
        let printing = analysis.alternatives.filter { $0.labels[t] == label }
        let expected = printing.reduce(0) { $0 + ($1.probability ?? .nan) }
        XCTAssertEqual(confidences[t], expected, accuracy: 1e-9, "seed \(seed), token \(t)")
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
    var configuration = TaggerConfiguration()
    (configuration.embeddingSize, configuration.hiddenSize) = (3, 2)
    (configuration.scheme, configuration.trainingScheme) = (.bio, .bioes)
    var rng = SplitMix64(seed: 3)
    let model = try TaggerModel(
      configuration: configuration, words: Vocabulary(["<pad>", "<unk>", "a", "b"]),
      labels: Vocabulary(["O", "B-a", "I-a", "E-a", "S-a", "B-b", "E-b", "S-b"]), rng: &rng)
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
}
