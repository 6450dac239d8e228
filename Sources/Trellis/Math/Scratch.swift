/// A grow-only Float buffer: the layers' per-batch activations reuse one allocation once the
/// longest batch has been seen (crfsuite's `cap_items`). The heads' dynamic programs still
/// allocate their own tables (forward–backward four T·B·L arrays per batch, Viterbi a T·L
/// table per sentence): small next to the activations, and kept simple on purpose.
///
/// Contract: a pointer from `reserve` or `zeroed` is valid for the `count` Floats asked for
/// until the next `reserve`/`zeroed` on the same Scratch, which may move it.
final class Scratch {
  private(set) var pointer: UnsafeMutablePointer<Float>
  private(set) var capacity: Int

  init() {
    capacity = 0
    pointer = .allocate(capacity: 1)
  }

  deinit { pointer.deallocate() }

  /// A pointer to at least `count` Floats; contents are unspecified after growth.
  func reserve(_ count: Int) -> UnsafeMutablePointer<Float> {
    if count > capacity {
      pointer.deallocate()
      capacity = max(count, capacity * 3 / 2)
      pointer = .allocate(capacity: capacity)
    }
    return pointer
  }

  /// A pointer to `count` zeroed Floats.
  func zeroed(_ count: Int) -> UnsafeMutablePointer<Float> {
    let p = reserve(count)
    p.update(repeating: 0, count: count)
    return p
  }
}

/// Adds `bias` (n) to each of `rows` rows of `matrix` (rows, n).
func addBias(
  _ bias: UnsafePointer<Float>, to matrix: UnsafeMutablePointer<Float>, rows: Int, n: Int
) {
  for r in 0..<rows {
    let row = matrix + r * n
    for j in 0..<n { row[j] += bias[j] }
  }
}

/// `sums[j] += Σ_r matrix[r][j]` over `rows` rows of width `n` (a bias gradient).
func addColumnSums(
  of matrix: UnsafePointer<Float>, rows: Int, n: Int, to sums: UnsafeMutablePointer<Float>
) {
  for r in 0..<rows {
    let row = matrix + r * n
    for j in 0..<n { sums[j] += row[j] }
  }
}
