import ConllEval
import XCTest

/// SplitMix64: a small seeded generator, so that the random sequences are the same on every run.
struct SplitMix64: RandomNumberGenerator {
  var state: UInt64

  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
}

/// Random non-overlapping chunks over `length` tokens, often adjacent and of one type, so that
/// IOB1's B- and BIOES's S- both occur.
private func randomChunks(length: Int, using generator: inout SplitMix64) -> [Chunk] {
  let types = ["PER", "LOC", "fromloc.city_name", "a-b"]
  var result: [Chunk] = []
  var position = Int.random(in: 0...2, using: &generator)
  while position < length {
    let end = min(length, position + Int.random(in: 1...3, using: &generator))
    result.append(Chunk(type: types.randomElement(using: &generator)!, start: position, end: end))
    position = end + (Bool.random(using: &generator) ? 0 : Int.random(in: 1...2, using: &generator))
  }
  return result
}

/// The labels of `chunks` in `scheme`, written from the scheme definitions (the oracle for
/// `convert`).
private func labels(of chunks: [Chunk], length: Int, scheme: TagScheme) -> [String] {
  var labels = Array(repeating: "O", count: length)
  for (index, chunk) in chunks.enumerated() {
    let followsSameType =
      index > 0 && chunks[index - 1].end == chunk.start && chunks[index - 1].type == chunk.type
    for position in chunk.start..<chunk.end {
      let first = position == chunk.start
      let last = position == chunk.end - 1
      let prefix: String
      switch scheme {
      case .iob1: prefix = first && followsSameType ? "B" : "I"
      case .bio: prefix = first ? "B" : "I"
      case .bioes: prefix = first && last ? "S" : first ? "B" : last ? "E" : "I"
      }
      labels[position] = prefix + "-" + chunk.type
    }
  }
  return labels
}

final class TagSchemeTests: XCTestCase {
  func testConversionsBetweenAllSchemesOnRandomSequences() {
    var generator = SplitMix64(state: 2026)
    for _ in 0..<500 {
      let length = Int.random(in: 0...12, using: &generator)
      let chunks = randomChunks(length: length, using: &generator)
      for from in TagScheme.allCases {
        let source = labels(of: chunks, length: length, scheme: from)
        for to in TagScheme.allCases {
          let converted = convert(source, from: from, to: to)
          XCTAssertEqual(
            converted, labels(of: chunks, length: length, scheme: to), "\(source) \(from) -> \(to)")
          XCTAssertEqual(
            convert(converted, from: to, to: from), source, "\(source) \(from) -> \(to) -> \(from)")
        }
      }
    }
  }

  func testRandomValidSequencesHaveNoInvalidTransitions() {
    var generator = SplitMix64(state: 7)
    for _ in 0..<500 {
      let length = Int.random(in: 0...12, using: &generator)
      let chunks = randomChunks(length: length, using: &generator)
      for scheme in TagScheme.allCases {
        let sequence = labels(of: chunks, length: length, scheme: scheme)
        XCTAssertEqual(
          invalidTransitionCount(sequence, scheme: scheme), 0, "\(sequence) in \(scheme)")
      }
    }
  }

  func testConllevalChunksAndCountsMatchRandomBIOAndIOB1() {
    // For valid IOB1 and BIO, conlleval's reading must give back the generated chunks, and its
    // correct count must be the number of chunks present in both gold and prediction.
    var generator = SplitMix64(state: 42)
    for scheme in [TagScheme.iob1, .bio] {
      var counts = ConllCounts()
      var expected = (gold: 0, predicted: 0, correct: 0)
      for _ in 0..<300 {
        let length = Int.random(in: 0...10, using: &generator)
        let gold = randomChunks(length: length, using: &generator)
        let predicted = randomChunks(length: length, using: &generator)
        let goldLabels = labels(of: gold, length: length, scheme: scheme)
        XCTAssertEqual(chunks(in: goldLabels), gold, "\(goldLabels)")
        counts.add(
          gold: goldLabels, predicted: labels(of: predicted, length: length, scheme: scheme))
        expected.gold += gold.count
        expected.predicted += predicted.count
        expected.correct += Set(gold).intersection(predicted).count
      }
      XCTAssertEqual(counts.goldChunkCount, expected.gold, "\(scheme)")
      XCTAssertEqual(counts.predictedChunkCount, expected.predicted, "\(scheme)")
      XCTAssertEqual(counts.correctChunkCount, expected.correct, "\(scheme)")
      XCTAssertGreaterThan(expected.correct, 0)
      XCTAssertLessThan(expected.correct, expected.gold)
    }
  }

