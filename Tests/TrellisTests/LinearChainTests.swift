import XCTest

@testable import Trellis

/// Every dynamic program of the chain heads against enumeration of all L^T paths, for
/// L ∈ {2, 3} and T ∈ {1, …, 4}, on seeded random scores. The oracle sums in Double; inputs are
/// Float, so 1e-9 relative is the right tolerance for exact DP and 1e-12 would be too tight.
final class LinearChainTests: XCTestCase {
  struct Case {
    let L: Int, T: Int
    let emissions: [Float]  // (T, L)
    let parameters: [Float]  // (L² + 2L)
    let gold: [Int]
  }

  func cases() -> [Case] {
    var rng = SplitMix64(seed: 11)
    var result: [Case] = []
    for L in [2, 3] {
      for T in 1...4 {
        for _ in 0..<3 {
          result.append(
            Case(
              L: L, T: T, emissions: randomMatrix(rows: T, columns: L, scale: 2, rng: &rng),
              parameters: randomMatrix(rows: 1, columns: L * L + 2 * L, scale: 2, rng: &rng),
              gold: (0..<T).map { _ in Int(rng.next() % UInt64(L)) }))
        }
      }
    }
    return result
  }

  func withViews<R>(_ c: Case, _ body: (MatrixView, UnsafeBufferPointer<Float>) -> R) -> R {
    c.emissions.withUnsafeBufferPointer { e in
      c.parameters.withUnsafeBufferPointer { θ in
        body(MatrixView(base: e.baseAddress!, rows: c.T, columns: c.L), θ)
      }
    }
  }

  func testLogZAndMarginalsMatchEnumeration() {
    for c in cases() {
      let paths = allPaths(length: c.T, labels: c.L)
      let scores = paths.map {
        bruteScore($0, emissions: c.emissions, transitions: c.parameters, labels: c.L)
      }
      let logZ = log(scores.map { exp($0) }.reduce(0, +))
      var unary = [Double](repeating: 0, count: c.T * c.L)
      var pairwise = [Double](repeating: 0, count: c.L * c.L)
      for (path, score) in zip(paths, scores) {
        let p = exp(score - logZ)
        for t in 0..<c.T {
          unary[t * c.L + path[t]] += p
          if t > 0 { pairwise[path[t - 1] * c.L + path[t]] += p }
        }
      }
      let chain = LinearChain(labelCount: c.L)
      // Both implementations: the log-space reference and the scaled BLAS recursions.
      let reference = withViews(c) { chain.forwardBackward(emissions: $0, parameters: $1) }
      let scaled = withViews(c) {
        chain.scaledForwardBackward(emissions: $0, potentials: chain.potentials(parameters: $1))
      }
      for (name, result) in [("log-space", reference), ("scaled", scaled)] {
        assertClose(
          [result.logZ], [logZ], absolute: 1e-9, relative: 1e-9, "\(name) log Z L=\(c.L) T=\(c.T)")
        assertClose(
          result.unary, unary, absolute: 1e-9, relative: 1e-9, "\(name) unary L=\(c.L) T=\(c.T)")
        assertClose(
          result.pairwise, pairwise, absolute: 1e-9, relative: 1e-9,
          "\(name) pairwise L=\(c.L) T=\(c.T)")
        for t in 0..<c.T {
          XCTAssertEqual(result.unary[(t * c.L)..<((t + 1) * c.L)].reduce(0, +), 1, accuracy: 1e-12)
        }
      }
    }
  }

  func testViterbiAndCostAugmentedViterbiMatchEnumeration() {
    for c in cases() {
      let paths = allPaths(length: c.T, labels: c.L)
      for weight in [0.0, 0.7, 2.5] {
        let augmented = paths.map { path in
          bruteScore(path, emissions: c.emissions, transitions: c.parameters, labels: c.L)
            + weight * Double(zip(path, c.gold).filter { $0 != $1 }.count)
        }
        let best = augmented.indices.max { augmented[$0] < augmented[$1] }!
        let chain = LinearChain(labelCount: c.L)
        let augmentation = weight > 0 ? (c.gold, weight) : nil
        let fast = withViews(c) {
          chain.viterbi(emissions: $0, parameters: $1, costAugmentation: augmentation)
        }
        let reference = withViews(c) {
          chain.referenceViterbi(emissions: $0, parameters: $1, costAugmentation: augmentation)
        }
        for result in [fast, reference] {
          XCTAssertEqual(result.path, paths[best], "L=\(c.L) T=\(c.T) cost \(weight)")
          XCTAssertEqual(result.score, augmented[best], accuracy: 1e-9)
        }
      }
    }
  }

