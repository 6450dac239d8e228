import Foundation
import XCTest

@testable import Trellis

/// n-best lists and confidences against brute-force enumeration of every path.
final class NBestAndConfidenceTests: XCTestCase {
  func testNBestMatchesTheTopOfTheEnumeration() {
    var rng = SplitMix64(seed: 17)
    let labels = ["O", "B-a", "I-a"]
    let constraints = TransitionConstraints(labels: labels, scheme: .bio)
    for T in 1...4 {
      let emissions = randomMatrix(rows: T, columns: 3, scale: 2, rng: &rng)
      let parameters = randomMatrix(rows: 1, columns: 15, scale: 2, rng: &rng)
      for constraint in [nil, constraints] {
        let allowed = allPaths(length: T, labels: 3).filter { path in
          guard let constraint else { return true }
          return constraint.allowedStart[path[0]] && constraint.allowedEnd[path[T - 1]]
            && zip(path, path.dropFirst()).allSatisfy { constraint.allowedTransition[$0 * 3 + $1] }
        }
        let ranked = allowed.map {
          ($0, bruteScore($0, emissions: emissions, transitions: parameters, labels: 3))
        }
        .sorted { $0.1 > $1.1 }
        for k in [1, 3, 50] {
          let list = emissions.withUnsafeBufferPointer { e in
            parameters.withUnsafeBufferPointer { θ in
              LinearChain(labelCount: 3).nBest(
                k, emissions: MatrixView(base: e.baseAddress!, rows: T, columns: 3), parameters: θ,
                constraints: constraint)
            }
          }
          XCTAssertEqual(list.map(\.path), ranked.prefix(k).map(\.0), "T=\(T) k=\(k)")
          for (entry, expected) in zip(list, ranked) {
            XCTAssertEqual(entry.score, expected.1, accuracy: 1e-9)
          }
        }
      }
    }
  }

  /// Up to `KWayMerge.sortedHeadsLimit` the merge keeps the best heads in a sorted array,
  /// beyond it in a heap: on scores full of ties (small whole numbers) both give the same
  /// paths in the same order, each scored as the path scores.
  func testSortedAndHeapMergesAgreeOnTies() {
    var rng = SplitMix64(seed: 23)
    let (T, L) = (6, 5)
    let k = KWayMerge.sortedHeadsLimit
    let chain = LinearChain(labelCount: L)
    let emissions = (0..<T * L).map { _ in Float(Int(rng.nextUnitFloat() * 3)) }
    let θ = (0..<chain.parameterCount).map { _ in Float(Int(rng.nextUnitFloat() * 3)) }
    emissions.withUnsafeBufferPointer { e in
      θ.withUnsafeBufferPointer { θ in
        let view = MatrixView(base: e.baseAddress!, rows: T, columns: L)
        let sorted = chain.nBest(k, emissions: view, parameters: θ)
        let heap = chain.nBest(k + 1, emissions: view, parameters: θ)
        XCTAssertEqual(sorted.map(\.path), heap.prefix(k).map(\.path))
        XCTAssertEqual(sorted.map(\.score), heap.prefix(k).map(\.score))
        XCTAssertLessThan(Set(heap.map(\.score)).count, heap.count / 2, "too few ties")
        for entry in heap {
          XCTAssertEqual(entry.score, chain.score(of: entry.path, emissions: view, parameters: θ))
        }
      }
    }
  }

  /// A sentence without tokens has one labelling, the empty one, of score 0 (for the softmax
  /// head log p = log 1): asked for confidences and an n-best list among sentences with
  /// tokens, every head answers with that path, and the heads that define probabilities with
  /// probability 1 and an empty list of token confidences; asked for neither, it has neither.
  func testAnEmptySentenceIsAnsweredWithItsOneEmptyLabelling() {
    for head in HeadKind.allCases {
      let model = makeModel(head: head)
      var options = TaggingOptions()
      options.confidence = true
      options.nbest = 3
      let answers = model.analyze([["w2", "w3"], [], ["w4"]], options: options)
      let empty = answers[1]
      XCTAssertEqual(empty.labels, [], "\(head)")
      XCTAssertEqual(empty.alternatives.map(\.labels), [[]], "\(head)")
      XCTAssertEqual(empty.alternatives.first?.score, 0, "\(head)")
      let probability: Double? = model.head.definesProbabilities ? 1 : nil
      XCTAssertEqual(empty.alternatives.first?.probability, probability, "\(head)")
      XCTAssertEqual(empty.sequenceProbability, probability, "\(head)")
      XCTAssertEqual(empty.tokenConfidences, probability.map { _ in [] }, "\(head)")
      XCTAssertEqual(answers[2].labels.count, 1, "\(head)")
      let plain = model.analyze([[]])[0]
      XCTAssertNil(plain.tokenConfidences)
      XCTAssertEqual(plain.alternatives, [])
    }
  }

