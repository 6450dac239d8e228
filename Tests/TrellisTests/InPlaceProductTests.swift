import Foundation
import TrellisKernels
import XCTest

@testable import Trellis

/// `packed_product_in_place` reads the second operand w `(depth, columns)` where it is stored,
/// all but its last partial panel, which comes from `trellis_pack_last_panel_transposed`'s copy.
/// Against the scalar sum of the level's kind (fused or not) at every level this CPU has, bit
/// for bit, with w ending at an unreadable page, so that a read past its last element crashes
/// the test instead of passing unseen.
final class InPlaceProductTests: XCTestCase {
  let levels = KernelLevel.allCases.filter { $0 <= KernelLevel.supported }

  /// `values` copied to the end of a mapping whose next page is unreadable; `body` gets the
  /// copy.
  func withGuardedCopy(_ values: [Float], _ body: (UnsafePointer<Float>) -> Void) {
    let page = Int(sysconf(Int32(_SC_PAGESIZE)))
    let bytes = values.count * MemoryLayout<Float>.stride
    let readable = (bytes + page - 1) / page * page
    guard
      let base = mmap(nil, readable + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
      base != MAP_FAILED
    else { return XCTFail("mmap failed") }
    defer { munmap(base, readable + page) }
    XCTAssertEqual(mprotect(base + readable, page, PROT_NONE), 0)
    let copy = (base + readable - bytes).bindMemory(to: Float.self, capacity: values.count)
    copy.update(from: values, count: values.count)
    body(copy)
  }

  /// Columns within one panel (half and wide), exactly full panels, full panels and a half or
  /// wide last one, groups of three with a last one of either kind, the hidden size and 400
  /// gates; depths of one step, a few, the hidden size and past the blocks that transposed
  /// products take their depth in (128, 64 at AVX-512); rows of every tile height. Both modes,
  /// with a as stored and read from its transpose.
  func testInPlaceProductMatchesScalarCode() {
    var rng = SplitMix64(seed: 29)
    for depth in [1, 5, 100, 200] {
      for columns in [1, 8, 9, 15, 16, 17, 24, 25, 41, 56, 100, 400] {
        let w = (0..<depth * columns).map { _ in 2 * rng.nextUnitFloat() - 1 }
        var tail = [Float](repeating: .nan, count: max(16 * depth, 1))
        trellis_pack_last_panel_transposed(w, depth, columns, &tail)
        for rows in [1, 3, 8, 13, 32] {
          let a = (0..<rows * depth).map { _ in 4 * rng.nextUnitFloat() - 2 }
          let aTransposed = (0..<depth * rows).map { a[($0 % rows) * depth + $0 / rows] }
          let initial = (0..<rows * columns).map { Float($0 % 7) - 3 }
          for level in levels {
            let sums = scalarProduct(
              a, rows: rows, depth: depth, columns: columns, fused: level.fusesMultiplyAdds
            ) { w[$1 * columns + $0] }
            for (stored, strides) in [(a, (depth, 1)), (aTransposed, (1, rows))] {
              for adds in [false, true] {
                var c = initial + [.nan]
                withGuardedCopy(w) { w in
                  level.kernels.packed_product_in_place(
                    stored, strides.0, strides.1, rows, depth, w,
                    columns % 16 == 0 ? nil : tail, columns, &c, adds)
                }
                XCTAssertTrue(c[rows * columns].isNaN, "wrote past c, \(level.name)")
                let expected = adds ? zip(initial, sums).map { $0 + $1 } : sums
                let what =
                  "\(adds ? "c + " : "")A·w, strides \(strides), \(rows)×\(depth), "
                  + "\(columns) columns, \(level.name)"
                for (k, (x, y)) in zip(c, expected).enumerated() where x.bitPattern != y.bitPattern {
                  XCTFail("\(what): element \(k) is \(x), expected \(y)")
                  break
                }
              }
            }
          }
        }
      }
    }
  }

  /// The last panel's copy holds the documented layout: w's columns past its full panels, in
  /// order, then zeros to 16; trellis_pack_panels_transposed's last panel is the same copy.
  func testLastPanelHoldsTheColumnsPastTheFullPanels() {
    for (depth, columns) in [(1, 1), (3, 15), (5, 17), (7, 40), (2, 100)] {
      let w = (0..<depth * columns).map { Float($0 + 1) }
      var tail = [Float](repeating: .nan, count: 16 * depth)
      trellis_pack_last_panel_transposed(w, depth, columns, &tail)
      let first = columns / 16 * 16
      let expected = (0..<16 * depth).map { i -> Float in
        let (k, l) = i.quotientAndRemainder(dividingBy: 16)
        return first + l < columns ? w[k * columns + first + l] : 0
      }
      XCTAssertEqual(tail.map(\.bitPattern), expected.map(\.bitPattern), "\(depth)×\(columns)")
      var panels = [Float](repeating: .nan, count: trellis_panels_size(columns, depth))
      trellis_pack_panels_transposed(w, depth, columns, &panels)
      XCTAssertEqual(
        Array(panels[(first * depth)...]).map(\.bitPattern), expected.map(\.bitPattern),
        "packed copy's last panel, \(depth)×\(columns)")
    }
  }
}