  /// Under each scheme's constraints, every dynamic program against enumeration of the
  /// allowed paths: log Z, marginals and pairwise sums (log-space and scaled, Double and
  /// Float), Viterbi (fast and reference), the n-best list and the confidences of the best
  /// path. The label sets: BIO; BIOES, whose end mask forbids B- and I- (BIO's allows every
  /// label); IOB1, where I- may start a chunk; and BIO without O, whose I-b no path reaches.
  func testConstrainedProgramsMatchEnumerationOfTheAllowedPaths() {
    let constraints = TransitionConstraints(labels: ["O", "B-a", "I-a"], scheme: .bio)
    XCTAssertFalse(constraints.allowedTransition[0 * 3 + 2])
    XCTAssertFalse(constraints.allowedStart[2])
    XCTAssertTrue(constraints.allowedTransition[1 * 3 + 2])
    let labelSets: [(TagScheme, [String])] = [
      (.bio, ["O", "B-a", "I-a"]),
      (.bioes, ["O", "B-a", "I-a", "E-a", "S-a"]),
      (.iob1, ["O", "B-a", "I-a", "B-b", "I-b"]),
      (.bio, ["B-a", "I-a", "I-b"]),
    ]
    var rng = SplitMix64(seed: 31)
    for (scheme, labels) in labelSets {
      let L = labels.count
      let c = TransitionConstraints(labels: labels, scheme: scheme)
      let chain = LinearChain(labelCount: L)
      for T in 1...4 {
        for _ in 0..<3 {
          let name = "\(scheme) \(labels) T=\(T)"
          let emissions = randomMatrix(rows: T, columns: L, scale: 2, rng: &rng)
          let θ = randomMatrix(rows: 1, columns: L * L + 2 * L, scale: 2, rng: &rng)
          let allowed = allPaths(length: T, labels: L).filter { p in
            c.allowedStart[p[0]] && c.allowedEnd[p[T - 1]]
              && zip(p, p.dropFirst()).allSatisfy { c.allowedTransition[$0 * L + $1] }
          }
          XCTAssertEqual(!allowed.isEmpty, c.admitsPath(length: T), name)
          guard !allowed.isEmpty else { continue }
          let scores = allowed.map {
            bruteScore($0, emissions: emissions, transitions: θ, labels: L)
          }
          let logZ = log(scores.map { exp($0) }.reduce(0, +))
          var unary = [Double](repeating: 0, count: T * L)
          var pairwise = [Double](repeating: 0, count: L * L)
          for (path, score) in zip(allowed, scores) {
            for t in 0..<T {
              unary[t * L + path[t]] += exp(score - logZ)
              if t > 0 { pairwise[path[t - 1] * L + path[t]] += exp(score - logZ) }
            }
          }
          let ranked = zip(allowed, scores).sorted { $0.1 > $1.1 }.map(\.0)
          emissions.withUnsafeBufferPointer { e in
            θ.withUnsafeBufferPointer { θ in
              let view = MatrixView(base: e.baseAddress!, rows: T, columns: L)
              let reference = chain.forwardBackward(emissions: view, parameters: θ, constraints: c)
              let scaled = chain.scaledForwardBackward(
                emissions: [view], potentials: chain.potentials(parameters: θ, constraints: c))
              let inFloat = chain.scaledForwardBackward(
                emissions: [view],
                potentials: chain.potentials(Float.self, parameters: θ, constraints: c))
              for (result, tolerance) in [
                ((reference.logZ, reference.unary, reference.pairwise), 1e-9),
                ((scaled.logZ[0], scaled.unary, scaled.pairwise), 1e-9),
                (
                  (
                    inFloat.logZ[0], inFloat.unary.map(Double.init),
                    inFloat.pairwise.map(Double.init)
                  ),
                  1e-5
                ),
              ] {
                assertClose(
                  [result.0], [logZ], absolute: tolerance, relative: tolerance, "\(name) log Z")
                assertClose(result.1, unary, absolute: tolerance, relative: 0, "\(name) marginals")
                assertClose(
                  result.2, pairwise, absolute: tolerance, relative: 0, "\(name) pairwise")
              }
              XCTAssertEqual(
                chain.viterbi(emissions: view, parameters: θ, constraints: c).path, ranked[0], name)
              XCTAssertEqual(
                chain.referenceViterbi(emissions: view, parameters: θ, constraints: c).path,
                ranked[0], name)
              XCTAssertEqual(
                chain.nBest(50, emissions: view, parameters: θ, constraints: c).map(\.path),
                Array(ranked.prefix(50)), name)
              let confidence = CRFHead(labelCount: L).confidences(
                of: [ranked[0]], emissions: [view], parameters: θ, constraints: c, sameOutput: nil)![
                  0]
              let best = scores.max()!
              XCTAssertEqual(confidence.sequence, exp(best - logZ), accuracy: 1e-9, name)
              for t in 0..<T {
                XCTAssertEqual(
                  confidence.tokens[t], unary[t * L + ranked[0][t]], accuracy: 1e-9, name)
              }
            }
          }
        }
      }
    }
  }

