import Foundation

extension TaggerModel {
  /// Tags sentences as they arrive and yields one `Analysis` per sentence, in input order.
  ///
  /// A lone sentence is tagged as soon as it arrives; sentences that arrive together share
  /// forward passes. Memory stays bounded: a reader task holds at most `2 × options.batchSize`
  /// sentences not yet tagged, the most one step tags, besides the up to as many results of
  /// the last step not yet handed out. Throws `OptionError` when `options` fail `validate()`;
  /// an error of `sentences` ends the stream after the sentences before it (a later `next()`
  /// returns nil).
  public func analyses<Sentences: AsyncSequence>(
    of sentences: Sentences, options: TaggingOptions = TaggingOptions()
  ) throws -> TaggingStream<Sentences, Analysis> where Sentences.Element == [String] {
    try options.validate()
    return TaggingStream(base: sentences, batchSize: options.batchSize) { [self] in
      analyze($0, options: options)
    }
  }

  /// The same for requests: yields one `TaggingResponse` per request, in input order, whose
  /// `jsonLine()` is the JSON-lines answer.
  public func responses<Requests: AsyncSequence>(
    to requests: Requests, options: TaggingOptions = TaggingOptions()
  ) throws -> TaggingStream<Requests, TaggingResponse> where Requests.Element == TaggingRequest {
    try options.validate()
    return TaggingStream(base: requests, batchSize: options.batchSize) { [self] in
      respond(to: $0, options: options)
    }
  }
}

/// The results of tagging an asynchronous sequence, in order (see `TaggerModel.analyses`).
/// Each iterator starts its own reader task over `base`, cancelled when the iterator is dropped;
/// tagging runs on the task that calls `next()`.
public struct TaggingStream<Base: AsyncSequence, Element>: AsyncSequence {
  let base: Base
  /// How many inputs the reader may hold before it waits for tagging to take them: two
  /// batches, the most one step tags.
  let capacity: Int
  /// Tags a group of inputs, returning one result per input in order.
  let tag: ([Base.Element]) -> [Element]

  init(base: Base, batchSize: Int, tag: @escaping ([Base.Element]) -> [Element]) {
    (self.base, capacity, self.tag) = (base, 2 * batchSize, tag)
  }

  public func makeAsyncIterator() -> Iterator {
    Iterator(state: IteratorState(base: base, capacity: capacity, tag: tag))
  }

  /// Hands out the results in input order; its reader task ends when it is dropped.
  public struct Iterator: AsyncIteratorProtocol {
    let state: IteratorState

    public mutating func next() async throws -> Element? {
      try await state.next()
    }
  }

  /// One iterator's reader task, inbox and tagged results waiting to be handed out.
  final class IteratorState {
    private let inbox: Inbox<Base.Element>
    private let tag: ([Base.Element]) -> [Element]
    private var reader: Task<Void, Never>?
    private var results: [Element] = []
    private var handedOut = 0
    /// Set once `next()` has returned nil or thrown: every later call returns nil, as
    /// `AsyncIteratorProtocol` asks (the producer's error was thrown again at each call).
    private var isFinished = false

    init(base: Base, capacity: Int, tag: @escaping ([Base.Element]) -> [Element]) {
      let inbox = Inbox<Base.Element>(capacity: capacity)
      self.inbox = inbox
      self.tag = tag
      reader = Task {
        do {
          for try await element in base {
            guard await inbox.put(element) else { return }
          }
          inbox.finish(throwing: nil)
        } catch {
          inbox.finish(throwing: error)
        }
      }
    }

    deinit {
      reader?.cancel()
      inbox.close()
    }

    func next() async throws -> Element? {
      guard !isFinished else { return nil }
      if handedOut == results.count {
        // Everything the reader holds now, and at least one input unless the stream ended.
        let inputs: [Base.Element]
        do {
          inputs = try await withTaskCancellationHandler {
            try await inbox.takeAll()
          } onCancel: { [inbox] in
            inbox.close()
          }
        } catch {
          isFinished = true
          throw error
        }
        guard !inputs.isEmpty else {
          isFinished = true
          return nil
        }
        results = tag(inputs)
        handedOut = 0
      }
      defer { handedOut += 1 }
      return results[handedOut]
    }
  }
}

/// A bounded first-in-first-out queue between one producer task and one consumer task.
final class Inbox<Element>: @unchecked Sendable {
  private let lock = NSLock()
  private let capacity: Int
  private var items: [Element] = []
  /// Set when the producer has put its last element: nil for a normal end, or its error.
  private var ending: (any Error)??
  /// Set when the consumer is gone (or cancelled): puts fail, takes throw.
  private var isClosed = false
  private var waitingProducer: CheckedContinuation<Void, Never>?
  private var waitingConsumer: CheckedContinuation<Void, Never>?

  init(capacity: Int) {
    self.capacity = capacity
  }

  /// Appends `element`, waiting while the queue is full; false when the consumer is gone.
  func put(_ element: Element) async -> Bool {
    while true {
      let (added, consumer): (Bool?, CheckedContinuation<Void, Never>?) = locked {
        if isClosed { return (false, nil) }
        guard items.count < capacity else { return (nil, nil) }
        items.append(element)
        defer { waitingConsumer = nil }
        return (true, waitingConsumer)
      }
      consumer?.resume()
      if let added { return added }
      await withCheckedContinuation { continuation in
        let waits = locked {
          guard items.count >= capacity && !isClosed else { return false }
          waitingProducer = continuation
          return true
        }
        if !waits { continuation.resume() }
      }
    }
  }

  /// Marks the end of the input, with the producer's error if it failed.
  func finish(throwing error: (any Error)?) {
    let consumer: CheckedContinuation<Void, Never>? = locked {
      ending = .some(error)
      defer { waitingConsumer = nil }
      return waitingConsumer
    }
    consumer?.resume()
  }

  /// Every queued element, waiting for at least one; empty at the end of the input. Throws the
  /// producer's error once the elements before it are taken, and `CancellationError` once closed.
  func takeAll() async throws -> [Element] {
    while true {
      let (taken, producer): (Result<[Element], any Error>?, CheckedContinuation<Void, Never>?) =
        locked {
          if isClosed { return (.failure(CancellationError()), nil) }
          if !items.isEmpty {
            defer { (items, waitingProducer) = ([], nil) }
            return (.success(items), waitingProducer)
          }
          guard let ending else { return (nil, nil) }
          return (ending.map { .failure($0) } ?? .success([]), nil)
        }
      producer?.resume()
      if let taken { return try taken.get() }
      await withCheckedContinuation { continuation in
        let waits = locked {
          guard items.isEmpty && ending == nil && !isClosed else { return false }
          waitingConsumer = continuation
          return true
        }
        if !waits { continuation.resume() }
      }
    }
  }

  /// Ends the queue from the consumer's side, waking both sides.
  func close() {
    let (producer, consumer) = locked {
      isClosed = true
      defer { (waitingProducer, waitingConsumer) = (nil, nil) }
      return (waitingProducer, waitingConsumer)
    }
    producer?.resume()
    consumer?.resume()
  }

  private func locked<Result>(_ body: () -> Result) -> Result {
    lock.lock()
    defer { lock.unlock() }
    return body()
  }
}
