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
  /// trans[i][j]), `KWayMerge`: O(L + k·log L) per (t, j), so O(T·L·(L + k·log L)) time and
  /// O(T·L·k) memory in all. Fewer than k paths come back when fewer exist.
  func nBest(
    _ k: Int, emissions e: MatrixView, parameters θ: UnsafeBufferPointer<Float>,
    constraints: TransitionConstraints? = nil
  ) -> [(path: [Int], score: Double)] {
    let T = e.rows
    let L = labelCount
    guard T > 0, k > 0 else { return [] }
    let scores = maskedScores(parameters: θ, constraints: constraints)
    let beams = NBestBeams(cells: T * L, k: k)  // beam[t][j] is cell t·L + j
    for j in 0..<L where scores.start[j] > -.infinity {
      beams.append(
        NBestEntry(score: scores.start[j] + Double(e[0, j]), previousLabel: -1, previousRank: -1),
        to: j)
    }
    let merge = KWayMerge(lists: L, k: k)
    // transitionsInto[j·L + i] = trans[i][j]: the column a beam merges over, contiguous.
    let transitionsInto = (0..<L * L).map { scores.transition[($0 % L) * L + $0 / L] }
    for t in 1..<T {
      for j in 0..<L {
        let emission = Double(e[t, j])
        transitionsInto.withUnsafeBufferPointer { all in
          let column = all.baseAddress! + j * L
          for i in 0..<L {
            merge.shifts[i] = column[i] > -.infinity ? column[i] + emission : -.infinity
          }
        }
        merge.best(of: beams, cells: (t - 1) * L)
        for r in 0..<merge.count { beams.append(merge.merged[r], to: t * L + j) }
      }
    }
    // previousLabel = the last label, previousRank = its rank in beam[T−1][label].
    for j in 0..<L { merge.shifts[j] = scores.end[j] }
    merge.best(of: beams, cells: (T - 1) * L)
    return (0..<merge.count).map { r in
      let final = merge.merged[r]
      var path = [Int](repeating: 0, count: T)
      var label = Int(final.previousLabel)
      var rank = Int(final.previousRank)
      for t in stride(from: T - 1, through: 0, by: -1) {
        path[t] = label
        let entry = beams.entry(rank, of: t * L + label)
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

/// The beams of list Viterbi, one per (t, label) cell, each up to k entries best first, in
/// one allocation read and written through pointers: with a Swift array per beam and the
/// lists merged through closures, `tag --nbest 2 --threads 1` of ATIS test took 5.5 s
/// instead of 0.9 s (tagging alone: 0.12 s).
final class NBestBeams {
  let k: Int
  private let entries: UnsafeMutablePointer<NBestEntry>  // (cells, k)
  private let counts: UnsafeMutablePointer<Int>  // (cells)

  init(cells: Int, k: Int) {
    self.k = k
    entries = .allocate(capacity: cells * k)
    counts = .allocate(capacity: cells)
    counts.initialize(repeating: 0, count: cells)
  }

  deinit {
    entries.deallocate()
    counts.deallocate()
  }

  @inline(__always) func count(of cell: Int) -> Int { counts[cell] }
  @inline(__always) func entry(_ rank: Int, of cell: Int) -> NBestEntry {
    entries[cell * k + rank]
  }

  @inline(__always) func append(_ entry: NBestEntry, to cell: Int) {
    (entries + cell * k + counts[cell]).initialize(to: entry)
    counts[cell] += 1
  }
}

/// The k best of L sorted lists merged: list i is the beam of cell `first + i` with
/// `shifts[i]` added to each score (−∞: list i takes no part), and each merged entry points
/// back at (i, rank in list i); `best` leaves them in `merged[0..<count]`, best first.
///
/// Heads are ordered by `MergeHead.precedes`, a strict total order (score, then list), so
/// the k best entries and their order are unique. A list whose head is not among the k best
/// heads is beaten by k entries of other lists, so none of its entries can be among the k
/// best: for small k the heads pass through a sorted array of the k best (one comparison
/// with the k-th for most lists), and the merge runs over those; for large k, through a
/// binary heap of all heads, built in O(L) and popped k times, O(L + k·log L).
final class KWayMerge {
  let lists: Int, k: Int
  /// Set by the caller before each `best`.
  let shifts: UnsafeMutablePointer<Double>
  let merged: UnsafeMutablePointer<NBestEntry>
  private(set) var count = 0
  private let heads: UnsafeMutablePointer<MergeHead>

  /// Up to this k the heads pass through a sorted array (O(L + k²) per merge when most
  /// lists fail the first comparison), beyond it through a heap.
  static let sortedHeadsLimit = 16

  init(lists: Int, k: Int) {
    (self.lists, self.k) = (lists, k)
    shifts = .allocate(capacity: lists)
    merged = .allocate(capacity: k)
    heads = .allocate(capacity: lists)
  }

  deinit {
    shifts.deallocate()
    merged.deallocate()
    heads.deallocate()
  }

  func best(of beams: NBestBeams, cells first: Int) {
    // Locals for the loops; `count` is stored once at the end.
    let (heads, shifts, lists, k) = (self.heads, self.shifts, self.lists, self.k)
    let sorted = k <= Self.sortedHeadsLimit
    var headCount = 0
    for i in 0..<lists where shifts[i] > -.infinity && beams.count(of: first + i) > 0 {
      let head = MergeHead(
        score: beams.entry(0, of: first + i).score + shifts[i], list: Int32(i), rank: 0)
      if !sorted {
        heads[headCount] = head
        headCount += 1
      } else if headCount < k || head.precedes(heads[k - 1]) {
        if headCount < k { headCount += 1 }
        heads[headCount - 1] = head
        Self.rise(headCount - 1, heads)
      }
    }
    if !sorted {
      for parent in stride(from: headCount / 2 - 1, through: 0, by: -1) {
        Self.siftDown(parent, heads, headCount)
      }
    }
    var count = 0
    while count < k && headCount > 0 {
      let top = heads[0]
      merged[count] = NBestEntry(score: top.score, previousLabel: top.list, previousRank: top.rank)
      count += 1
      // The list's next entry replaces its head, or the list leaves.
      let list = Int(top.list)
      let next = Int(top.rank) + 1
      if next < beams.count(of: first + list) {
        heads[0].score = beams.entry(next, of: first + list).score + shifts[list]
        heads[0].rank = Int32(next)
      } else {
        headCount -= 1
        heads[0] = heads[headCount]
      }
      if sorted { Self.sink(0, heads, headCount) } else { Self.siftDown(0, heads, headCount) }
    }
    self.count = count
  }

  /// Sorted array: moves the head at `index` up past the heads it precedes.
  private static func rise(_ index: Int, _ heads: UnsafeMutablePointer<MergeHead>) {
    var p = index
    while p > 0 && heads[p].precedes(heads[p - 1]) {
      (heads[p], heads[p - 1]) = (heads[p - 1], heads[p])
      p -= 1
    }
  }

  /// Sorted array of `count`: moves the head at `index` down past the heads that precede it.
  private static func sink(_ index: Int, _ heads: UnsafeMutablePointer<MergeHead>, _ count: Int) {
    var p = index
    while p + 1 < count && heads[p + 1].precedes(heads[p]) {
      (heads[p], heads[p + 1]) = (heads[p + 1], heads[p])
      p += 1
    }
  }

  /// Heap of `count`: moves the head at `start` down until it precedes both children.
  private static func siftDown(
    _ start: Int, _ heads: UnsafeMutablePointer<MergeHead>, _ count: Int
  ) {
    var parent = start
    while true {
      let left = 2 * parent + 1
      let right = left + 1
      var best = parent
      if left < count, heads[left].precedes(heads[best]) { best = left }
      if right < count, heads[right].precedes(heads[best]) { best = right }
      guard best != parent else { return }
      (heads[parent], heads[best]) = (heads[best], heads[parent])
      parent = best
    }
  }
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