  /// Each head's loss against its definition evaluated by enumeration.
  func testHeadLossesMatchEnumeration() {
    for c in cases() {
      let paths = allPaths(length: c.T, labels: c.L)
      let scores = paths.map {
        bruteScore($0, emissions: c.emissions, transitions: c.parameters, labels: c.L)
      }
      let goldScore = bruteScore(
        c.gold, emissions: c.emissions, transitions: c.parameters, labels: c.L)
      let cost = paths.map { path in Double(zip(path, c.gold).filter { $0 != $1 }.count) }
      let l2 = 0.01
      let penalty = c.parameters.map { Double($0) * Double($0) }.reduce(0, +) * l2 / 2
      // The CRF's training loss takes log Z from the Float recursions (FloatRecursionTests):
      // each step's log c carries Float's rounding, so 1e−6 relative; the others are exact DP.
      let expected: [(any StructuredHead, Double, Double)] = [
        (CRFHead(labelCount: c.L), log(scores.map { exp($0) }.reduce(0, +)) - goldScore, 1e-6),
        (PerceptronHead(labelCount: c.L), scores.max()! - goldScore, 1e-9),
        (
          SSVMHead(labelCount: c.L, costWeight: 1.5, l2: l2),
          zip(scores, cost).map { $0 + 1.5 * $1 }.max()! - goldScore + penalty, 1e-9
        ),
      ]
      for (head, value, tolerance) in expected {
        var dE = [Float](repeating: 0, count: c.T * c.L)
        var dθ = [Float](repeating: 0, count: c.parameters.count)
        let loss = withViews(c) { e, θ in
          dE.withUnsafeMutableBufferPointer { dE in
            dθ.withUnsafeMutableBufferPointer { dθ in
              head.lossAndGradient(
                emissions: [e], gold: [c.gold], parameters: θ,
                emissionGradients: [
                  MutableMatrixView(base: dE.baseAddress!, rows: c.T, columns: c.L)
                ],
                parameterGradient: dθ)
            }
          }
        }
        XCTAssertEqual(
          loss, value, accuracy: tolerance * max(1, abs(value)),
          "\(type(of: head)) L=\(c.L) T=\(c.T)")
        XCTAssertGreaterThanOrEqual(loss, -tolerance)
      }
    }
  }

  /// One head of each kind over `L` labels, the SSVM's with an L2 penalty.
  private func everyHead(labels L: Int) -> [any StructuredHead] {
    [
      CRFHead(labelCount: L), PerceptronHead(labelCount: L),
      SSVMHead(labelCount: L, costWeight: 1, l2: 0.01), SoftmaxHead(labelCount: L),
    ]
  }

