import Foundation

extension Array {
  /// `map(transform)` on up to `threads` threads; the result is in order and the same as
  /// `map`'s. For per-element work that is independent and costs more than a thread's wake-up
  /// (parsing and writing JSON lines, locating spans). The threads take chunks of
  /// `elementsPerChunk` elements in turn until none is left, rather than one fixed slice each:
  /// a thread slowed by other work on its core (`trellis tag` reads and writes on one) then
  /// takes fewer chunks instead of holding up the others at the end.
  func concurrentMap<Mapped>(threads: Int, _ transform: (Element) -> Mapped) -> [Mapped] {
    let chunks = (count + Self.elementsPerChunk - 1) / Self.elementsPerChunk
    let workers = Swift.min(threads, chunks)
    guard workers > 1 else { return map(transform) }
    return withUnsafeBufferPointer { elements in
      [Mapped](unsafeUninitializedCapacity: elements.count) { result, initialized in
        let base = result.baseAddress!
        let queue = WorkQueue(count: chunks)
        // Each chunk initialises its own elements of the result, written in place.
        performConcurrently(iterations: workers) { _ in
          while let chunk = queue.take() {
            let start = chunk * Self.elementsPerChunk
            for index in start..<Swift.min(start + Self.elementsPerChunk, elements.count) {
              (base + index).initialize(to: transform(elements[index]))
            }
          }
        }
        initialized = elements.count
      }
    }
  }

  /// Elements a thread maps at a time; fewer elements than two chunks are mapped on the
  /// calling thread.
  private static var elementsPerChunk: Int { 64 }
}

/// Items `0..<count` (batches, chunks) handed out one at a time to the threads that share them.
final class WorkQueue: @unchecked Sendable {
  private let lock = NSLock()
  private let count: Int
  private var taken = 0

  init(count: Int) {
    self.count = count
  }

  /// The next item in `0..<count`, or nil when every item has been taken.
  func take() -> Int? {
    lock.lock()
    defer { lock.unlock() }
    guard taken < count else { return nil }
    taken += 1
    return taken - 1
  }
}
