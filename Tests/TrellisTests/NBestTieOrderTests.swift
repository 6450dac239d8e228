import XCTest

@testable import Trellis

/// The order of paths whose scores tie exactly. `LinearChain.nBest` documents that ties keep the
/// order of generation (lower previous label, then lower rank): within a beam of cell (t, j),
/// equal partial scores are ordered by y_{t−1}, then by their order in the beam of
/// (t − 1, y_{t−1}), and the final merge by the last label, so equal scores come out by their
/// labels read from the last token back (y_{T−1}, y_{T−2}, …, y_0), ascending. Viterbi breaks
/// ties the same way (the lowest last label, then ψ's lowest previous label), so its path is
/// the first of the n-best list and an answer's labels are its first alternative's.
final class NBestTieOrderTests: XCTestCase {
  /// Scores of small whole numbers, which every sum holds exactly, so that many paths tie: the
  /// n-best list against every allowed path sorted by score and then by reversed labels, for
  /// k through the sorted merge's limit into the heap's and the whole list; with and without
  /// BIO's constraints.
  func testTiesComeInTheOrderOfTheLabelsReadBackwards() {
    var rng = SplitMix64(seed: 47)
    let bio = TransitionConstraints(labels: ["O", "B-a", "I-a"], scheme: .bio)
    var casesWithTies = 0
    let cases: [(Int, TransitionConstraints?)] = [(2, nil), (3, nil), (3, bio), (4, nil)]
    for (L, constraints) in cases {
      let chain = LinearChain(labelCount: L)
      for T in 1...5 {
        let emissions = (0..<T * L).map { _ in Float(rng.next() % 3) }
        let θ = (0..<chain.parameterCount).map { _ in Float(rng.next() % 3) }
        let allowed = allPaths(length: T, labels: L).filter { path in
          guard let c = constraints else { return true }
          return c.allowedStart[path[0]] && c.allowedEnd[path[T - 1]]
            && zip(path, path.dropFirst()).allSatisfy { c.allowedTransition[$0 * L + $1] }
        }
        let ranked = allowed.map {
          (path: $0, score: bruteScore($0, emissions: emissions, transitions: θ, labels: L))
        }.sorted {
          $0.score != $1.score
            ? $0.score > $1.score
            : $0.path.reversed().lexicographicallyPrecedes($1.path.reversed())
        }
        let name = "L = \(L), T = \(T), constrained \(constraints != nil)"
        if Set(ranked.map(\.score)).count < ranked.count { casesWithTies += 1 }
        emissions.withUnsafeBufferPointer { e in
          θ.withUnsafeBufferPointer { θ in
            let view = MatrixView(base: e.baseAddress!, rows: T, columns: L)
            let limit = KWayMerge.sortedHeadsLimit
            for k in [1, 2, 5, limit, limit + 1, ranked.count] {
              let list = chain.nBest(k, emissions: view, parameters: θ, constraints: constraints)
              XCTAssertEqual(
                list.map(\.path), ranked.prefix(k).map(\.path), "\(name), k = \(k)")
              XCTAssertEqual(list.map(\.score), ranked.prefix(k).map(\.score), "\(name), k = \(k)")
            }
            XCTAssertEqual(
              chain.viterbi(emissions: view, parameters: θ, constraints: constraints).path,
              ranked[0].path, name)
            XCTAssertEqual(
              chain.referenceViterbi(emissions: view, parameters: θ, constraints: constraints)
                .path, ranked[0].path, name)
          }
        }
      }
    }
    XCTAssertGreaterThan(casesWithTies, 15, "too few cases with ties among 20")
  }
}
