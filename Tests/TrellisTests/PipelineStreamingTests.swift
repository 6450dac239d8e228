import Foundation
import XCTest

@testable import Trellis

/// `TaggerModel.analyses(of:)` and `responses(to:)`: results in input order, a lone sentence
/// answered without waiting for more, a bounded read-ahead, and errors passed on in place.
final class PipelineStreamingTests: XCTestCase {
  static let model = makeModel(words: 8)

  /// Sentences over the model's vocabulary, of varied lengths (so batches sort them).
  static let sentences: [[String]] = (0..<50).map { n in
    (0..<(n % 7 + 1)).map { "w\((n + $0) % 7 + 2)" }
  }

  func testAStreamIsTaggedInOrderLikeOneCall() async throws {
    let options = TaggingOptions(batchSize: 4)
    let (stream, input) = AsyncStream.makeStream(of: [String].self)
    for sentence in Self.sentences { input.yield(sentence) }
    input.finish()
    var streamed: [Analysis] = []
    for try await analysis in try Self.model.analyses(of: stream, options: options) {
      streamed.append(analysis)
    }
    XCTAssertEqual(streamed, Self.model.analyze(Self.sentences, options: options))
  }

  func testResponsesKeepTheirRequests() async throws {
    let requests = Self.sentences.enumerated().map {
      TaggingRequest(tokens: $1, id: .string("s\($0)"))
    }
    let (stream, input) = AsyncStream.makeStream(of: TaggingRequest.self)
    for request in requests { input.yield(request) }
    input.finish()
    var lines: [String] = []
    for try await response in try Self.model.responses(to: stream) {
      lines.append(try response.jsonLine())
    }
    XCTAssertEqual(
      lines,
      try Self.model.respond(to: requests, options: TaggingOptions()).map { try $0.jsonLine() })
    XCTAssertThrowsError(try Self.model.responses(to: stream, options: TaggingOptions(nbest: -1)))
  }

  /// The stream stays open after each sentence: tagging must not wait for a batch to fill.
  func testALoneSentenceIsAnsweredWithoutWaitingForMore() async throws {
    let (stream, input) = AsyncStream.makeStream(of: [String].self)
    let results = Box(
      try Self.model.analyses(of: stream, options: TaggingOptions(batchSize: 32))
        .makeAsyncIterator())
    for sentence in Self.sentences.prefix(3) {
      input.yield(sentence)
      let analysis = try await withDeadline { try await results.value.next() }
      XCTAssertEqual(analysis?.tokens, sentence)
    }
    input.finish()
    let end = try await withDeadline { try await results.value.next() }
    XCTAssertNil(end)
  }

  func testTheReaderRunsAheadOfTaggingByABoundedAmount() async throws {
    let counter = CountingSentences()
    let batchSize = 2
    var results: TaggingStream<CountingSentences, Analysis>.Iterator? =
      try Self.model.analyses(of: counter, options: TaggingOptions(batchSize: batchSize))
      .makeAsyncIterator()
    for _ in 0..<5 { _ = try await results!.next() }
    try await Task.sleep(nanoseconds: 200_000_000)  // time for an unbounded reader to run away
    // Held: one inbox (2 × batch) waiting, one taken group (2 × batch), one element being put.
    XCTAssertLessThanOrEqual(counter.pulled, 5 + 2 * (2 * batchSize) + 1)
    results = nil
    for _ in 0..<100 where !counter.stopped { try await Task.sleep(nanoseconds: 50_000_000) }
    XCTAssertTrue(counter.stopped, "dropping the iterator did not stop its reader")
  }

  func testAnInputErrorEndsTheStreamAfterTheSentencesBeforeIt() async throws {
    struct Broken: Error {}
    let (stream, input) = AsyncThrowingStream.makeStream(of: [String].self)
    for sentence in Self.sentences.prefix(3) { input.yield(sentence) }
    input.finish(throwing: Broken())
    var count = 0
    do {
      for try await _ in try Self.model.analyses(of: stream) { count += 1 }
      XCTFail("the input's error was lost")
    } catch is Broken {
      XCTAssertEqual(count, 3)
    }
    // After the error, the iterator is finished: nil, as `AsyncIteratorProtocol` asks (it threw
    // the error again at every call), and nil after a normal end too.
    let (again, failing) = AsyncThrowingStream.makeStream(of: [String].self)
    failing.yield(Self.sentences[0])
    failing.finish(throwing: Broken())
    var iterator = try Self.model.analyses(of: again).makeAsyncIterator()
    _ = try await iterator.next()
    do {
      _ = try await iterator.next()
      XCTFail("the input's error was lost")
    } catch is Broken {}
    let afterError = try await iterator.next()
    XCTAssertNil(afterError)
    let (ended, endedInput) = AsyncThrowingStream.makeStream(of: [String].self)
    endedInput.finish()
    var endedIterator = try Self.model.analyses(of: ended).makeAsyncIterator()
    let first = try await endedIterator.next()
    let second = try await endedIterator.next()
    XCTAssertNil(first)
    XCTAssertNil(second)
  }

  /// Runs `body`, failing instead of hanging if it takes more than 20 s (a deadlock guard,
  /// not a timing: a correct stream answers in milliseconds).
  func withDeadline<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T
  {
    return try await withThrowingTaskGroup(of: T?.self) { group in
      group.addTask { try await body() }
      group.addTask {
        try await Task.sleep(nanoseconds: 20_000_000_000)
        return nil
      }
      defer { group.cancelAll() }
      guard case .some(.some(let value)) = try await group.next() else { throw DeadlinePassed() }
      return value
    }
  }
}

struct DeadlinePassed: Error {}

/// A mutable value that concurrently running test code may share (one user at a time).
final class Box<Value>: @unchecked Sendable {
  var value: Value
  init(_ value: Value) { self.value = value }
}

/// An endless sequence of sentences that counts how many were pulled, and notices when its
/// consumer lets go of its iterator.
final class CountingSentences: AsyncSequence, @unchecked Sendable {
  private let lock = NSLock()
  private var pulledCount = 0
  private var stoppedFlag = false

  var pulled: Int { lock.withLock { pulledCount } }
  /// Whether the iterator was released (the reading task ended).
  var stopped: Bool { lock.withLock { stoppedFlag } }

  struct AsyncIterator: AsyncIteratorProtocol {
    let lifetime: Lifetime

    mutating func next() async -> [String]? {
      await Task.yield()
      let source = lifetime.source
      return source.lock.withLock {
        source.pulledCount += 1
        return ["w2", "w3"]
      }
    }
  }

  /// Marks the source stopped when the last copy of its iterator goes.
  final class Lifetime {
    let source: CountingSentences
    init(_ source: CountingSentences) { self.source = source }
    deinit { source.lock.withLock { source.stoppedFlag = true } }
  }

  func makeAsyncIterator() -> AsyncIterator { AsyncIterator(lifetime: Lifetime(self)) }
}