  /// A batch's loss and gradients are the sums of its sentences' own, for every head, the
  /// SSVM's L2 penalty included (λ/2‖θ‖² and λθ once per sentence): applied once per batch,
  /// it passed every single-sentence check, and `--l2` meant λ/B.
  func testABatchsLossAndGradientsAreItsSentencesSums() {
    let L = 3
    var rng = SplitMix64(seed: 29)
    let sentences = [[0, 1, 1, 2], [2], [1, 0, 2, 2, 0]].map { gold in
      (emissions: randomMatrix(rows: gold.count, columns: L, scale: 2, rng: &rng), gold: gold)
    }
    let parameters = randomMatrix(rows: 1, columns: L * L + 2 * L, scale: 2, rng: &rng)
    for head in everyHead(labels: L) {
      let θ = Array(parameters.prefix(head.parameterCount))
      let batch = headLossAndGradients(head, sentences, parameters: θ, labels: L)
      let alone = sentences.map { headLossAndGradients(head, [$0], parameters: θ, labels: L) }
      let name = "\(type(of: head))"
      XCTAssertEqual(batch.loss, alone.map(\.loss).reduce(0, +), accuracy: 1e-9, name)
      XCTAssertEqual(batch.emissions, alone.map { $0.emissions[0] }, name)
      for k in θ.indices {
        let sum = alone.map { Double($0.parameters[k]) }.reduce(0, +)
        XCTAssertEqual(Double(batch.parameters[k]), sum, accuracy: 1e-5 * max(1, abs(sum)), name)
      }
    }
  }

  /// A sentence without tokens has one path, the empty one: every head's loss and gradients
  /// for a batch holding one are those of the batch without it (the CRF's read its last
  /// token's marginals, at index −1, and trapped; `Trainer.train` took such sentences).
  func testAnEmptySentenceAddsNothingToABatch() {
    let L = 3
    var rng = SplitMix64(seed: 23)
    let sentence = (
      emissions: randomMatrix(rows: 4, columns: L, scale: 2, rng: &rng), gold: [0, 1, 1, 2]
    )
    let parameters = randomMatrix(rows: 1, columns: L * L + 2 * L, scale: 2, rng: &rng)
    for head in everyHead(labels: L) {
      let θ = Array(parameters.prefix(head.parameterCount))
      let alone = headLossAndGradients(head, [sentence], parameters: θ, labels: L)
      let withEmpty = headLossAndGradients(
        head, [([], []), sentence, ([], [])], parameters: θ, labels: L)
      let name = "\(type(of: head))"
      XCTAssertEqual(withEmpty.loss, alone.loss, name)
      XCTAssertEqual(withEmpty.emissions[1], alone.emissions[0], name)
      XCTAssertEqual(withEmpty.parameters, alone.parameters, name)
    }
  }

  /// Where the gold path is an exact optimum (of s(y) for the perceptron, of s(y) + Δ(y, y*)
  /// for the SSVM), the loss is 0 and nothing is updated, whichever path Viterbi returns. Two
  /// label-1 paths tie exactly; and scores near 10⁶, where a Float's unit in the last place is
  /// 0.0625, make Viterbi's Float sums tie paths whose exact scores differ by 0.02 (each case
  /// also mirrored, so a Viterbi that breaks ties either way meets a path other than gold).
  /// Before, such a path was "corrected" with a loss of 0 or below.
  func testNoUpdateWhereTheGoldPathIsAnExactOptimum() {
    let L = 2
    let zero = [Float](repeating: 0, count: L * L + 2 * L)
    // Perceptron: e[0] ties the labels exactly, so (0, 1) and (1, 1) score the same; in
    // Float, e[1]'s 10⁶ + 0.01 and 10⁶ + 0.02 are both 10⁶.
    let perceptronCases: [([Float], [[Int]])] = [
      ([0, 0, 0, 1], [[0, 1], [1, 1]]),
      ([1_000_000, 1_000_000, 0.01, 0.02], [[0, 1], [1, 1]]),
      ([1_000_000, 1_000_000, 0.02, 0.01], [[0, 0], [1, 0]]),
    ]
    for (emissions, golds) in perceptronCases {
      for gold in golds {
        let result = headLossAndGradients(
          PerceptronHead(labelCount: L), [(emissions, gold)], parameters: zero, labels: L)
        let name = "perceptron \(emissions) gold \(gold)"
        XCTAssertEqual(result.loss, 0, name)
        XCTAssertTrue(result.emissions[0].allSatisfy { $0 == 0 }, name)
        XCTAssertTrue(result.parameters.allSatisfy { $0 == 0 }, name)
      }
    }
    // SSVM with Δ = 1.48 per wrong label: gold (0, 1) scores 1.5 above (0, 0), whose
    // augmented score is 0.02 below gold's exactly and equal to it in Float (e[0] keeps
    // label 1 out); the second case mirrors the labels of the second token.
    let ssvmCases: [([Float], [Int])] = [
      ([1_000_000, 0, 1_000_000, 1_000_001.5], [0, 1]),
      ([1_000_000, 0, 1_000_001.5, 1_000_000], [0, 0]),
    ]
    for (emissions, gold) in ssvmCases {
      let result = headLossAndGradients(
        SSVMHead(labelCount: L, costWeight: 1.48, l2: 0), [(emissions, gold)], parameters: zero,
        labels: L)
      XCTAssertEqual(result.loss, 0, "SSVM \(emissions)")
      XCTAssertTrue(result.emissions[0].allSatisfy { $0 == 0 }, "SSVM \(emissions)")
      XCTAssertTrue(result.parameters.allSatisfy { $0 == 0 }, "SSVM \(emissions)")
    }
  }

