extension LinearChain {
  /// The `k` highest-scoring paths, best first, exactly: list Viterbi, which keeps the k best
  /// partial paths ending in each (t, label) instead of one:
  ///   beam[0][j]  = { start[j] + e[0][j] }
  ///   beam[t][j]  = k-best over i, r of beam[t−1][i][r] + trans[i][j] + e[t][j]
  ///   result      = k-best over j, r of beam[T−1][j][r] + end[j], followed back.
  /// Any path outside the k best partial paths of some (t, j) is beaten there by k others that
  /// share its future, so it cannot be among the k best overall. Forbidden transitions (with
  /// `constraints`) are skipped. Ties keep the order of generation (lower i, then lower rank).
  /// Costs O(T·L²·k) time; fewer than k paths come back when fewer exist.
  public func nBest(
    _ k: Int, emissions e: MatrixView, parameters θ: UnsafeBufferPointer<Float>,
    constraints: TransitionConstraints? = nil
  ) -> [(path: [Int], score: Double)] {
    let T = e.rows, L = labelCount
    guard T > 0, k > 0 else { return [] }
    func insert(_ entry: NBestEntry, into list: inout [NBestEntry]) { list.insertKeepingBest(entry, k: k) }
    let scores = maskedScores(parameters: θ, constraints: constraints)
    var beams = [[NBestEntry]](repeating: [], count: T * L)  // (T, L) lists of up to k entries
    for j in 0..<L where scores.start[j] > -.infinity {
      beams[j] = [NBestEntry(score: scores.start[j] + Double(e[0, j]), previousLabel: -1, previousRank: -1)]
    }
    for t in 1..<T {
      for j in 0..<L {
        var list: [NBestEntry] = []
        list.reserveCapacity(k)
        let emission = Double(e[t, j])
        for i in 0..<L where scores.transition[i * L + j] > -.infinity {
          let transition = scores.transition[i * L + j]
          for (rank, entry) in beams[(t - 1) * L + i].enumerated() {
            insert(
              NBestEntry(score: entry.score + transition + emission, previousLabel: Int32(i), previousRank: Int32(rank)),
              into: &list)
          }
        }
        beams[t * L + j] = list
      }
    }
    var finals: [NBestEntry] = []  // previousLabel = last label, previousRank = its rank
    for j in 0..<L where scores.end[j] > -.infinity {
      for (rank, entry) in beams[(T - 1) * L + j].enumerated() {
        insert(
          NBestEntry(score: entry.score + scores.end[j], previousLabel: Int32(j), previousRank: Int32(rank)),
          into: &finals)
      }
    }
    return finals.map { final in
      var path = [Int](repeating: 0, count: T)
      var label = Int(final.previousLabel), rank = Int(final.previousRank)
      for t in stride(from: T - 1, through: 0, by: -1) {
        path[t] = label
        let entry = beams[t * L + label][rank]
        label = Int(entry.previousLabel)
        rank = Int(entry.previousRank)
      }
      return (path, final.score)
    }
  }
}

/// A partial path in list Viterbi: its score and where it came from.
struct NBestEntry {
  var score: Double
  var previousLabel: Int32
  var previousRank: Int32
}

extension Array where Element == NBestEntry {
  /// Inserts into a list kept sorted best first and at most k long; strict > keeps ties in
  /// the order they were generated.
  mutating func insertKeepingBest(_ entry: NBestEntry, k: Int) {
    if count == k, entry.score <= self[k - 1].score { return }
    var position = count
    while position > 0, entry.score > self[position - 1].score { position -= 1 }
    insert(entry, at: position)
    if count > k { removeLast() }
  }
}
