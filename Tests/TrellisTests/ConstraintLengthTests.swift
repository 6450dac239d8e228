import XCTest

@testable import Trellis

/// Sentence lengths that a label set's constraints admit no path of, and how tagging treats
/// them (issue 11, item 7: such sentences had a −∞ path and NaN confidences).
final class ConstraintLengthTests: XCTestCase {
  let pool = ["O", "B-a", "I-a", "E-a", "S-a", "B-b", "I-b", "E-b", "S-b"]

  /// Every allowed path of `length`, by enumerating all `L^length` label sequences.
  func enumeratedPathExists(_ constraints: TransitionConstraints, length: Int) -> Bool {
    let L = constraints.labelCount
    var path = [Int](repeating: 0, count: length)
    while true {
      let allowed =
        constraints.allowedStart[path[0]] && constraints.allowedEnd[path[length - 1]]
        && (1..<length).allSatisfy { constraints.allowedTransition[path[$0 - 1] * L + path[$0]] }
      if allowed { return true }
      // Next sequence, as an odometer in base L.
      var position = length - 1
      while position >= 0 && path[position] == L - 1 {
        path[position] = 0
        position -= 1
      }
      if position < 0 { return false }
      path[position] += 1
    }
  }

  func testAdmittedLengthsMatchEnumeration() {
    var rng = SplitMix64(seed: 11)
    for trial in 0..<40 {
      let labels = pool.filter { _ in rng.nextUnitDouble() < 0.5 }
      guard !labels.isEmpty, labels.count <= 6 else { continue }
      for scheme in [TagScheme.bio, .bioes] {
        let constraints = TransitionConstraints(labels: labels, scheme: scheme)
        for length in 1...6 {
          XCTAssertEqual(
            constraints.admitsPath(length: length),
            enumeratedPathExists(constraints, length: length),
            "trial \(trial): \(labels) \(scheme) length \(length)")
        }
      }
    }
  }

  /// Beyond the enumerated lengths, the folded answer equals the reachable-set recurrence run
  /// out to each length: `B-a E-a` in BIOES admits even lengths only, forever.
  func testAdmittedLengthsRepeatAsTheRecurrenceDoes() {
    for labels in [["B-a", "E-a"], ["B-a", "I-a", "E-a"], ["I-a", "E-a"], ["O", "S-b"]] {
      let constraints = TransitionConstraints(labels: labels, scheme: .bioes)
      let L = labels.count
      var reach = constraints.allowedStart
      for length in 1...40 {
        let expected = zip(reach, constraints.allowedEnd).contains { $0 && $1 }
        XCTAssertEqual(constraints.admitsPath(length: length), expected, "\(labels) \(length)")
        reach = (0..<L).map { j in
          (0..<L).contains { reach[$0] && constraints.allowedTransition[$0 * L + j] }
        }
      }
    }
    let evenOnly = TransitionConstraints(labels: ["B-a", "E-a"], scheme: .bioes)
    XCTAssertEqual(
      (1...8).map { evenOnly.admitsPath(length: $0) },
      [
        false, true, false, true,
        false, true, false, true,
      ])
  }

  /// A BIOES model whose labels admit no 1-token path tags 1-token sentences without
  /// constraints: finite confidences and n-best scores, the unconstrained labels; longer
  /// sentences in the same call keep their constrained decoding.
  func testSentencesWithNoAllowedPathAreDecodedWithoutConstraints() throws {
    let base = makeModel(labels: ["B-a", "E-a"], seed: 5)
    let model = { (constrainedDecoding: Bool) -> TaggerModel in
      var configuration = base.configuration
      configuration.trainingScheme = .bioes
      configuration.constrainedDecoding = constrainedDecoding
      let model = try TaggerModel(
        configuration: configuration, words: base.words, labels: base.labels)
      model.store.restore(base.store.snapshot())
      return model
    }
    let (constrained, free) = (try model(true), try model(false))
    let sentences = [["w2"], ["w3", "w4"], ["w5"]]
    var options = TaggingOptions()
    options.confidence = true
    options.nbest = 3
    let analyses = constrained.analyze(sentences, options: options)
    let freeAnalyses = free.analyze(sentences, options: options)
    for index in [0, 2] {
      let analysis = analyses[index]
      XCTAssertEqual(analysis.labels, freeAnalyses[index].labels)
      XCTAssertTrue(analysis.tokenConfidences?.allSatisfy(\.isFinite) == true, "\(analysis)")
      XCTAssertTrue(analysis.sequenceProbability?.isFinite == true, "\(analysis)")
      XCTAssertFalse(analysis.alternatives.isEmpty)
      XCTAssertTrue(analysis.alternatives.allSatisfy { $0.score.isFinite })
      let request = try TaggingRequest(jsonLine: "{\"tokens\":[\"\(sentences[index][0])\"]}")
      XCTAssertNoThrow(try TaggingResponse(request: request, analysis: analysis).jsonLine())
    }
    // The 2-token sentence has one allowed path, B-a E-a (answered in BIO: B-a I-a).
    XCTAssertEqual(analyses[1].labels, ["B-a", "I-a"])
    XCTAssertEqual(analyses[1].alternatives.count, 1)
  }

  /// `init?(chunkLabels:scheme:)` is nil unless every label is a chunk label: a part-of-speech
  /// tag set has no scheme, and read as one it would forbid its tags (each read as not a label
  /// of the scheme, which no transition may reach).
  func testConstraintsOfLabelsThatAreNotAllChunkLabelsAreNil() {
    XCTAssertNil(TransitionConstraints(chunkLabels: ["NN", "VB", "DT"], scheme: .bio))
    XCTAssertNil(TransitionConstraints(chunkLabels: ["O", "B-a", "PER"], scheme: .bioes))
    XCTAssertEqual(
      TransitionConstraints(chunkLabels: ["O", "B-a", "I-a"], scheme: .bio),
      TransitionConstraints(labels: ["O", "B-a", "I-a"], scheme: .bio))
  }
}