  /// Long sentences with large scores: the scaled recursions must stay finite and agree with
  /// the log-space reference where exp(score) alone would overflow even a Double.
  func testScaledRecursionsAgreeWithLogSpaceOnLongSentencesWithLargeScores() {
    var rng = SplitMix64(seed: 5)
    let L = 4
    let T = 300
    let emissions = randomMatrix(rows: T, columns: L, scale: 40, rng: &rng)
    let parameters = randomMatrix(rows: 1, columns: L * L + 2 * L, scale: 20, rng: &rng)
    let c = Case(L: L, T: T, emissions: emissions, parameters: parameters, gold: [])
    let chain = LinearChain(labelCount: L)
    let reference = withViews(c) { chain.forwardBackward(emissions: $0, parameters: $1) }
    let scaled = withViews(c) {
      chain.scaledForwardBackward(emissions: $0, potentials: chain.potentials(parameters: $1))
    }
    XCTAssertTrue(reference.logZ.isFinite && reference.logZ > 700)
    assertClose([scaled.logZ], [reference.logZ], absolute: 1e-9, relative: 1e-12, "log Z")
    assertClose(scaled.unary, reference.unary, absolute: 1e-9, relative: 1e-6, "unary")
    assertClose(scaled.pairwise, reference.pairwise, absolute: 1e-8, relative: 1e-6, "pairwise")
  }

  /// The vectorised Viterbi against the Double reference at a realistic size (L = 37 labels:
  /// two full 16-lane vectors and a partial one), with and without constraints.
  func testVectorisedViterbiMatchesReferenceOnLargeLabelSets() {
    var rng = SplitMix64(seed: 8)
    let labels = ["O"] + (0..<18).flatMap { ["B-t\($0)", "I-t\($0)"] }
    let L = labels.count
    let chain = LinearChain(labelCount: L)
    let constraints = TransitionConstraints(labels: labels, scheme: .bio)
    for T in [1, 2, 7, 30] {
      let c = Case(
        L: L, T: T, emissions: randomMatrix(rows: T, columns: L, scale: 3, rng: &rng),
        parameters: randomMatrix(rows: 1, columns: L * L + 2 * L, scale: 2, rng: &rng), gold: [])
      for constraint in [nil, constraints] {
        let fast = withViews(c) {
          chain.viterbi(emissions: $0, parameters: $1, constraints: constraint)
        }
        let reference = withViews(c) {
          chain.referenceViterbi(emissions: $0, parameters: $1, constraints: constraint)
        }
        XCTAssertEqual(fast.path, reference.path, "T=\(T)")
        XCTAssertEqual(fast.score, reference.score, accuracy: 1e-9)
      }
    }
  }

  /// Scores that grow with the sentence: every label gains 1,000 a token. Each score is a
  /// multiple of 1/64, so Float adds them exactly while they stay below 2¹⁸, and the Double
  /// reference does throughout. Unshifted, δ passed 2¹⁸ within 300 tokens and reached 10⁶,
  /// where Float steps by 1/8: the path was not the best (a 5,000-token sentence of a trained
  /// model printed one); each step's δ is now shifted to a maximum of 0.
  func testViterbiStaysExactWhereScoresGrowWithTheSentence() {
    var rng = SplitMix64(seed: 51)
    let (L, T) = (37, 1000)
    func sixtyFourths(_ count: Int, around offset: Float) -> [Float] {
      (0..<count).map { _ in offset + Float(Int(rng.next() % 256) - 128) / 64 }
    }
    let c = Case(
      L: L, T: T, emissions: sixtyFourths(T * L, around: 1000),
      parameters: sixtyFourths(L * L + 2 * L, around: 0), gold: [])
    let chain = LinearChain(labelCount: L)
    let fast = withViews(c) { chain.viterbi(emissions: $0, parameters: $1) }
    let reference = withViews(c) { chain.referenceViterbi(emissions: $0, parameters: $1) }
    XCTAssertGreaterThan(reference.score, 1e6)
    XCTAssertEqual(fast.path, reference.path)
  }