  /// Read in their scheme, valid sequences of every scheme give back their chunks; conlleval's
  /// rules, which know no S-, merge BIOES's adjacent chunks of one type ("S-X S-X" is one).
  func testChunksInTheirSchemeOnRandomSequences() {
    var generator = SplitMix64(state: 49)
    var merged = 0
    for _ in 0..<500 {
      let length = Int.random(in: 0...12, using: &generator)
      let generated = randomChunks(length: length, using: &generator)
      for scheme in TagScheme.allCases {
        let sequence = labels(of: generated, length: length, scheme: scheme)
        XCTAssertEqual(chunks(in: sequence, scheme: scheme), generated, "\(sequence) in \(scheme)")
      }
      let bioes = labels(of: generated, length: length, scheme: .bioes)
      if chunks(in: bioes) != generated { merged += 1 }
    }
    XCTAssertGreaterThan(merged, 0, "no sequence told the two readings apart")
    XCTAssertEqual(
      chunks(in: ["S-X", "S-X"], scheme: .bioes),
      [Chunk(type: "X", start: 0, end: 1), Chunk(type: "X", start: 1, end: 2)])
    XCTAssertEqual(chunks(in: ["S-X", "S-X"]), [Chunk(type: "X", start: 0, end: 2)])
  }

  func testConvertReadsInvalidSequencesLeniently() {
    XCTAssertEqual(
      convert(["I-X", "I-X", "O", "I-Y"], from: .bio, to: .bioes), ["B-X", "E-X", "O", "S-Y"])
    XCTAssertEqual(
      convert(["B-X", "I-Y", "E-Y", "E-Y"], from: .bioes, to: .bio), ["B-X", "B-Y", "I-Y", "B-Y"])
    XCTAssertEqual(
      convert(["E-X", "I-X", "S-X", "O"], from: .bioes, to: .iob1), ["I-X", "B-X", "B-X", "O"])
    XCTAssertEqual(convert(["I-X", "weird", "I-X"], from: .iob1, to: .bio), ["B-X", "O", "B-X"])
  }

  func testConvertedLabelsHoldEveryLabelConvertWrites() {
    var generator = SplitMix64(state: 11)
    for _ in 0..<300 {
      let length = Int.random(in: 0...12, using: &generator)
      let chunks = randomChunks(length: length, using: &generator)
      for from in TagScheme.allCases {
        // Invalid sequences too: a shuffle breaks the scheme's transitions.
        let source = labels(of: chunks, length: length, scheme: from).shuffled(using: &generator)
        for to in TagScheme.allCases {
          let table = Set(convertedLabels(source + ["weird"], to: to).map { ExactString($0) })
          let written = convert(source, from: from, to: to).map { ExactString($0) }
          XCTAssertTrue(Set(written).isSubset(of: table), "\(source) \(from) -> \(to)")
        }
      }
    }
  }

  func testConvertedLabelsListEachTypeOnceWithTheSchemesPrefixes() {
    let labels = ["O", "B-X", "I-X", "S-a-b", "weird", "E-X", "I-\u{E9}", "I-e\u{301}"]
    XCTAssertEqual(
      convertedLabels(labels, to: .bio).map { ExactString($0) },
      ["O", "B-X", "I-X", "B-a-b", "I-a-b", "B-\u{E9}", "I-\u{E9}", "B-e\u{301}", "I-e\u{301}"])
    XCTAssertEqual(
      convertedLabels(["B-X", "O"], to: .bioes), ["O", "B-X", "I-X", "E-X", "S-X"])
    XCTAssertEqual(convertedLabels([], to: .iob1), ["O"])
  }

  func testConvertToTheSameSchemeKeepsTheLabels() {
    XCTAssertEqual(convert(["I-X", "O", "E-Y"], from: .bio, to: .bio), ["I-X", "O", "E-Y"])
  }

