import Foundation
import TrellisKernels
import XCTest

@testable import Trellis

/// Every instruction-set level of the vector kernels that this CPU supports, against scalar
/// Swift that performs the same IEEE operations in the same order: the results must agree bit
/// for bit (tolerance zero), so the level chosen at run time can never change a model, a score
/// or a label silently. The packed products are checked against the scalar sum of their own
/// kind: each step fused (`Float.addingProduct`, rounded once) at a level that fuses them, and
/// rounded twice at one that does not. (A CPU without AVX-512 or AVX2 tests the levels it has;
/// `TRELLIS_KERNELS` picks the level of a whole process, KernelChoiceTests.)
final class KernelLevelTests: XCTestCase {
  let levels = KernelLevel.allCases.filter { $0 <= KernelLevel.supported }

  /// `count` values spread over ±`range`, then the extremes: signed zeros, subnormals, the
  /// clamp bounds of exp and just beyond, huge magnitudes and infinities (no NaN).
  func inputs(_ count: Int, range: Float, seed: UInt64) -> [Float] {
    var rng = SplitMix64(seed: seed)
    let extremes: [Float] = [
      0, Float.leastNonzeroMagnitude, 1e-30, 1e-7, 87.3, 88.3, 88.7, 89, 100, 1e30,
      Float.greatestFiniteMagnitude, .infinity,
    ]
    return (0..<count).map { _ in (2 * rng.nextUnitFloat() - 1) * range }
      + extremes + extremes.map { -$0 }
  }

  func assertBitIdentical(
    _ a: [Float], _ b: [Float], _ what: String, file: StaticString = #filePath, line: UInt = #line
  ) {
    XCTAssertEqual(a.count, b.count, what, file: file, line: line)
    for (k, (x, y)) in zip(a, b).enumerated() where x.bitPattern != y.bitPattern {
      XCTFail("\(what): element \(k) is \(x), expected \(y)", file: file, line: line)
      return
    }
  }