  /// A label set small enough that every column is sparse (no dense column, so the kernels get
  /// empty dense arrays) and one of only dense columns, against the Double reference.
  func testViterbiWithEveryColumnSparseOrEveryColumnDense() {
    var rng = SplitMix64(seed: 34)
    let labels = ["O", "B-a", "I-a", "B-b", "I-b"]
    let L = labels.count
    let chain = LinearChain(labelCount: L)
    let constraints = TransitionConstraints(labels: labels, scheme: .bio)
    for T in [1, 2, 6] {
      let c = Case(
        L: L, T: T, emissions: randomMatrix(rows: T, columns: L, scale: 3, rng: &rng),
        parameters: randomMatrix(rows: 1, columns: L * L + 2 * L, scale: 2, rng: &rng), gold: [])
      for sparseLimit in [L, 0] {
        let (scores, path) = withViews(c) { e, θ in
          let scores = chain.decodingScores(
            parameters: θ, constraints: constraints, sparseLimit: sparseLimit)
          return (scores, chain.viterbi(emissions: e, scores: scores))
        }
        XCTAssertEqual(scores.sparseLabels.count, sparseLimit == 0 ? 0 : L)
        let reference = withViews(c) {
          chain.referenceViterbi(emissions: $0, parameters: $1, constraints: constraints)
        }
        XCTAssertEqual(path, reference.path, "T = \(T), sparse limit \(sparseLimit)")
      }
    }
  }

  /// Sparse columns (labels with few allowed previous labels: BIO's I-X, BIOES's I-X and E-X)
  /// against the all-dense layout of the same scores and the Double reference: the same path,
  /// with scores of −1, −½, 0, ½ and 1 so that ties are common, L = 37 (BIO, 18 sparse) and
  /// 73 (BIOES, 36).
  func testSparseColumnsGiveTheDenseLayoutsPaths() {
    var rng = SplitMix64(seed: 21)
    func halves(_ values: [Float]) -> [Float] { values.map { ($0 * 2).rounded() / 2 } }
    for (scheme, prefixes) in [(TagScheme.bio, ["B", "I"]), (.bioes, ["B", "I", "E", "S"])] {
      let labels = ["O"] + (0..<18).flatMap { type in prefixes.map { "\($0)-t\(type)" } }
      let L = labels.count
      let chain = LinearChain(labelCount: L)
      let constraints = TransitionConstraints(labels: labels, scheme: scheme)
      // One set of buffers for every length, longer and shorter, as a batch reuses them.
      var buffers = LinearChain.ViterbiBuffers()
      for T in [1, 2, 9, 40, 3] {
        let c = Case(
          L: L, T: T,
          emissions: halves(randomMatrix(rows: T, columns: L, rng: &rng)),
          parameters: halves(randomMatrix(rows: 1, columns: L * L + 2 * L, rng: &rng)),
          gold: [])
        let (sparse, dense) = withViews(c) { _, θ in
          (
            chain.decodingScores(parameters: θ, constraints: constraints),
            chain.decodingScores(parameters: θ, constraints: constraints, sparseLimit: 0)
          )
        }
        XCTAssertEqual(sparse.sparseLabels.count, 18 * (prefixes.count / 2), "\(scheme)")
        XCTAssertEqual(dense.denseLabels.count, L)
        let paths = withViews(c) { e, _ in
          (chain.viterbi(emissions: e, scores: sparse), chain.viterbi(emissions: e, scores: dense))
        }
        XCTAssertEqual(paths.0, paths.1, "\(scheme), T = \(T)")
        let reused = withViews(c) { e, _ in
          chain.viterbi(emissions: e, scores: sparse, buffers: &buffers)
        }
        XCTAssertEqual(reused, paths.0, "\(scheme), T = \(T), buffers of earlier sentences")
        // Halves add exactly in Float and Double, so the reference breaks the same ties.
        let reference = withViews(c) {
          chain.referenceViterbi(emissions: $0, parameters: $1, constraints: constraints)
        }
        XCTAssertEqual(paths.0, reference.path, "\(scheme), T = \(T), reference")
      }
      // Every score 0 but the last token's I-t0 (BIO) or E-t0 (BIOES, whose sentences cannot
      // end inside a chunk): its two allowed previous labels tie, so ψ must keep the lower,
      // B-t0, as the dense layout does.
      let last = scheme == .bio ? 2 : 3
      var emissions = [Float](repeating: 0, count: 3 * L)
      emissions[2 * L + last] = 5
      let tie = Case(
        L: L, T: 3, emissions: emissions, parameters: [Float](repeating: 0, count: L * L + 2 * L),
        gold: [])
      let tiePath = withViews(tie) {
        chain.viterbi(emissions: $0, parameters: $1, constraints: constraints).path
      }
      XCTAssertEqual(tiePath, [0, 1, last], "\(scheme), ties")
    }
  }

