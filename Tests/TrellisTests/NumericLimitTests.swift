import XCTest

@testable import Trellis

/// Numbers at their limits: huge n-best lists, n-best after scheme conversion, and the bound on
/// how much batching may move confidences.
final class NumericLimitTests: XCTestCase {
  /// k at the documented cap on a 40-token, 12-label sentence: list Viterbi with merged heaps
  /// returns k distinct paths, best first, each scored exactly (the insertion version took
  /// O(T·L²·k²) and did not finish such a call).
  func testNBestAtTheCapIsDistinctSortedAndExact() {
    var rng = SplitMix64(seed: 21)
    let T = 40
    let L = 12
    let k = TaggingOptions.nbestLimit
    let chain = LinearChain(labelCount: L)
    let emissions = randomMatrix(rows: T, columns: L, scale: 2, rng: &rng)
    let θ = randomMatrix(rows: 1, columns: chain.parameterCount, rng: &rng)
    emissions.withUnsafeBufferPointer { e in
      θ.withUnsafeBufferPointer { θ in
        let view = MatrixView(base: e.baseAddress!, rows: T, columns: L)
        let best = chain.nBest(k, emissions: view, parameters: θ)
        XCTAssertEqual(best.count, k)
        XCTAssertEqual(Set(best.map(\.path)).count, k, "paths repeat")
        XCTAssertEqual(
          best.first?.path, chain.referenceViterbi(emissions: view, parameters: θ).path)
        for (higher, lower) in zip(best, best.dropFirst()) {
          XCTAssertGreaterThanOrEqual(higher.score, lower.score)
        }
        for entry in best.prefix(50) {
          XCTAssertEqual(
            entry.score, chain.score(of: entry.path, emissions: view, parameters: θ), accuracy: 1e-9
          )
        }
      }
    }
  }

  /// A BIOES model decoded without constraints: `S-a` and `B-a` convert to the same BIO label,
  /// so the raw list repeats BIO sequences; the analysis still lists k distinct ones.
  func testNBestIsDistinctAfterSchemeConversion() throws {
    var configuration = TaggerConfiguration()
    (configuration.embeddingSize, configuration.hiddenSize) = (3, 2)
    configuration.scheme = .bio
    configuration.trainingScheme = .bioes
    configuration.constrainedDecoding = false
    var rng = SplitMix64(seed: 5)
    let model = try TaggerModel(
      configuration: configuration, words: Vocabulary(["<pad>", "<unk>", "a", "b"]),
      labels: Vocabulary(["O", "B-a", "I-a", "E-a", "S-a"]), rng: &rng)
    let analyses = model.analyze(
      [["a", "b", "a"]], options: TaggingOptions(constrained: false, nbest: 10))
    let lists = analyses[0].alternatives.map(\.labels)
    XCTAssertEqual(lists.count, 10)
    XCTAssertEqual(Set(lists).count, lists.count, "BIO sequences repeat: \(lists)")
    // At the cap, with 3^7 BIO sequences to choose from: up to `nbestSearchLimit` paths are
    // searched, and the list is the first k distinct sequences among them, cut short (and
    // saying so) when they hold fewer.
    let k = TaggingOptions.nbestLimit
    let (T, L) = (7, 5)
    let emissions = randomMatrix(rows: T, columns: L, scale: 1, rng: &rng)
    emissions.withUnsafeBufferPointer { e in
      let view = MatrixView(base: e.baseAddress!, rows: T, columns: L)
      let found = model.distinctBest(k, emissions: view, constraints: nil)
      let searched = model.head.nBest(
        TaggingOptions.nbestSearchLimit, emissions: view, parameters: model.headParameters,
        constraints: nil)
      var seen = Set<[String]>()
      let expected = searched.filter { seen.insert(model.outputLabels($0.path)).inserted }
      XCTAssertEqual(found.paths, Array(expected.prefix(k)))
      XCTAssertEqual(found.truncated, expected.count < k)
    }
  }

  /// A sentence too long for k keeps at most `entryLimit` list-Viterbi entries: its list is
  /// cut to ⌊entryLimit / (T·L)⌋ sequences, the best ones of the uncut list, in its order, and
  /// says it was cut; a list short because no more sequences exist does not.
  func testNBestOfALongSentenceIsCutToFitTheEntryLimit() throws {
    var configuration = TaggerConfiguration()
    (configuration.embeddingSize, configuration.hiddenSize) = (3, 2)
    var rng = SplitMix64(seed: 8)
    let model = try TaggerModel(
      configuration: configuration, words: Vocabulary(["<pad>", "<unk>", "a"]),
      labels: Vocabulary(["O", "B-a", "I-a", "B-b", "I-b"]), rng: &rng)
    let (T, L) = (30, 5)
    let emissions = randomMatrix(rows: T, columns: L, scale: 2, rng: &rng)
    emissions.withUnsafeBufferPointer { e in
      let view = MatrixView(base: e.baseAddress!, rows: T, columns: L)
      let whole = model.distinctBest(50, emissions: view, constraints: nil)
      XCTAssertEqual(whole.paths.count, 50)
      XCTAssertFalse(whole.truncated)
      let cut = model.distinctBest(50, emissions: view, constraints: nil, entryLimit: T * L * 7 + 3)
      XCTAssertEqual(cut.paths, Array(whole.paths.prefix(7)))
      XCTAssertTrue(cut.truncated)
      let least = model.distinctBest(50, emissions: view, constraints: nil, entryLimit: 1)
      XCTAssertEqual(least.paths, Array(whole.paths.prefix(1)), "at least the best sequence")
      XCTAssertTrue(least.truncated)
      // One token has L sequences: a list of L for 50 asked is whole, not cut.
      let oneToken = MatrixView(base: e.baseAddress!, rows: 1, columns: L)
      let all = model.distinctBest(50, emissions: oneToken, constraints: nil)
      XCTAssertEqual(all.paths.count, L)
      XCTAssertFalse(all.truncated)
    }
  }

  /// Batching changes the order of floating-point sums inside the BLAS products, so emissions
  /// (and so confidences) may differ in the last bits between batch sizes; labels may not, and
  /// confidences stay within the documented bound of 1e-4.
  func testBatchSizeMovesConfidencesByLessThanTheBound() throws {
    let model = try ConcurrencyTests.loaded.get()
    let sentences = ConcurrencyTests.sentences
    let one = model.analyze(sentences, options: TaggingOptions(confidence: true, batchSize: 1))
    let many = model.analyze(sentences, options: TaggingOptions(confidence: true, batchSize: 32))
    XCTAssertEqual(one.map(\.labels), many.map(\.labels))
    var worst = 0.0
    for (a, b) in zip(one, many) {
      for (x, y) in zip(a.tokenConfidences ?? [], b.tokenConfidences ?? []) {
        worst = max(worst, abs(x - y))
      }
    }
    XCTAssertLessThanOrEqual(
      worst, TaggingOptions.confidenceBatchTolerance, "largest difference \(worst)")
  }
}
