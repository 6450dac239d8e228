import Foundation
import TrellisKernels

/// A grow-only Float buffer: the layers' per-batch activations reuse one allocation once the
/// longest batch has been seen (crfsuite's `cap_items`). The heads' dynamic programs still
/// allocate their own tables (forward–backward three T·B·L arrays per batch, Viterbi a T·L
/// table per sentence), which a program that owns its process keeps off fresh pages with
/// `reuseLargeFreedBlocks()`.
///
/// Contract: a pointer from `reserve` or `zeroed` is valid for the `count` Floats asked for
/// until the next `reserve`/`zeroed` on the same Scratch, which may move it.
///
/// Buffers of 64 KB and more are mapped pages of their own (mmap), not heap blocks: a buffer
/// given up when it grows goes back to the system at once instead of staying in a malloc
/// arena, where the per-batch arrays would fragment it. A mapping spans `mappingHeadroom`
/// times the Floats asked for, at most `largestHeadroom` more: its pages cost nothing until
/// touched (past the longest batch, never), and the longer batches that follow fit without a
/// new mapping whose every page faults in again (a buffer made for one size, `oneSize`, maps
/// just that). Smaller buffers, and any the system will not map (its limit on mappings or on
/// committed memory), come from malloc.
final class Scratch {
  private(set) var pointer: UnsafeMutablePointer<Float>
  private(set) var capacity: Int
  /// Whether `pointer` is a mapping (else a malloc block).
  private var isMapped = false
  /// Whether the buffer is reserved once, for one size, and maps no headroom.
  private let oneSize: Bool

  /// Floats from which a buffer gets pages of its own: 64 KB.
  private static let mappingThreshold = 16_384
  /// A mapping's size over the request. With 4, a one-epoch ATIS training (whose batches run
  /// to between 5 and 46 steps, in random order) faulted in 11,600 pages instead of 19,300,
  /// and its epoch ran 1.03–1.045× as fast (Eval/SPEED.md, session 23); 16 saved no more.
  private static let mappingHeadroom = 4
  /// The most Floats of headroom a mapping takes: 16 MiB. Larger buffers are a long
  /// sentence's or a large model's, whose pages' faults cost little beside the work on them,
  /// while the headroom's address space, all of it counted under `ulimit -v`, was three
  /// times what the buffers touched (`tag` of one sentence of 99,999 tokens peaked at 4 GB of
  /// address space for 1 GB of memory, and under `ulimit -v 3000000` stopped for want of it).
  private static let largestHeadroom = 1 << 22

  /// `oneSize`: the buffer is reserved once (weights derived for inference), and its mapping
  /// leaves out the headroom.
  init(oneSize: Bool = false) {
    capacity = 0
    self.oneSize = oneSize
    pointer = .allocate(capacity: 1)
  }

  deinit { release() }

  /// A pointer to at least `count` Floats; contents are unspecified after growth.
  func reserve(_ count: Int) -> UnsafeMutablePointer<Float> {
    if count > capacity {
      release()
      let wanted = max(count, capacity * 3 / 2)
      let headroom =
        oneSize ? 0 : min(count * (Scratch.mappingHeadroom - 1), Scratch.largestHeadroom)
      // Half as much again as before at the least, as a malloc block grows: past the cap's
      // size, a batch a little longer than the last would map anew each time.
      if wanted >= Scratch.mappingThreshold,
        let mapped = Scratch.map(atLeast: max(wanted, count + headroom))
      {
        (pointer, capacity, isMapped) = (mapped.pointer, mapped.capacity, true)
      } else {
        (pointer, capacity, isMapped) = (.allocate(capacity: wanted), wanted, false)
      }
    }
    return pointer
  }

  /// A pointer to `count` zeroed Floats.
  func zeroed(_ count: Int) -> UnsafeMutablePointer<Float> {
    let p = reserve(count)
    p.update(repeating: 0, count: count)
    return p
  }