  /// A batch of sentences of different lengths (so rows end at different steps) against the
  /// log-space reference run sentence by sentence.
  func testBatchedScaledRecursionsMatchPerSentenceReference() {
    var rng = SplitMix64(seed: 13)
    let L = 5
    let lengths = [3, 1, 6, 4, 6, 2]
    let chain = LinearChain(labelCount: L)
    let emissions = lengths.map { randomMatrix(rows: $0, columns: L, scale: 3, rng: &rng) }
    let parameters = randomMatrix(rows: 1, columns: L * L + 2 * L, scale: 2, rng: &rng)
    // One buffer that outlives every view into it (no pointer escapes a closure).
    let storage = UnsafeMutableBufferPointer<Float>.allocate(capacity: lengths.reduce(0, +) * L)
    defer { storage.deallocate() }
    var offset = 0
    let views = emissions.enumerated().map { b, e in
      _ = UnsafeMutableBufferPointer(rebasing: storage[offset..<offset + e.count]).initialize(
        from: e)
      defer { offset += e.count }
      return MatrixView(base: storage.baseAddress! + offset, rows: lengths[b], columns: L)
    }
    let batched = parameters.withUnsafeBufferPointer {
      chain.scaledForwardBackward(emissions: views, potentials: chain.potentials(parameters: $0))
    }
    var pairwise = [Double](repeating: 0, count: L * L)
    for (b, view) in views.enumerated() {
      let reference = parameters.withUnsafeBufferPointer {
        chain.forwardBackward(emissions: view, parameters: $0)
      }
      assertClose([batched.logZ[b]], [reference.logZ], absolute: 1e-9, relative: 1e-9, "log Z \(b)")
      let unary = (0..<lengths[b] * L).map {
        batched.unary(sentence: b, token: $0 / L, label: $0 % L)
      }
      assertClose(unary, reference.unary, absolute: 1e-9, relative: 1e-9, "unary \(b)")
      for k in 0..<L * L { pairwise[k] += reference.pairwise[k] }
    }
    assertClose(batched.pairwise, pairwise, absolute: 1e-9, relative: 1e-9, "pairwise sum")
  }

  /// The SSVM where a wrong path ties gold exactly in the augmented score s(y) + Δ(y, y*):
  /// one token, zero chain scores, the wrong label's emission 1 below gold's and Δ = 1 per
  /// wrong label, so both score the same in Float and in Double and the hinge is exactly 0.
  /// Gold is an augmented optimum, so the loss is 0 and nothing is updated, whichever label
  /// Viterbi's tie rule returns (each case mirrored).
  func testSSVMMakesNoUpdateWhereAWrongPathTiesGoldExactly() {
    let L = 2
    let zero = [Float](repeating: 0, count: L * L + 2 * L)
    for (emissions, gold) in [([Float(0), 1], [1]), ([1, 0], [0])] {
      let result = headLossAndGradients(
        SSVMHead(labelCount: L, costWeight: 1, l2: 0), [(emissions, gold)], parameters: zero,
        labels: L)
      let name = "SSVM \(emissions) gold \(gold)"
      XCTAssertEqual(result.loss, 0, name)
      XCTAssertTrue(result.emissions[0].allSatisfy { $0 == 0 }, name)
      XCTAssertTrue(result.parameters.allSatisfy { $0 == 0 }, name)
    }
  }
}
