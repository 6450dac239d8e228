import Dispatch

extension Array {
  /// `map(transform)` on up to `threads` threads, each over one contiguous slice; the result
  /// is in order and the same as `map`'s. For per-element work that is independent and costs
  /// more than a thread's wake-up (parsing and writing JSON lines, locating spans).
  func concurrentMap<Mapped>(threads: Int, _ transform: (Element) -> Mapped) -> [Mapped] {
    let slices = Swift.max(1, Swift.min(threads, count / Self.elementsPerSliceAtLeast))
    guard slices > 1 else { return map(transform) }
    return withUnsafeBufferPointer { elements in
      [Mapped](unsafeUninitializedCapacity: elements.count) { result, initialized in
        let base = result.baseAddress!
        // Each slice initialises its own elements of the result, written in place.
        DispatchQueue.concurrentPerform(iterations: slices) { slice in
          let range = (slice * elements.count / slices)..<((slice + 1) * elements.count / slices)
          for index in range { (base + index).initialize(to: transform(elements[index])) }
        }
        initialized = elements.count
      }
    }
  }

  /// Fewer elements than this per slice are mapped on the calling thread.
  private static var elementsPerSliceAtLeast: Int { 64 }
}
