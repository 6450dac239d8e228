import Dispatch

extension Array {
  /// `map(transform)` on up to `threads` threads, each over one contiguous slice; the result
  /// is in order and the same as `map`'s. For per-element work that is independent and costs
  /// more than a thread's wake-up (parsing and writing JSON lines, locating spans).
  func concurrentMap<Mapped>(threads: Int, _ transform: (Element) -> Mapped) -> [Mapped] {
    let slices = Swift.max(1, Swift.min(threads, count / Self.elementsPerSliceAtLeast))
    guard slices > 1 else { return map(transform) }
    var result = [Mapped?](repeating: nil, count: count)
    result.withUnsafeMutableBufferPointer { result in
      withUnsafeBufferPointer { elements in
        DispatchQueue.concurrentPerform(iterations: slices) { slice in
          let range = (slice * elements.count / slices)..<((slice + 1) * elements.count / slices)
          for index in range { result[index] = transform(elements[index]) }
        }
      }
    }
    return result.map { $0! }
  }

  /// Fewer elements than this per slice are mapped on the calling thread.
  private static var elementsPerSliceAtLeast: Int { 64 }
}
