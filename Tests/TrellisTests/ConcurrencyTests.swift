import Dispatch
import Foundation
import XCTest

@testable import Trellis

/// One loaded model tagging from several threads at once gives what a sequential run gives
/// (README: `tag` "is safe to call from several threads on one model").
final class ConcurrencyTests: XCTestCase {
  static let threads = 4
  static let rounds = 20

  /// A small BiLSTM-CRF trained on the tiny corpus, written to a file and loaded from it; once
  /// per test process.
  static let loaded = Result<TaggerModel, Error> {
    var configuration = TaggerConfiguration()
    configuration.embeddingSize = 16
    configuration.hiddenSize = 16
    var options = TrainingOptions()
    options.epochs = 2
    let path = temporaryPath("concurrency.model")
    let trained = try Trainer(configuration: configuration, options: options)
      .train(train: readLabelledCoNLL(path: fixture("train.conll")), dev: [])
    try ModelFile.write(trained, to: path)
    return try ModelFile.read(from: path)
  }

  /// Sentences never seen in training: unknown words, and an empty sentence.
  static let unusual: [[String]] = [["zzyzx", "qwerty", "ünknöwn"], []]

  /// The dev and test sentences of the tiny corpus (20) and `unusual`: batch size 1 makes many
  /// batches (tagged by two workers), batch size 32 one (its encoder directions on two threads).
  static let sentences: [[String]] =
    ["dev.conll", "test.conll"].flatMap {
      (try? readLabelledCoNLL(path: fixture($0)).map(\.tokens)) ?? []
    } + unusual

  /// Fewer sentences for `analyze` with n-best lists, which costs ~10 ms a sentence in a debug build.
  static let fewSentences: [[String]] = Array(sentences.prefix(6)) + unusual

  /// Runs `work` sequentially once, then `rounds` times on each of `threads` threads at once,
  /// and asserts that every concurrent result equals the sequential one.
  func assertConcurrentRunsMatchSequential<Result: Equatable>(
    _ work: @escaping () -> Result, file: StaticString = #filePath, line: UInt = #line
  ) -> Result {
    let expected = work()
    let lock = NSLock()
    var runs = 0
    var mismatches: [String] = []
    DispatchQueue.concurrentPerform(iterations: Self.threads) { thread in
      for round in 0..<Self.rounds {
        let result = work()
        lock.lock()
        runs += 1
        if result != expected { mismatches.append("thread \(thread), round \(round)") }
        lock.unlock()
      }
    }
    XCTAssertEqual(runs, Self.threads * Self.rounds, file: file, line: line)
    XCTAssertEqual(
      mismatches, [], "concurrent results differ from the sequential run", file: file, line: line)
    return expected
  }

  func testTagWithBatchSize1FromFourThreads() throws {
    let model = try Self.loaded.get()
    let sentences = Self.sentences
    let labels = assertConcurrentRunsMatchSequential {
      model.tag(sentences, options: TaggingOptions(batchSize: 1))
    }
    XCTAssertEqual(labels.map(\.count), sentences.map(\.count))
  }

  func testTagWithBatchSize32FromFourThreads() throws {
    let model = try Self.loaded.get()
    let sentences = Self.sentences
    let labels = assertConcurrentRunsMatchSequential {
      model.tag(sentences, options: TaggingOptions(batchSize: 32))
    }
    XCTAssertEqual(
      labels, model.tag(sentences, options: TaggingOptions(batchSize: 1)),
      "batch size must not change the labels")
    XCTAssertGreaterThan(
      Set(labels.joined()).count, 1, "an untrained model would make this test weak")
  }

  func testAnalyzeWithConfidenceAndNBestFromFourThreads() throws {
    let model = try Self.loaded.get()
    let sentences = Self.fewSentences
    let analyses = assertConcurrentRunsMatchSequential {
      model.analyze(sentences, options: TaggingOptions(confidence: true, nbest: 2))
    }
    for (tokens, analysis) in zip(sentences, analyses) where !tokens.isEmpty {
      XCTAssertEqual(analysis.tokenConfidences?.count, tokens.count)
      XCTAssertEqual(analysis.alternatives.count, 2)
      XCTAssertEqual(analysis.alternatives.first?.labels, analysis.labels)
    }
  }

  /// Different calls at once: each thread alternates tagging with batch size 1, with batch
  /// size 32 and analysing, so threads with different workspaces and batch shapes overlap.
  func testMixedCallsFromFourThreads() throws {
    let model = try Self.loaded.get()
    let sentences = Self.fewSentences
    let expected: [[Analysis]] = [
      model.analyze(sentences, options: TaggingOptions(batchSize: 1)),
      model.analyze(sentences, options: TaggingOptions(batchSize: 32)),
      model.analyze(sentences, options: TaggingOptions(confidence: true, nbest: 2)),
    ]
    let lock = NSLock()
    var mismatches: [String] = []
    DispatchQueue.concurrentPerform(iterations: Self.threads) { thread in
      for round in 0..<Self.rounds {
        let kind = (thread + round) % expected.count
        let result =
          kind == 2
          ? model.analyze(sentences, options: TaggingOptions(confidence: true, nbest: 2))
          : model.analyze(sentences, options: TaggingOptions(batchSize: kind == 0 ? 1 : 32))
        if result != expected[kind] {
          lock.lock()
          mismatches.append("thread \(thread), round \(round), call \(kind)")
          lock.unlock()
        }
      }
    }
    XCTAssertEqual(mismatches, [])
  }
}
