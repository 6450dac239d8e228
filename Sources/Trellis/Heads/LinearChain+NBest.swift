extension LinearChain {
  /// The `k` highest-scoring paths, best first, exactly: list Viterbi, which keeps the k best
  /// partial paths ending in each (t, label) instead of one:
  ///   beam[0][j]  = { start[j] + e[0][j] }
  ///   beam[t][j]  = k-best over i, r of beam[t−1][i][r] + trans[i][j] + e[t][j]
  ///   result      = k-best over j, r of beam[T−1][j][r] + end[j], followed back.
  /// Any path outside the k best partial paths of some (t, j) is beaten there by k others that
  /// share its future, so it cannot be among the k best overall. Forbidden transitions (with
  /// `constraints`) are skipped. Ties keep the order of generation (lower i, then lower rank).
  ///
  /// Each beam is a k-way merge of L lists that are already sorted (beam[t−1][i] shifted by
  /// trans[i][j]), through a heap of their heads: O(L + k·log L) per (t, j), so
  /// O(T·L·(L + k·log L)) time and O(T·L·k) memory in all. Fewer than k paths come back when
  /// fewer exist.
  func nBest(
    _ k: Int, emissions e: MatrixView, parameters θ: UnsafeBufferPointer<Float>,
    constraints: TransitionConstraints? = nil
  ) -> [(path: [Int], score: Double)] {
    let T = e.rows
    let L = labelCount
    guard T > 0, k > 0 else { return [] }
    let scores = maskedScores(parameters: θ, constraints: constraints)
    var beams = [[NBestEntry]](repeating: [], count: T * L)  // (T, L) lists of up to k entries
    for j in 0..<L where scores.start[j] > -.infinity {
      beams[j] = [
        NBestEntry(score: scores.start[j] + Double(e[0, j]), previousLabel: -1, previousRank: -1)
      ]
    }
    for t in 1..<T {
      for j in 0..<L {
        let emission = Double(e[t, j])
        beams[t * L + j] = mergeBest(k, lists: L) { i in
          let transition = scores.transition[i * L + j]
          return transition > -.infinity ? (beams[(t - 1) * L + i], transition + emission) : nil
        }
      }
    }
    // previousLabel = the last label, previousRank = its rank in beam[T−1][label].
    let finals = mergeBest(k, lists: L) { j in
      scores.end[j] > -.infinity ? (beams[(T - 1) * L + j], scores.end[j]) : nil
    }
    return finals.map { final in
      var path = [Int](repeating: 0, count: T)
      var label = Int(final.previousLabel)
      var rank = Int(final.previousRank)
      for t in stride(from: T - 1, through: 0, by: -1) {
        path[t] = label
        let entry = beams[t * L + label][rank]
        label = Int(entry.previousLabel)
        rank = Int(entry.previousRank)
      }
      return (path, final.score)
    }
  }

  /// The k best of `lists` 0..<count merged, where `list(i)` is a list sorted best first and a
  /// shift added to each of its scores (nil: list i takes no part). The result's entries point
  /// back at (i, rank in list i).
  private func mergeBest(
    _ k: Int, lists count: Int, _ list: (Int) -> (entries: [NBestEntry], shift: Double)?
  ) -> [NBestEntry] {
    var heads = MergeHeap()
    let sources = (0..<count).map(list)
    for i in 0..<count {
      guard let source = sources[i], let first = source.entries.first else { continue }
      heads.push(MergeHead(score: first.score + source.shift, list: Int32(i), rank: 0))
    }
    var merged: [NBestEntry] = []
    merged.reserveCapacity(k)
    while merged.count < k, let best = heads.pop() {
      merged.append(
        NBestEntry(score: best.score, previousLabel: best.list, previousRank: best.rank))
      let source = sources[Int(best.list)]!
      let next = Int(best.rank) + 1
      if next < source.entries.count {
        heads.push(
          MergeHead(
            score: source.entries[next].score + source.shift, list: best.list, rank: Int32(next)))
      }
    }
    return merged
  }
}

/// A partial path in list Viterbi: its score and where it came from.
struct NBestEntry {
  var score: Double
  var previousLabel: Int32
  var previousRank: Int32
}

/// The head of one list in a k-way merge.
struct MergeHead {
  var score: Double
  var list: Int32
  var rank: Int32

  /// Higher score first; among equal scores the earlier generated (lower list, then lower
  /// rank), which is the order a sequential scan with strict comparisons would give.
  func precedes(_ other: MergeHead) -> Bool {
    score != other.score ? score > other.score : (list, rank) < (other.list, other.rank)
  }
}

/// A binary heap of merge heads, the best (`precedes`) on top.
struct MergeHeap {
  private var items: [MergeHead] = []

  mutating func push(_ item: MergeHead) {
    items.append(item)
    var child = items.count - 1
    while child > 0 {
      let parent = (child - 1) / 2
      guard items[child].precedes(items[parent]) else { break }
      items.swapAt(child, parent)
      child = parent
    }
  }

  mutating func pop() -> MergeHead? {
    guard let top = items.first else { return nil }
    let last = items.removeLast()
    guard !items.isEmpty else { return top }
    items[0] = last
    var parent = 0
    while true {
      let left = 2 * parent + 1
      let right = left + 1
      var best = parent
      if left < items.count, items[left].precedes(items[best]) { best = left }
      if right < items.count, items[right].precedes(items[best]) { best = right }
      guard best != parent else { return top }
      items.swapAt(parent, best)
      parent = best
    }
  }
}