  func testDetectScheme() {
    XCTAssertEqual(detectScheme([]), .bio)
    XCTAssertEqual(detectScheme([["O", "O"]]), .bio)
    XCTAssertEqual(detectScheme([["B-X", "I-X", "O", "B-Y"], ["B-X", "B-X", "I-X"]]), .bio)
    XCTAssertEqual(detectScheme([["B-X", "I-X"], ["O", "I-Y"]]), .iob1)
    XCTAssertEqual(detectScheme([["I-X"]]), .iob1)
    XCTAssertEqual(detectScheme([["B-X", "I-Y"]]), .iob1)
    XCTAssertEqual(detectScheme([["B-X"], ["I-X"]]), .iob1, "a sentence start breaks the chunk")
    XCTAssertEqual(detectScheme([["I-X", "B-X", "I-X"]]), .iob1)
    // A BIO corpus with one slip (an I- that starts a chunk) stays BIO; an IOB1 corpus whose
    // B- labels split adjacent chunks stays IOB1.
    let slip = [["B-X", "I-X", "O"], ["O", "I-Y"], ["B-Z"], ["B-W", "I-W", "B-W"]]
    XCTAssertEqual(detectScheme(slip), .bio)
    XCTAssertEqual(detectScheme([["I-X", "B-X"], ["I-Y", "O", "I-Z"], ["I-W", "I-W"]]), .iob1)
    XCTAssertEqual(detectScheme([["I-X"], ["B-Y", "E-Y"]]), .bioes)
    XCTAssertEqual(detectScheme([["O", "S-X"]]), .bioes)
    // One S- or E- slip in a BIO or IOB1 corpus leaves it in its scheme: read as BIOES, each
    // of its B- or I- chunks broke BIOES's rules, and its model found no chunk.
    for slipped in ["S-Y", "E-Y"] {
      XCTAssertEqual(detectScheme(slip + [["O", slipped, "O"]]), .bio, slipped)
      XCTAssertEqual(
        detectScheme([["I-X", "B-X"], ["I-Y", "O", slipped], ["I-W", "I-W"]]), .iob1, slipped)
    }
  }

  func testDetectSchemeOnRandomCorpora() {
    var generator = SplitMix64(state: 99)
    let corpus = (0..<50).map { _ in randomChunks(length: 8, using: &generator) }
    for scheme in TagScheme.allCases {
      XCTAssertEqual(detectScheme(corpus.map { labels(of: $0, length: 8, scheme: scheme) }), scheme)
    }
  }

  /// The table of every pair, each label read once, against the rule asked pair by pair:
  /// labels of every prefix, types differing only in their bytes, and labels of no scheme.
  func testAllowedTransitionsTableMatchesPairwiseRule() {
    let pool = [
      "O", "B-X", "I-X", "E-X", "S-X", "B-Y", "I-Y", "B-caf\u{E9}", "I-cafe\u{301}", "I-caf\u{E9}",
      "B-", "PER", "0", "B-a-b", "I-a-b", "S-Y", "E-Y",
    ]
    var generator = SplitMix64(state: 17)
    for _ in 0..<200 {
      let labels = (0..<Int.random(in: 1...9, using: &generator)).map { _ in
        pool.randomElement(using: &generator)!
      }
      for scheme in TagScheme.allCases {
        let pairwise = labels.flatMap { previous in
          labels.map { isAllowedTransition(from: previous, to: $0, scheme: scheme) }
        }
        XCTAssertEqual(allowedTransitions(among: labels, scheme: scheme), pairwise, "\(labels)")
      }
    }
  }

  func testBIOTransitions() {
    XCTAssertTrue(isAllowedTransition(from: nil, to: "B-X", scheme: .bio))
    XCTAssertTrue(isAllowedTransition(from: nil, to: "O", scheme: .bio))
    XCTAssertFalse(isAllowedTransition(from: nil, to: "I-X", scheme: .bio))
    XCTAssertFalse(isAllowedTransition(from: "O", to: "I-X", scheme: .bio))
    XCTAssertTrue(isAllowedTransition(from: "B-X", to: "I-X", scheme: .bio))
    XCTAssertTrue(isAllowedTransition(from: "I-X", to: "I-X", scheme: .bio))
    XCTAssertFalse(isAllowedTransition(from: "B-Y", to: "I-X", scheme: .bio))
    XCTAssertFalse(isAllowedTransition(from: "I-Y", to: "I-X", scheme: .bio))
    XCTAssertTrue(isAllowedTransition(from: "I-Y", to: "B-X", scheme: .bio))
    XCTAssertTrue(isAllowedTransition(from: "I-Y", to: "O", scheme: .bio))
    XCTAssertFalse(isAllowedTransition(from: "O", to: "S-X", scheme: .bio))
    XCTAssertFalse(isAllowedTransition(from: "O", to: "E-X", scheme: .bio))
    XCTAssertFalse(isAllowedTransition(from: "O", to: "B-", scheme: .bio))
    XCTAssertFalse(isAllowedTransition(from: "O", to: "PER", scheme: .bio))
  }