  private func release() {
    if isMapped {
      munmap(pointer, capacity * MemoryLayout<Float>.stride)
    } else {
      pointer.deallocate()
    }
  }

  private static let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))

  /// Whole pages for at least `count` Floats, and how many Floats they hold; nil when the
  /// system refuses the mapping.
  private static func map(atLeast count: Int)
    -> (pointer: UnsafeMutablePointer<Float>, capacity: Int)?
  {
    let bytes = (count * MemoryLayout<Float>.stride + pageSize - 1) / pageSize * pageSize
    let address = mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
    guard let address, address != MAP_FAILED else { return nil }
    let capacity = bytes / MemoryLayout<Float>.stride
    return (address.bindMemory(to: Float.self, capacity: capacity), capacity)
  }
}

/// Makes glibc's malloc serve large blocks from its heaps and keep them there when freed, for
/// a program whose steps free and allocate the same large arrays (the CRF's forward–backward
/// tables and potentials, each batch; one epoch of ATIS allocates them 280 times).
///
/// Why: glibc starts its thresholds for mapping a block and for trimming a heap at 128 KiB
/// and raises them only as it sees large blocks freed, so through the first epoch such an
/// array was a fresh mapping or grew a trimmed heap again, and every page of it was a page
/// fault: 12,000 of a one-epoch ATIS training's 31,000, which ran 1.05× as fast without them
/// (Eval/SPEED.md, session 23). `trellis_reuse_large_freed_blocks` sets both where glibc's
/// own raising ends.
///
/// Process-wide, so the library never calls it: the `trellis` and `trellis-serve` programs do
/// before they read anything; a host process may set `GLIBC_TUNABLES` alike.
package func reuseLargeFreedBlocks() {
  trellis_reuse_large_freed_blocks()
}

/// For a long-running server: at most `count` malloc arenas, where glibc makes up to 8 a core,
/// each reserving 64 MiB of address space and keeping what its threads freed. Under `ulimit
/// -v` their reservations left too little for SwiftNIO's threads, whose start then trapped.
package func limitMallocArenas(to count: Int) {
  trellis_limit_malloc_arenas(Int32(clamping: count))
}

/// Returns the heaps' free pages to the system (glibc's `malloc_trim`): for a server gone idle,
/// which otherwise keeps the peak of its busiest minute (`reuseLargeFreedBlocks` keeps blocks
/// of up to 32 MiB in the heaps).
package func releaseFreeMemory() {
  trellis_release_free_memory()
}

/// Adds `bias` (n) to each of `rows` rows of `matrix` (rows, n).
func addBias(
  _ bias: UnsafePointer<Float>, to matrix: UnsafeMutablePointer<Float>, rows: Int, n: Int
) {
  for r in 0..<rows { add(bias, to: matrix + r * n, count: n) }
}

/// `sums[j] += Σ_r matrix[r][j]` over `rows` rows of width `n` (a bias gradient), rows in order.
func addColumnSums(
  of matrix: UnsafePointer<Float>, rows: Int, n: Int, to sums: UnsafeMutablePointer<Float>
) {
  for r in 0..<rows { add(matrix + r * n, to: sums, count: n) }
}

/// `y[j] += x[j]` for j < count, 16 at a time. Written as a loop over j, clang adds one float
/// at a time, since it cannot rule out that y overlaps x; each sum is the same either way.
@inline(__always)
private func add(_ x: UnsafePointer<Float>, to y: UnsafeMutablePointer<Float>, count: Int) {
  var j = 0
  while j + 16 <= count {
    let sum =
      UnsafeRawPointer(x + j).loadUnaligned(as: SIMD16<Float>.self)
      + UnsafeRawPointer(y + j).loadUnaligned(as: SIMD16<Float>.self)
    UnsafeMutableRawPointer(y + j).storeBytes(of: sum, as: SIMD16<Float>.self)
    j += 16
  }
  while j < count {
    y[j] += x[j]
    j += 1
  }
}