  /// `f` of one level on `x` (out of place, and in place with the same result).
  func run(
    _ f: (UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void, _ x: [Float]
  ) -> [Float] {
    var y = [Float](repeating: .nan, count: x.count)
    x.withUnsafeBufferPointer { x in
      y.withUnsafeMutableBufferPointer { f(x.baseAddress!, $0.baseAddress!, x.count) }
    }
    var inPlace = x
    inPlace.withUnsafeMutableBufferPointer { f($0.baseAddress!, $0.baseAddress!, $0.count) }
    assertBitIdentical(inPlace, y, "in place")
    return y
  }

  func testExpSigmoidTanhMatchScalarCode() {
    // 1,000 random values and 24 extremes: 64 vectors of 16 and a tail of 0 lanes; 1,001 and
    // 1,015 leave tails of 1 and 15.
    for count in [1_000, 1_001, 1_015] {
      let x = inputs(count, range: 120, seed: UInt64(count))
      for level in levels {
        let kernels = level.kernels
        let fused = level.fusesMultiplyAdds
        let expected = (
          exp: x.map { $0 < -87.3 ? 0 : scalarExp($0, fused: fused) },
          σ: x.map { scalarSigmoid($0, fused: fused) },
          tanh: x.map { scalarTanh($0, fused: fused) }
        )
        assertBitIdentical(run(kernels.exp, x), expected.exp, "exp, \(level.name)")
        assertBitIdentical(run(kernels.sigmoid, x), expected.σ, "σ, \(level.name)")
        assertBitIdentical(run(kernels.tanh, x), expected.tanh, "tanh, \(level.name)")
        // exp is 0 exactly where its argument is below the range, positive elsewhere.
        XCTAssertTrue(
          zip(x, run(kernels.exp, x)).allSatisfy { $0 < -87.3 ? $1 == 0 : $1.isFinite && $1 > 0 },
          level.name)
        XCTAssertTrue(run(kernels.sigmoid, x).allSatisfy { $0 >= 0 && $0 <= 1 }, level.name)
        XCTAssertTrue(run(kernels.tanh, x).allSatisfy { $0 >= -1 && $0 <= 1 }, level.name)
      }
      // The two scalar forms must differ on some of these inputs (about 1% of them), or the
      // comparison above could not tell a level that fuses from one that does not.
      XCTAssertTrue(
        x.contains { scalarExp($0, fused: true) != scalarExp($0, fused: false) },
        "fused and unfused exp give the same bits on every input")
    }
  }

  /// exp within 1.01 ulp of the exact e^x (libm's Double exp rounded to its nearest Float's
  /// ulp) at every level, on every 1,021st Float of the clamped range [−87.3, 88.3] (2.2
  /// million values over all its exponents), fused or not.
  func testExpIsWithinOneUlp() {
    let first = Float(-87.3).bitPattern
    let last = Float(88.3).bitPattern
    // Negative Floats' bit patterns count down towards −0, positive ones up from +0.
    let x =
      stride(from: first, to: 0x8000_0000, by: -1_021).map(Float.init(bitPattern:))
      + stride(from: 0, through: last, by: 1_021).map(Float.init(bitPattern:))
    for level in levels {
      var y = [Float](repeating: .nan, count: x.count)
      level.kernels.exp(x, &y, x.count)
      var worst = (error: 0.0, at: Float(0))
      for (value, result) in zip(x, y) {
        let exact = Foundation.exp(Double(value))
        let error = abs(Double(result) - exact) / Double(Float(exact).ulp)
        if error > worst.error { worst = (error, value) }
      }
      XCTAssertLessThanOrEqual(worst.error, 1.01, "\(level.name): worst at e^\(worst.at)")
    }
  }

  /// The CRF's Double exp on 1,000 values over [−750, 0] and 12 extremes (tails of 0, 1 and 7
  /// lanes): bit for bit the scalar form below at every level, within 4 ulp of libm's exp down
  /// to −700, and exactly 0 below −708.39 and at −∞.
  func testDoubleExpMatchesScalarCodeAndLibm() {
    let extremes: [Double] = [
      0, -0.0, -1e-300, -0.34, -0.35, -1, -700, -708.38, -708.4, -745, -1e308, -.infinity,
    ]
    for count in [988, 989, 995] {
      var rng = SplitMix64(seed: UInt64(count))
      let x = (0..<count).map { _ in -750 * Double(rng.nextUnitFloat()) } + extremes
      let expected = x.map(scalarExpDouble)
      for level in levels {
        var y = [Double](repeating: .nan, count: x.count)
        level.kernels.exp_f64(x, &y, x.count)
        for (k, (got, want)) in zip(y, expected).enumerated()
        where got.bitPattern != want.bitPattern {
          XCTFail("exp_f64 \(level.name): e^\(x[k]) is \(got), expected \(want)")
          break
        }
      }
      for (value, result) in zip(x, expected) {
        if value >= -700 {
          XCTAssertLessThanOrEqual(abs(result - exp(value)), 4 * exp(value).ulp, "e^\(value)")
        } else if value < -708.39 {
          XCTAssertEqual(result, 0, "e^\(value)")
        }
      }
    }
  }

  /// The Float potentials' kernel on the same values minus shifts of 0, −3.5 and 700 (tails
  /// of 0, 1 and 7 lanes): bit for bit `Float` of the scalar Double exp of x − shift at every
  /// level, as Swift computed them before the kernel.
  func testShiftedDoubleExpToFloatMatchesScalarCode() {
    for (count, shift) in [(988, 0.0), (989, -3.5), (995, 700)] {
      var rng = SplitMix64(seed: UInt64(count))
      let x = (0..<count).map { _ in -750 * Double(rng.nextUnitFloat()) } + [0, -0.0, -.infinity]
      let expected = x.map { Float(scalarExpDouble($0 - shift)) }
      for level in levels {
        var y = [Float](repeating: .nan, count: x.count)
        level.kernels.exp_shifted_f64_to_f32(x, shift, &y, x.count)
        for (k, (got, want)) in zip(y, expected).enumerated()
        where got.bitPattern != want.bitPattern {
          XCTFail("exp_shifted \(level.name): e^(\(x[k]) − \(shift)) is \(got), expected \(want)")
          break
        }
      }
    }
  }

  /// Label counts that exercise each grouping of the kernel's blocks of 16 columns (at most 8,
  /// 4 or 2 per pass over the previous labels at AVX-512, AVX2 and SSE2): L = 37 (3 blocks, the
  /// last partly padding with −∞), 64 (4), 127 (8, as ATIS's labels) and 150 (10). Scores are
  /// rounded to quarters so that ties are common, with forbidden (−∞) previous labels and
  /// transitions.
  func testViterbiStepMatchesScalarCode() {
    var rng = SplitMix64(seed: 7)
    func score() -> Float {
      rng.nextUnitFloat() < 0.2 ? -.infinity : ((rng.nextUnitFloat() * 16).rounded() - 8) / 4
    }
    for L in [37, 64, 127, 150] {
      let stride = (L + 15) / 16 * 16
      var transition = [Float](repeating: -.infinity, count: L * stride)
      for i in 0..<L { for j in 0..<L { transition[i * stride + j] = score() } }
      for trial in 0..<20 {
        var delta = (0..<stride).map { _ in score() }
        if trial == 0 { delta = [Float](repeating: -.infinity, count: stride) }
        var expected = (
          best: [Float](repeating: -.infinity, count: stride),
          pointers: [Int32](repeating: 0, count: stride)
        )
        for j in 0..<stride {
          for i in 0..<L where delta[i] > -.infinity {
            let candidate = delta[i] + transition[i * stride + j]
            if candidate > expected.best[j] {
              (expected.best[j], expected.pointers[j]) = (candidate, Int32(i))
            }
          }
        }
        let rows = (0..<L).filter { delta[$0] > -.infinity }.map(Int32.init)
        for level in levels {
          var best = [Float](repeating: .nan, count: stride)
          var pointers = [Int32](repeating: -1, count: stride)
          level.kernels.viterbi_step(
            delta, transition, rows, rows.count, stride, &best, &pointers)
          let context = "L = \(L), \(level.name), trial \(trial)"
          assertBitIdentical(best, expected.best, "Viterbi δ, \(context)")
          XCTAssertEqual(pointers, expected.pointers, "Viterbi ψ, \(context)")
        }
      }
    }
  }

  /// The live rows that each level's viterbi_live_rows lists give every level's step the bits
  /// of a step over every row with δ > −∞, with δ spread from 0 to 30 apart (a trained
  /// tagger's peaked scores, where most rows are left out) or 1 apart (none left out),
  /// quarters so that ties are common, −∞ among δ and in a tenth of the rows' transitions (a
  /// row with one sets no floor), and L = 120 in a stride of 128 (padding rows −∞). Every level
  /// lists the same rows, which a scalar form of the rule gives too.
  func testViterbiLiveRowsGiveEveryRowsStep() {
    var rng = SplitMix64(seed: 8)
    func quarter(_ scale: Float) -> Float { ((rng.nextUnitFloat() * 4 * scale).rounded()) / 4 }
    let L = 120
    let stride = (L + 15) / 16 * 16
    var prunedRows = 0
    for trial in 0..<40 {
      let spread: Float = trial % 2 == 0 ? 30 : 1
      var transition = [Float](repeating: -.infinity, count: L * stride)
      for i in 0..<L {
        for j in 0..<L {
          let forbidden = i % 10 == 3 && rng.nextUnitFloat() < 0.1
          transition[i * stride + j] = forbidden ? -.infinity : quarter(4) - 2
        }
      }
      let padding = [Float](repeating: -.infinity, count: stride - L)
      var rowMax: [Float] = []
      var rowMin: [Float] = []
      for i in 0..<L {
        let row = transition[(i * stride)..<(i * stride + L)]
        rowMax.append(row.max()!)
        rowMin.append(row.min()!)
      }
      rowMax += padding
      rowMin += padding
      let delta =
        (0..<L).map { _ in rng.nextUnitFloat() < 0.1 ? -.infinity : quarter(spread) - spread }
        + padding
      let floor = (0..<L).map { delta[$0] + rowMin[$0] }.max()!
      let expectedRows = (0..<L).filter {
        delta[$0] > -.infinity && !(delta[$0] + rowMax[$0] < floor)
      }.map(Int32.init)
      let everyRow = (0..<L).filter { delta[$0] > -.infinity }.map(Int32.init)
      prunedRows += everyRow.count - expectedRows.count
      for level in levels {
        var rows = [Int32](repeating: -1, count: stride)
        let rowCount = level.kernels.viterbi_live_rows(delta, stride, rowMax, rowMin, &rows)
        let context = "\(level.name), trial \(trial)"
        XCTAssertEqual(Array(rows[..<rowCount]), expectedRows, "live rows, \(context)")
        var expected = (
          best: [Float](repeating: .nan, count: stride),
          pointers: [Int32](repeating: -1, count: stride)
        )
        level.kernels.viterbi_step(
          delta, transition, everyRow, everyRow.count, stride, &expected.best,
          &expected.pointers)
        var best = [Float](repeating: .nan, count: stride)
        var pointers = [Int32](repeating: -1, count: stride)
        level.kernels.viterbi_step(delta, transition, rows, rowCount, stride, &best, &pointers)
        assertBitIdentical(best, expected.best, "Viterbi δ of live rows, \(context)")
        XCTAssertEqual(pointers, expected.pointers, "Viterbi ψ of live rows, \(context)")
      }
    }
    // Peaked δ leave most rows out.
    XCTAssertGreaterThan(prunedRows, 20 * L / 4)
  }

  /// Both packers against the layout trellis_kernels.h states, panels[(p·depth + k)·16 + l] =
  /// W[16p + l][k] and 0 past W's last row, element by element: depths 1–20 and 100 (none, one
  /// and two of trellis_pack_panels' 8 × 8 blocks with every remainder, and the hidden size),
  /// columns 1–40 and 400 (part of a panel, full panels with and without a partial last one).
  /// W's elements are distinct, so a lane or step out of place fails.
  func testPanelsHoldTheDocumentedLayout() {
    for depth in Array(1...20) + [100] {
      for columns in Array(1...40) + [400] {
        let w = (0..<columns * depth).map { Float($0 + 1) }
        let count = trellis_panels_size(columns, depth)
        var expected = [Float](repeating: 0, count: count)
        for column in 0..<columns {
          for k in 0..<depth {
            expected[((column / 16) * depth + k) * 16 + column % 16] = w[column * depth + k]
          }
        }
        var panels = [Float](repeating: .nan, count: count)
        trellis_pack_panels(w, columns, depth, &panels)
        assertBitIdentical(panels, expected, "panels of W, \(columns)×\(depth)")
        let transposed = (0..<depth * columns).map { w[($0 % columns) * depth + $0 / columns] }
        var fromTransposed = [Float](repeating: .nan, count: count)
        trellis_pack_panels_transposed(transposed, depth, columns, &fromTransposed)
        assertBitIdentical(fromTransposed, expected, "panels from Wᵀ, \(columns)×\(depth)")
      }
    }
  }

  /// The packed product against a scalar sum in k order of the level's kind (fused or not),
  /// at shapes that exercise every tile:
  /// rows 1–4, 7, 8, 10, 13 and 32 (tiles of every height each level has), columns 1,
  /// 16, 17, 24, 36, 100 and 400 (part of a panel, one, one and a narrow last panel of 1, 8 or
  /// 4 columns, which the kernels sum in half vectors, the hidden size, ATIS's LSTM's 400 gates),
  /// depths 1, 5 and 100 (the default hidden size). W is packed once per shape (both packers'
  /// layout: `testPanelsHoldTheDocumentedLayout`); the spare columns of the last panel (zeros)
  /// must not reach c past its `columns`. The adding form adds the same sums to c's values, with A read as stored (the
  /// recurrent step's ∂h += ∂zh · Wh) and in place from its transpose (the weight gradients).
  func testPackedProductMatchesScalarCode() {
    var rng = SplitMix64(seed: 11)
    for depth in [1, 5, 100] {
      for columns in [1, 16, 17, 24, 36, 100, 400] {
        let w = (0..<columns * depth).map { _ in 2 * rng.nextUnitFloat() - 1 }
        var panels = [Float](repeating: .nan, count: trellis_panels_size(columns, depth))
        trellis_pack_panels(w, columns, depth, &panels)
        for rows in [1, 2, 3, 4, 7, 8, 10, 13, 32] {
          let a = (0..<rows * depth).map { _ in 4 * rng.nextUnitFloat() - 2 }
          for level in levels {
            let expected = scalarProduct(
              a, rows: rows, depth: depth, columns: columns, fused: level.fusesMultiplyAdds
            ) { w[$0 * depth + $1] }
            // One spare element past c: the last panel's zero columns must not be stored.
            var c = [Float](repeating: .nan, count: rows * columns + 1)
            level.kernels.packed_product(a, rows, depth, panels, columns, &c)
            XCTAssertTrue(c[rows * columns].isNaN, "wrote past c, \(level.name)")
            assertBitIdentical(
              Array(c[..<(rows * columns)]), expected,
              "product \(rows)×\(depth)·(\(columns)×\(depth))ᵀ, \(level.name)")
            // The adding form, A as stored (strides depth, 1) and read from its transpose (1, rows).
            let aTransposed = (0..<depth * rows).map { a[($0 % rows) * depth + $0 / rows] }
            let initial = (0..<rows * columns).map { Float($0 % 7) - 3 }
            for (stored, strides) in [(a, (depth, 1)), (aTransposed, (1, rows))] {
              var sums = initial + [.nan]
              level.kernels.packed_product_add(
                stored, strides.0, strides.1, rows, depth, panels, columns, &sums)
              XCTAssertTrue(sums[rows * columns].isNaN, "added past c, \(level.name)")
              assertBitIdentical(
                Array(sums[..<(rows * columns)]), zip(initial, expected).map { $0 + $1 },
                "c + A·Wᵀ, strides \(strides), \(rows)×\(depth), \(columns) columns, \(level.name)")
            }
          }
        }
      }
    }
  }

  /// Products whose a is read transposed take long depths in blocks of k (product_body.h),
  /// carrying each tile's sums from block to block: the bits must be one pass's. Depths that
  /// end a block exactly and that end inside a later block (the blocks are 128 steps, 64 at
  /// the AVX-512 level), at every level, in Float (∂W += ∂Zᵀ·X) and in Double (the CRF's α̂ᵀ·g).
  func testTransposedProductsOverLongDepthsGiveOnePassBits() {
    var rng = SplitMix64(seed: 19)
    for depth in [128, 200, 300] {
      for (rows, columns) in [(7, 17), (13, 36), (32, 100)] {
        let w = (0..<columns * depth).map { _ in 2 * rng.nextUnitFloat() - 1 }
        var panels = [Float](repeating: .nan, count: trellis_panels_size(columns, depth))
        trellis_pack_panels(w, columns, depth, &panels)
        let a = (0..<rows * depth).map { _ in 4 * rng.nextUnitFloat() - 2 }
        let aTransposed = (0..<depth * rows).map { a[($0 % rows) * depth + $0 / rows] }
        let initial = (0..<rows * columns).map { Float($0 % 7) - 3 }
        let wDouble = w.map(Double.init)
        let panelsDouble = doublePanels(wDouble, columns: columns, depth: depth)
        let aDoubleTransposed = aTransposed.map(Double.init)
        for level in levels {
          let expected = scalarProduct(
            a, rows: rows, depth: depth, columns: columns, fused: level.fusesMultiplyAdds
          ) { w[$0 * depth + $1] }
          var sums = initial + [.nan]
          level.kernels.packed_product_add(
            aTransposed, 1, rows, rows, depth, panels, columns, &sums)
          XCTAssertTrue(sums[rows * columns].isNaN, "added past c, \(level.name)")
          assertBitIdentical(
            Array(sums[..<(rows * columns)]), zip(initial, expected).map { $0 + $1 },
            "c + Aᵀ·Wᵀ, \(rows)×\(depth), \(columns) columns, \(level.name)")
          let expectedDouble = scalarProduct(
            a.map(Double.init), rows: rows, depth: depth, columns: columns,
            fused: level.fusesMultiplyAdds
          ) { wDouble[$0 * depth + $1] }
          var c = [Double](repeating: .nan, count: rows * columns)
          level.kernels.packed_product_f64(
            aDoubleTransposed, 1, rows, rows, depth, panelsDouble, columns, &c)
          XCTAssertTrue(
            c.map(\.bitPattern) == expectedDouble.map(\.bitPattern),
            "Double Aᵀ·W, \(rows)×\(depth), \(columns) columns, \(level.name)")
        }
      }
    }
  }

  /// What lets `Encoder` cut a product by rows over two threads: `addPackedProduct` over
  /// ranges of rows (A as stored and read from its transpose) and `packedProduct` over the
  /// matching slices give the bits of one call over all rows, for chunk sizes that end inside
  /// and on the kernels' tiles.
  func testProductsCutByRowsGiveTheWholeProductsBits() {
    var rng = SplitMix64(seed: 13)
    let (rows, depth, columns) = (45, 20, 36)
    let w = (0..<columns * depth).map { _ in 2 * rng.nextUnitFloat() - 1 }
    var panels = [Float](repeating: 0, count: panelsSize(columns: columns, depth: depth))
    packPanels(w, columns: columns, depth: depth, at: &panels)
    let a = (0..<rows * depth).map { _ in 4 * rng.nextUnitFloat() - 2 }
    let aTransposed = (0..<depth * rows).map { a[($0 % rows) * depth + $0 / rows] }
    let initial = (0..<rows * columns).map { Float($0 % 7) - 3 }
    var whole = [Float](repeating: 0, count: rows * columns)
    packedProduct(a, rows: rows, depth: depth, panels: panels, columns: columns, into: &whole)
    for chunk in [1, 5, 8, 32] {
      let ranges = stride(from: 0, to: rows, by: chunk).map { $0..<min($0 + chunk, rows) }
      var pieces = [Float](repeating: .nan, count: rows * columns)
      a.withUnsafeBufferPointer { a in
        pieces.withUnsafeMutableBufferPointer { c in
          for range in ranges {
            packedProduct(
              a.baseAddress! + range.lowerBound * depth, rows: range.count, depth: depth,
              panels: panels, columns: columns, into: c.baseAddress! + range.lowerBound * columns)
          }
        }
      }
      assertBitIdentical(pieces, whole, "packedProduct in chunks of \(chunk)")
      for (stored, layout) in [(a, Transpose.none), (aTransposed, .transposed)] {
        var sums = initial
        for range in ranges {
          addPackedProduct(
            stored, layout, rows: rows, depth: depth, panels: panels, columns: columns,
            to: &sums, rowRange: range)
        }
        assertBitIdentical(
          sums, zip(initial, whole).map { $0 + $1 },
          "addPackedProduct \(layout), chunks of \(chunk)")
      }
    }
  }

  /// What lets a table hold the word embedding's part of tagging's input projections
  /// (`InputProjectionTables`): the sums over k < `from` of W's first columns packed on their
  /// own, continued by `packed_product_continue` over the rest of A's columns (read with A's
  /// row stride) on W's whole panels, are the whole product's bits, at every level, for every
  /// tile shape and a narrow last panel; c's columns past `columns` untouched.
  func testContinuedProductGivesTheWholeProductsBits() {
    var rng = SplitMix64(seed: 17)
    let depth = 20
    for columns in [1, 17, 24, 36, 400] {
      let w = (0..<columns * depth).map { _ in 2 * rng.nextUnitFloat() - 1 }
      var panels = [Float](repeating: .nan, count: trellis_panels_size(columns, depth))
      trellis_pack_panels(w, columns, depth, &panels)
      for rows in [1, 3, 7, 8, 13, 32] {
        let a = (0..<rows * depth).map { _ in 4 * rng.nextUnitFloat() - 2 }
        for level in levels {
          var whole = [Float](repeating: .nan, count: rows * columns)
          level.kernels.packed_product(a, rows, depth, panels, columns, &whole)
          for from in [1, 5, 19] {
            let head = (0..<columns).flatMap { j in w[(j * depth)..<(j * depth + from)] }
            var headPanels = [Float](repeating: .nan, count: trellis_panels_size(columns, from))
            trellis_pack_panels(head, columns, from, &headPanels)
            let aHead = (0..<rows).flatMap { r in a[(r * depth)..<(r * depth + from)] }
            var c = [Float](repeating: .nan, count: rows * columns + 1)
            level.kernels.packed_product(aHead, rows, from, headPanels, columns, &c)
            a.withUnsafeBufferPointer {
              level.kernels.packed_product_continue(
                $0.baseAddress! + from, depth, rows, from, depth, panels, columns, &c)
            }
            XCTAssertTrue(c[rows * columns].isNaN, "wrote past c, \(level.name)")
            assertBitIdentical(
              Array(c[..<(rows * columns)]), whole,
              "continued from \(from) of \(depth), \(rows) rows, \(columns) columns, \(level.name)")
          }
        }
      }
    }
  }

  /// The recurrent cells' step shapes for their kernels' tests: 3 rows of hidden sizes with a
  /// tail of fewer than 16 units (1, 5, 17) and without (16, 100), and uniform draws from one
  /// generator seeded with `seed` (`uniform(count, low, high)`).
  func forEachCellShape(
    seed: UInt64,
    _ body: (_ rows: Int, _ hidden: Int, _ uniform: (Int, Float, Float) -> [Float]) -> Void
  ) {
    var rng = SplitMix64(seed: seed)
    for hidden in [1, 5, 16, 17, 100] {
      body(3, hidden) { uniformFloats($0, $1, $2, rng: &rng) }
    }
  }

  /// The LSTM cell's forward step against the Swift code it replaced (LSTMCell.forward before
  /// session 16: z = zx + zh; σ over the gates, with g = 2σ(2z) − 1; c = f·c_{t−1} + i·g, or
  /// i·g at the first step; h = o·tanh(c)), with the level's own σ and tanh kernels, bit for
  /// bit at every level: hidden sizes below 16, with a tail (done again overlapping the last
  /// block), and without.
  func testLSTMForwardMatchesScalarCode() {
    forEachCellShape(seed: 16) { rows, hidden, uniform in
      let (zx, zh) = (uniform(rows * 4 * hidden, -4, 4), uniform(rows * 4 * hidden, -4, 4))
      let previous = uniform(rows * hidden, -3, 3)
      for cPrevious in [previous, nil] {
        for level in levels {
          var expected = (
            gates: [Float](repeating: 0, count: rows * 4 * hidden),
            c: [Float](repeating: 0, count: rows * hidden),
            h: [Float](repeating: 0, count: rows * hidden)
          )
          for k in 0..<rows * 4 * hidden {
            let isG = (k / hidden) % 4 == 2
            expected.gates[k] = isG ? (zx[k] + zh[k]) * 2 : zx[k] + zh[k]
          }
          level.kernels.sigmoid(expected.gates, &expected.gates, rows * 4 * hidden)
          for b in 0..<rows {
            for j in 0..<hidden {
              let gate = b * 4 * hidden + j
              expected.gates[gate + 2 * hidden] = 2 * expected.gates[gate + 2 * hidden] - 1
              let (i, f) = (expected.gates[gate], expected.gates[gate + hidden])
              let g = expected.gates[gate + 2 * hidden]
              expected.c[b * hidden + j] =
                cPrevious.map { f * $0[b * hidden + j] + i * g } ?? i * g
            }
          }
          level.kernels.tanh(expected.c, &expected.h, rows * hidden)
          for b in 0..<rows {
            for j in 0..<hidden {
              expected.h[b * hidden + j] *= expected.gates[b * 4 * hidden + 3 * hidden + j]
            }
          }
          var (gates, c, h): ([Float], [Float], [Float]) = ([], [], [])
          for b in 0..<rows {
            let gateRows = (b * 4 * hidden)..<((b + 1) * 4 * hidden)
            let (zxRow, zhRow) = (Array(zx[gateRows]), Array(zh[gateRows]))
            var gateRow = [Float](repeating: .nan, count: 4 * hidden)
            var (cRow, hRow) = (
              [Float](repeating: .nan, count: hidden), [Float](repeating: .nan, count: hidden)
            )
            if let cPrevious {
              let previousRow = Array(cPrevious[(b * hidden)..<((b + 1) * hidden)])
              level.kernels.lstm_forward(zxRow, zhRow, previousRow, &gateRow, &cRow, &hRow, hidden)
            } else {
              level.kernels.lstm_forward(zxRow, zhRow, nil, &gateRow, &cRow, &hRow, hidden)
            }
            (gates, c, h) = (gates + gateRow, c + cRow, h + hRow)
          }
          let what =
            "hidden \(hidden), c_{t−1} \(cPrevious == nil ? "none" : "given"), \(level.name)"
          assertBitIdentical(gates, expected.gates, "gates, " + what)
          assertBitIdentical(c, expected.c, "c, " + what)
          assertBitIdentical(h, expected.h, "h, " + what)
        }
      }
    }
  }

  /// The LSTM cell's backward step against the scalar code it replaced (LSTMCell.backward
  /// before session 14), bit for bit at every level: hidden sizes with and without a tail of
  /// fewer than 16 units, with c_{t−1} and with none (the first step, zeros, where ∂z_f is
  /// dc·0·f·(1 − f), −0 when dc < 0).
  func testLSTMBackwardMatchesScalarCode() {
    forEachCellShape(seed: 14) { rows, hidden, uniform in
      let n = rows * hidden
      let gates = (0..<rows).flatMap { _ in
        uniform(2 * hidden, 0, 1) + uniform(hidden, -1, 1) + uniform(hidden, 0, 1)
      }
      let (tanhC, previous) = (uniform(n, -1, 1), uniform(n, -3, 3))
      let (dh, carry) = (uniform(n, -2, 2), uniform(n, -2, 2))
      for cPrevious in [previous, nil] {
        var expectedDz = [Float](repeating: 0, count: 4 * n)
        var expectedCarry = carry
        for b in 0..<rows {
          for j in 0..<hidden {
            let k = b * hidden + j
            let gate = b * 4 * hidden + j
            let (i, f) = (gates[gate], gates[gate + hidden])
            let (g, o) = (gates[gate + 2 * hidden], gates[gate + 3 * hidden])
            let tc = tanhC[k]
            let dc = carry[k] + dh[k] * o * (1 - tc * tc)
            expectedDz[gate] = dc * g * i * (1 - i)
            expectedDz[gate + hidden] = dc * (cPrevious?[k] ?? 0) * f * (1 - f)
            expectedDz[gate + 2 * hidden] = dc * i * (1 - g * g)
            expectedDz[gate + 3 * hidden] = dh[k] * tc * o * (1 - o)
            expectedCarry[k] = dc * f
          }
        }
        for level in levels {
          var (dz, newCarry) = ([Float](repeating: .nan, count: 4 * n), carry)
          if let cPrevious {
            level.kernels.lstm_backward(gates, tanhC, cPrevious, dh, &newCarry, &dz, rows, hidden)
          } else {
            level.kernels.lstm_backward(gates, tanhC, nil, dh, &newCarry, &dz, rows, hidden)
          }
          let what =
            "hidden \(hidden), c_{t−1} \(cPrevious == nil ? "none" : "given"), \(level.name)"
          assertBitIdentical(dz, expectedDz, "∂z, " + what)
          assertBitIdentical(newCarry, expectedCarry, "carry, " + what)
        }
      }
    }
  }

  /// The GRU cell's backward step against the scalar code it replaced (GRUCell.backward before
  /// session 14), bit for bit at every level, as the LSTM's above: tails, and h_{t−1} given or
  /// none (zeros at the first step).
  func testGRUBackwardMatchesScalarCode() {
    forEachCellShape(seed: 15) { rows, hidden, uniform in
      let n = rows * hidden
      let gates = (0..<rows).flatMap { _ in uniform(2 * hidden, 0, 1) + uniform(hidden, -1, 1) }
      let (zhN, previous, dh) = (uniform(n, -2, 2), uniform(n, -1, 1), uniform(n, -2, 2))
      for hPrevious in [previous, nil] {
        var expected = (
          direct: [Float](repeating: 0, count: n), dzx: [Float](repeating: 0, count: 3 * n),
          dzh: [Float](repeating: 0, count: 3 * n)
        )
        for b in 0..<rows {
          for j in 0..<hidden {
            let k = b * hidden + j
            let gate = b * 3 * hidden + j
            let (r, u, g) = (gates[gate], gates[gate + hidden], gates[gate + 2 * hidden])
            let dn = dh[k] * (1 - u)
            let du = dh[k] * ((hPrevious?[k] ?? 0) - g)
            expected.direct[k] = dh[k] * u
            let dan = dn * (1 - g * g)
            let dar = dan * zhN[k] * r * (1 - r)
            let dau = du * u * (1 - u)
            (expected.dzx[gate], expected.dzx[gate + hidden]) = (dar, dau)
            expected.dzx[gate + 2 * hidden] = dan
            (expected.dzh[gate], expected.dzh[gate + hidden]) = (dar, dau)
            expected.dzh[gate + 2 * hidden] = dan * r
          }
        }
        for level in levels {
          var direct = [Float](repeating: .nan, count: n)
          var (dzx, dzh) = (
            [Float](repeating: .nan, count: 3 * n), [Float](repeating: .nan, count: 3 * n)
          )
          if let hPrevious {
            level.kernels.gru_backward(
              gates, zhN, hPrevious, dh, &direct, &dzx, &dzh, rows, hidden)
          } else {
            level.kernels.gru_backward(gates, zhN, nil, dh, &direct, &dzx, &dzh, rows, hidden)
          }
          let what =
            "hidden \(hidden), h_{t−1} \(hPrevious == nil ? "none" : "given"), \(level.name)"
          assertBitIdentical(direct, expected.direct, "direct ∂h_{t−1}, " + what)
          assertBitIdentical(dzx, expected.dzx, "∂zx, " + what)
          assertBitIdentical(dzh, expected.dzh, "∂zh, " + what)
        }
      }
    }
  }

  /// The CRF's Double product against a scalar sum in k order of the level's kind, bit for bit:
  /// rows 1, 3, 8, 13 and 16 (a half batch), columns 1, 8, 9, 12 and 120 (a last panel of 4
  /// columns or fewer is summed in half vectors; ATIS's labels: 15 panels of 8), depths 1, 5
  /// and 120. W (depth, columns) is packed as given (c = a · W) and
  /// from its transpose Wᵀ (c = a · (Wᵀ)ᵀ), which must give the same panels.
  func testDoublePackedProductMatchesScalarCode() {
    var rng = SplitMix64(seed: 12)
    for depth in [1, 5, 120] {
      for columns in [1, 8, 9, 12, 120] {
        let w = (0..<depth * columns).map { _ in Double(2 * rng.nextUnitFloat() - 1) }
        let wTransposed = (0..<columns * depth).map { w[($0 % depth) * columns + $0 / depth] }
        let panels = doublePanels(w, columns: columns, depth: depth, transposed: true)
        XCTAssertTrue(
          doublePanels(wTransposed, columns: columns, depth: depth) == panels,
          "panels of W and of Wᵀ, \(depth)×\(columns)")
        for rows in [1, 3, 8, 13, 16] {
          let a = (0..<rows * depth).map { _ in Double(4 * rng.nextUnitFloat() - 2) }
          for level in levels {
            let expected = scalarProduct(
              a, rows: rows, depth: depth, columns: columns, fused: level.fusesMultiplyAdds
            ) { w[$1 * columns + $0] }
            // a as stored, and aᵀ (depth, rows) read in place as the CRF's pairwise sums read α̂.
            let aTransposed = (0..<depth * rows).map { a[($0 % rows) * depth + $0 / rows] }
            for (source, strides) in [(a, (depth, 1)), (aTransposed, (1, rows))] {
              var c = [Double](repeating: .nan, count: rows * columns + 1)
              level.kernels.packed_product_f64(
                source, strides.0, strides.1, rows, depth, panels, columns, &c)
              XCTAssertTrue(c[rows * columns].isNaN, "wrote past c, \(level.name)")
              XCTAssertTrue(
                c[..<(rows * columns)].map(\.bitPattern) == expected.map(\.bitPattern),
                "\(rows)×\(depth)·\(depth)×\(columns), strides \(strides), \(level.name)")
            }
          }
        }
      }
    }
  }

  /// Ten Adam and ten Nadam steps on 1,037 parameters (64 vectors and a tail of 13) against
  /// the scalar formulas, with gradients from tiny to huge, scaled (as clipping scales them)
  /// at every other step. Each is checked against its own expression: the kernels compute
  /// Adam's without Nadam's extra terms. Each step leaves the gradient zero.
  func testAdamAndNadamMatchScalarCode() {
    let count = 1_037
    let (beta1, beta2, epsilon): (Float, Float, Float) = (0.9, 0.999, 1e-8)
    for nesterov in [false, true] {
      let name = nesterov ? "Nadam" : "Adam"
      var rng = SplitMix64(seed: 3)
      let start = inputs(count, range: 1, seed: 4)
      for level in levels {
        var θ = start
        var m = [Float](repeating: 0, count: start.count)
        var v = m
        var (θ0, m0, v0) = (θ, m, v)
        for step in 1...10 {
          var gradient = inputs(count, range: 1e3, seed: UInt64(step)).map {
            $0.isFinite ? $0 : 0
          }
          let stepSize = Float(rng.nextUnitFloat()) * 1e-2
          let (momentum, current) = (Float(rng.nextUnitFloat()) * 10, Float(rng.nextUnitFloat()))
          let scale = step % 2 == 0 ? Float(rng.nextUnitFloat()) : 1
          for k in 0..<θ0.count {
            let g = gradient[k] * scale
            m0[k] = beta1 * m0[k] + (1 - beta1) * g
            v0[k] = beta2 * v0[k] + (1 - beta2) * g * g
            let direction = nesterov ? momentum * m0[k] + current * g : m0[k]
            θ0[k] -= stepSize * direction / (v0[k].squareRoot() + epsilon)
          }
          if nesterov {
            level.kernels.nadam(
              &θ, &gradient, &m, &v, θ.count, beta1, beta2, epsilon, stepSize, scale, momentum,
              current)
          } else {
            level.kernels.adam(
              &θ, &gradient, &m, &v, θ.count, beta1, beta2, epsilon, stepSize, scale)
          }
          XCTAssertEqual(
            gradient.filter { $0.bitPattern != 0 }.count, 0,
            "\(name) left gradients, \(level.name)")
        }
        assertBitIdentical(θ, θ0, "\(name) θ, \(level.name)")
        assertBitIdentical(m, m0, "\(name) m, \(level.name)")
        assertBitIdentical(v, v0, "\(name) v, \(level.name)")
      }
    }
  }

  /// The gradient norm's sums of squares against element-by-element additions to the partial
  /// sums i mod P, for counts around the kernel's P lanes, added to partial sums that are
  /// not zero (as the norm's second range adds to its first's).
  func testSumOfSquaresMatchesScalarCode() {
    let P = Int(TRELLIS_SUM_OF_SQUARES_PARTIALS)
    for count in [0, 1, 7, P - 1, P, P + 1, 1_037] {
      let values = inputs(count, range: 1e3, seed: 6).prefix(count).map { $0.isFinite ? $0 : 0 }
      let start = (0..<P).map { Double($0) * 0.37 }
      var expected = start
      for (i, x) in values.enumerated() { expected[i % P] += Double(x) * Double(x) }
      for level in levels {
        var partial = start
        level.kernels.sum_of_squares(values, count, &partial)
        XCTAssertEqual(
          partial.map(\.bitPattern), expected.map(\.bitPattern), "\(level.name), \(count)")
      }
    }
  }

  /// Dropout's masks against `SplitMix64.nextUnitFloat()` drawn one by one, for counts around
  /// the kernel's 8 lanes, and the generator left where the scalar draws leave it.
  func testDropoutMatchesScalarDraws() {
    for count in [0, 1, 7, 8, 9, 1_037] {
      for rate: Float in [0.1, 0.5] {
        let values = Array(inputs(count, range: 10, seed: 5).prefix(count))
        var reference = SplitMix64(seed: 11)
        let scale = 1 / (1 - rate)
        let expectedMask = values.map { _ in reference.nextUnitFloat() < rate ? 0 : scale }
        let expected = zip(values, expectedMask).map { $0 * $1 }
        for level in levels {
          var (dropped, mask) = (values, [Float](repeating: .nan, count: count))
          var state: UInt64 = 11
          level.kernels.dropout(&dropped, &mask, count, rate, scale, &state)
          assertBitIdentical(mask, expectedMask, "mask, \(level.name), \(count)")
          assertBitIdentical(dropped, expected, "values, \(level.name), \(count)")
          XCTAssertEqual(state, reference.state, "generator, \(level.name), \(count)")
        }
      }
    }
  }

  func testEnvironmentChoosesOnlySupportedLevels() {
    func chosen(_ name: String?, _ supported: KernelLevel) -> KernelLevel {
      KernelLevel.chosen(
        environment: name.map { ["TRELLIS_KERNELS": $0] } ?? [:], supported: supported)
    }
    XCTAssertEqual(chosen(nil, .avx512), .avx512)
    XCTAssertEqual(chosen("avx2", .avx512), .avx2)
    XCTAssertEqual(chosen("portable", .avx2), .portable)
    XCTAssertEqual(chosen("avx512", .avx2), .avx2)
    XCTAssertEqual(chosen("sse9", .avx2), .avx2)
    XCTAssertEqual(KernelLevel.allCases.map(\.name), ["portable", "avx2", "avx512"])
  }
}

// The scalar form of the kernels' exp (kernel_bodies.h), operation for operation: clamp, split
// x = n·ln2 + r, the degree-6 polynomial, 2^n from the exponent bits; each s + x·w one fused
// multiply-add (`fused`) or rounded twice, as the level's MULTIPLY_ADD.
func scalarExp(_ x: Float, fused: Bool) -> Float {
  func multiplyAdd(_ x: Float, _ w: Float, _ s: Float) -> Float {
    fused ? s.addingProduct(x, w) : s + x * w
  }
  let x = x < -87.3 ? -87.3 : (x > 88.3 ? 88.3 : x)
  let magic: Float = 12_582_912
  let shifted = multiplyAdd(x, 1.442_695_04, magic)
  let n = shifted - magic
  let r = multiplyAdd(n, 2.121_944_40e-4, multiplyAdd(n, -0.693_359_375, x))
  var p: Float = 1.987_569_150_0e-4
  for c: Float in [
    1.398_199_950_7e-3, 8.333_451_907_3e-3, 4.166_579_589_4e-2, 1.666_666_545_9e-1,
    5.000_000_120_1e-1,
  ] {
    p = multiplyAdd(p, r, c)
  }
  p = multiplyAdd(p, r * r, r) + 1
  let exponent = (shifted.bitPattern &- magic.bitPattern &+ 127) &<< 23
  return p * Float(bitPattern: exponent)
}

/// `count` Floats drawn uniformly from [low, high).
func uniformFloats(_ count: Int, _ low: Float, _ high: Float, rng: inout SplitMix64) -> [Float] {
  (0..<count).map { _ in low + (high - low) * rng.nextUnitFloat() }
}

/// c (rows, columns) with c[r][j] = Σ_k a[r][k] · weight(j, k), each sum from zero in k order,
/// each step one fused multiply-add (`fused`) or a product rounded before its addition: what a
/// level's packed product must give, bit for bit (`KernelLevel.fusesMultiplyAdds` says which).
func scalarProduct<Scalar: BinaryFloatingPoint>(
  _ a: [Scalar], rows: Int, depth: Int, columns: Int, fused: Bool,
  weight: (_ j: Int, _ k: Int) -> Scalar
) -> [Scalar] {
  (0..<rows * columns).map { element in
    let (r, j) = element.quotientAndRemainder(dividingBy: columns)
    var sum: Scalar = 0
    for k in 0..<depth {
      let (x, w) = (a[r * depth + k], weight(j, k))
      sum = fused ? sum.addingProduct(x, w) : sum + x * w
    }
    return sum
  }
}

func scalarSigmoid(_ x: Float, fused: Bool) -> Float { 1 / (1 + scalarExp(-x, fused: fused)) }

func scalarTanh(_ x: Float, fused: Bool) -> Float { 1 - 2 / (scalarExp(2 * x, fused: fused) + 1) }

// The scalar form of the kernels' Double exp (exp8d in kernel_bodies.h), operation for
// operation: clamp, split x = n·ln2 + r, Horner's Taylor series to r^13, 2^n from the bits.
func scalarExpDouble(_ x: Double) -> Double {
  if x < -708.39 { return 0 }
  let x = min(x, 709)
  let magic = 6_755_399_441_055_744.0
  let shifted = x * 1.442_695_040_888_963_4 + magic
  let n = shifted - magic
  let r = x - n * 6.931_471_803_691_238_164_90e-01 - n * 1.908_214_929_270_587_700_02e-10
  var p = 1.0 / 6_227_020_800.0
  for factorial in [479_001_600.0, 39_916_800, 3_628_800, 362_880, 40_320, 5_040, 720, 120, 24, 6] {
    p = p * r + 1 / factorial
  }
  p = p * r + 0.5
  p = p * r + 1
  p = p * r + 1
  let exponent = (shifted.bitPattern &- magic.bitPattern &+ 1023) &<< 52
  return p * Double(bitPattern: exponent)
}