  /// Confidences and n-best probabilities of both probabilistic heads: token marginals and
  /// sequence probabilities against p(y | x) computed by enumeration.
  func testConfidencesAreTheEnumeratedProbabilities() {
    var rng = SplitMix64(seed: 19)
    let T = 4
    let L = 3
    let emissions = randomMatrix(rows: T, columns: L, scale: 2, rng: &rng)
    let chainParameters = randomMatrix(rows: 1, columns: L * L + 2 * L, scale: 1, rng: &rng)
    let heads: [(any StructuredHead, [Float])] = [
      (CRFHead(labelCount: L), chainParameters),
      (SoftmaxHead(labelCount: L), [Float](repeating: 0, count: L * L + 2 * L)),
    ]
    for (head, enumerationParameters) in heads {
      // Softmax's p(y | x) is the chain distribution with zero transition scores.
      let paths = allPaths(length: T, labels: L)
      let scores = paths.map {
        bruteScore($0, emissions: emissions, transitions: enumerationParameters, labels: L)
      }
      let logZ = log(scores.map { exp($0) }.reduce(0, +))
      let probabilities = scores.map { exp($0 - logZ) }
      let best = probabilities.indices.max { probabilities[$0] < probabilities[$1] }!
      let (confidence, alternatives) = emissions.withUnsafeBufferPointer { e in
        chainParameters.withUnsafeBufferPointer { θ in
          let view = MatrixView(base: e.baseAddress!, rows: T, columns: L)
          return (
            head.confidences(
              of: [paths[best]], emissions: [view], parameters: θ, constraints: nil)![0],
            head.nBest(3, emissions: view, parameters: θ, constraints: nil)
          )
        }
      }
      XCTAssertTrue(head.definesProbabilities)
      XCTAssertEqual(confidence.sequence, probabilities[best], accuracy: 1e-6, "\(type(of: head))")
      for t in 0..<T {
        let marginal = zip(paths, probabilities).filter { $0.0[t] == paths[best][t] }.map(\.1)
          .reduce(0, +)
        XCTAssertEqual(
          confidence.tokens[t], marginal, accuracy: 1e-6, "\(type(of: head)) token \(t)")
      }
      let ranked = probabilities.indices.sorted { probabilities[$0] > probabilities[$1] }.prefix(3)
      XCTAssertEqual(alternatives.map(\.path), ranked.map { paths[$0] })
      for (alternative, index) in zip(alternatives, ranked) {
        XCTAssertEqual(alternative.probability!, probabilities[index], accuracy: 1e-6)
      }
    }
    XCTAssertFalse(PerceptronHead(labelCount: L).definesProbabilities)
    XCTAssertFalse(SSVMHead(labelCount: L, costWeight: 1, l2: 0).definesProbabilities)
  }