  func testIOB1Transitions() {
    XCTAssertTrue(isAllowedTransition(from: nil, to: "I-X", scheme: .iob1))
    XCTAssertTrue(isAllowedTransition(from: "O", to: "I-X", scheme: .iob1))
    XCTAssertTrue(isAllowedTransition(from: "I-Y", to: "I-X", scheme: .iob1))
    XCTAssertTrue(isAllowedTransition(from: "I-X", to: "B-X", scheme: .iob1))
    XCTAssertTrue(isAllowedTransition(from: "B-X", to: "B-X", scheme: .iob1))
    XCTAssertFalse(isAllowedTransition(from: nil, to: "B-X", scheme: .iob1))
    XCTAssertFalse(isAllowedTransition(from: "O", to: "B-X", scheme: .iob1))
    XCTAssertFalse(isAllowedTransition(from: "I-Y", to: "B-X", scheme: .iob1))
    XCTAssertFalse(isAllowedTransition(from: "O", to: "S-X", scheme: .iob1))
  }

  func testBIOESTransitions() {
    for start in [nil, "O", "E-Y", "S-Y"] {
      XCTAssertTrue(isAllowedTransition(from: start, to: "O", scheme: .bioes))
      XCTAssertTrue(isAllowedTransition(from: start, to: "B-X", scheme: .bioes))
      XCTAssertTrue(isAllowedTransition(from: start, to: "S-X", scheme: .bioes))
      XCTAssertFalse(isAllowedTransition(from: start, to: "I-X", scheme: .bioes))
      XCTAssertFalse(isAllowedTransition(from: start, to: "E-X", scheme: .bioes))
    }
    for inside in ["B-X", "I-X"] {
      XCTAssertTrue(isAllowedTransition(from: inside, to: "I-X", scheme: .bioes))
      XCTAssertTrue(isAllowedTransition(from: inside, to: "E-X", scheme: .bioes))
      XCTAssertFalse(isAllowedTransition(from: inside, to: "I-Y", scheme: .bioes))
      XCTAssertFalse(isAllowedTransition(from: inside, to: "E-Y", scheme: .bioes))
      XCTAssertFalse(isAllowedTransition(from: inside, to: "O", scheme: .bioes))
      XCTAssertFalse(isAllowedTransition(from: inside, to: "B-X", scheme: .bioes))
      XCTAssertFalse(isAllowedTransition(from: inside, to: "S-X", scheme: .bioes))
    }
  }

  func testAllowedEnds() {
    XCTAssertFalse(isAllowedEnd("B-X", scheme: .bioes))
    XCTAssertFalse(isAllowedEnd("I-X", scheme: .bioes))
    XCTAssertTrue(isAllowedEnd("E-X", scheme: .bioes))
    XCTAssertTrue(isAllowedEnd("S-X", scheme: .bioes))
    XCTAssertTrue(isAllowedEnd("O", scheme: .bioes))
    XCTAssertTrue(isAllowedEnd("B-X", scheme: .bio))
    XCTAssertTrue(isAllowedEnd("I-X", scheme: .iob1))
  }

  func testInvalidTransitionCount() {
    XCTAssertEqual(invalidTransitionCount([], scheme: .bioes), 0)
    XCTAssertEqual(invalidTransitionCount(["I-X"], scheme: .bio), 1)
    XCTAssertEqual(invalidTransitionCount(["O", "I-X", "I-X", "B-Y", "I-X"], scheme: .bio), 2)
    XCTAssertEqual(invalidTransitionCount(["S-X", "PER", "O"], scheme: .bio), 2)
    XCTAssertEqual(invalidTransitionCount(["B-X", "I-X", "B-X", "B-Y"], scheme: .iob1), 2)
    XCTAssertEqual(invalidTransitionCount(["B-X"], scheme: .bioes), 1, "B- cannot end a sentence")
    XCTAssertEqual(invalidTransitionCount(["I-X"], scheme: .bioes), 2, "nor start one, nor end it")
    XCTAssertEqual(invalidTransitionCount(["B-X", "O", "E-X"], scheme: .bioes), 2)
    XCTAssertEqual(invalidTransitionCount(["B-X", "I-X", "E-X", "S-X", "O"], scheme: .bioes), 0)
  }
}