  /// The CRF's log Z of a batch of sentences of different lengths, under the BIO constraints
  /// and without: each against log Σ exp(score) over the allowed paths, bit for bit the log Z
  /// of the sentence on its own and of the confidences' pass, and an n-best list given it
  /// identical to one that computes its own; heads without a partition function give none.
  func testBatchLogPartitionsMatchEnumerationAndSingleSentences() {
    var rng = SplitMix64(seed: 23)
    let labels = ["O", "B-a", "I-a"]
    let L = labels.count
    let head = CRFHead(labelCount: L)
    let parameters = randomMatrix(rows: 1, columns: L * L + 2 * L, scale: 2, rng: &rng)
    let lengths = [3, 1, 4, 2]
    let matrices = lengths.map { randomMatrix(rows: $0, columns: L, scale: 2, rng: &rng) }
    let flat = matrices.flatMap { $0 }
    let offsets = lengths.indices.map { b in lengths[..<b].reduce(0, +) * L }
    for constraints in [nil, TransitionConstraints(labels: labels, scheme: .bio)] {
      flat.withUnsafeBufferPointer { e in
        parameters.withUnsafeBufferPointer { θ in
          let views = lengths.indices.map { b in
            MatrixView(base: e.baseAddress! + offsets[b], rows: lengths[b], columns: L)
          }
          let batch = head.logPartitions(emissions: views, parameters: θ, constraints: constraints)!
          // The confidences' pass carries the same log Z, which n-best lists then take from it.
          let confidences = head.confidences(
            of: lengths.map { [Int](repeating: 0, count: $0) }, emissions: views, parameters: θ,
            constraints: constraints)!
          XCTAssertEqual(
            confidences.map { $0.logPartition?.bitPattern }, batch.map { $0.bitPattern })
          XCTAssertNil(
            SoftmaxHead(labelCount: L).confidences(
              of: [[0]], emissions: [views[1]], parameters: θ, constraints: nil)![0].logPartition)
          for (b, view) in views.enumerated() {
            let allowed = allPaths(length: lengths[b], labels: L).filter { path in
              guard let c = constraints else { return true }
              return c.allowedStart[path[0]] && c.allowedEnd[path[path.count - 1]]
                && zip(path, path.dropFirst()).allSatisfy { c.allowedTransition[$0 * L + $1] }
            }
            let sum = allowed.map {
              exp(bruteScore($0, emissions: matrices[b], transitions: parameters, labels: L))
            }.reduce(0, +)
            XCTAssertEqual(batch[b], log(sum), accuracy: 1e-9, "sentence \(b)")
            let alone = head.logPartitions(
              emissions: [view], parameters: θ, constraints: constraints)!
            XCTAssertEqual(batch[b].bitPattern, alone[0].bitPattern, "sentence \(b) alone")
            let given = head.nBest(
              3, emissions: view, parameters: θ, constraints: constraints, logPartition: batch[b])
            let own = head.nBest(3, emissions: view, parameters: θ, constraints: constraints)
            XCTAssertEqual(given.map(\.path), own.map(\.path))
            XCTAssertEqual(
              given.map { $0.probability!.bitPattern }, own.map { $0.probability!.bitPattern })
          }
          XCTAssertNil(
            SoftmaxHead(labelCount: L).logPartitions(
              emissions: views, parameters: θ, constraints: constraints))
          XCTAssertNil(
            PerceptronHead(labelCount: L).logPartitions(
              emissions: views, parameters: θ, constraints: constraints))
        }
      }
    }
  }

  func testAnalyzeGivesSpansConfidencesAndNBestConsistentWithTag() {
    let model = makeModel(labels: ["O", "B-a", "I-a", "B-b"])
    let sentences = [["w2", "w3", "w4"], ["w5"], [], ["w2", "unseen", "w3", "w4", "w5"]]
    let analyses = model.analyze(sentences, options: TaggingOptions(confidence: true, nbest: 4))
    XCTAssertEqual(analyses.map(\.labels), model.tag(sentences))
    for (analysis, tokens) in zip(analyses, sentences) where !tokens.isEmpty {
      XCTAssertEqual(
        analysis.spans.map { Chunk(type: $0.label, start: $0.start, end: $0.end) },
        chunks(in: analysis.labels))
      for span in analysis.spans {
        XCTAssertEqual(span.text, tokens[span.start..<span.end].joined(separator: " "))
      }
      XCTAssertEqual(analysis.alternatives.first?.labels, analysis.labels)
      XCTAssertEqual(analysis.alternatives.count, 4)
      XCTAssertEqual(
        analysis.alternatives.first?.probability ?? 0, analysis.sequenceProbability ?? -1,
        accuracy: 1e-9)
      XCTAssertTrue(analysis.tokenConfidences!.allSatisfy { $0 > 0 && $0 <= 1 + 1e-9 })
    }
  }
}
