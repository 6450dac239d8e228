import XCTest

@testable import Trellis

final class GemmTests: XCTestCase {
  /// Every transpose combination, alpha/beta, and views that are column slices of wider
  /// buffers (lda, ldb, ldc > columns), as the BiLSTM's half-width output writes use.
  func testGemmMatchesNaiveProductOnStridedViews() {
    var rng = SplitMix64(seed: 3)
    // m = 1 takes the sgemv path.
    for (m, n, k) in [(5, 4, 3), (1, 4, 3), (1, 1, 6)] {
      for transposeA in [Transpose.none, .transposed] {
        for transposeB in [Transpose.none, .transposed] {
          let (aRows, aColumns) = transposeA == .none ? (m, k) : (k, m)
          let (bRows, bColumns) = transposeB == .none ? (k, n) : (n, k)
          let a = randomMatrix(rows: aRows, columns: aColumns + 2, rng: &rng)
          let b = randomMatrix(rows: bRows, columns: bColumns + 3, rng: &rng)
          let c0 = randomMatrix(rows: m, columns: n + 4, rng: &rng)
          var fast = c0
          var naive = c0
          a.withUnsafeBufferPointer { a in
            b.withUnsafeBufferPointer { b in
              let aView = MatrixView(
                base: a.baseAddress! + 1, rows: aRows, columns: aColumns, rowStride: aColumns + 2)
              let bView = MatrixView(
                base: b.baseAddress! + 2, rows: bRows, columns: bColumns, rowStride: bColumns + 3)
              fast.withUnsafeMutableBufferPointer { c in
                gemm(
                  aView, transposeA, bView, transposeB,
                  into: MutableMatrixView(
                    base: c.baseAddress! + 1, rows: m, columns: n, rowStride: n + 4),
                  alpha: 0.5, beta: 2)
              }
              naive.withUnsafeMutableBufferPointer { c in
                naiveGemm(
                  aView, transposeA, bView, transposeB,
                  into: MutableMatrixView(
                    base: c.baseAddress! + 1, rows: m, columns: n, rowStride: n + 4),
                  alpha: 0.5, beta: 2)
              }
            }
          }
          assertClose(
            fast.map(Double.init), naive.map(Double.init), absolute: 1e-5, relative: 1e-5,
            "gemm \(m)x\(n)x\(k) \(transposeA) \(transposeB)")
          // Elements outside the C view (the padding columns) must be untouched.
          for r in 0..<m {
            XCTAssertEqual(fast[r * (n + 4)], c0[r * (n + 4)])
            for j in (n + 1)..<(n + 4) {
              XCTAssertEqual(fast[r * (n + 4) + j], c0[r * (n + 4) + j])
            }
          }
        }
      }
    }
  }
}

/// When `trellis` re-executes itself with a tuned OpenBLAS core.
final class BLASCoreTests: XCTestCase {
  func testOnlyAFallbackOnAFasterCPUIsOverridden() {
    let avx512: Set<String> = ["avx2", "fma", "avx512f", "avx512dq", "avx512bw", "avx512vl"]
    XCTAssertEqual(
      BLASCore.preferred(detected: "Prescott", environment: [:], cpuFlags: avx512), "SkylakeX")
    XCTAssertEqual(
      BLASCore.preferred(detected: "Prescott", environment: [:], cpuFlags: ["avx2", "fma"]),
      "Haswell")
    XCTAssertNil(BLASCore.preferred(detected: "Prescott", environment: [:], cpuFlags: ["sse3"]))
    XCTAssertNil(BLASCore.preferred(detected: "Haswell", environment: [:], cpuFlags: avx512))
    XCTAssertNil(
      BLASCore.preferred(
        detected: "Prescott", environment: ["OPENBLAS_CORETYPE": "Prescott"], cpuFlags: avx512),
      "the user's choice stands")
    XCTAssertFalse(BLASCore.cpuFlags().isEmpty, "/proc/cpuinfo has flags on Linux")
  }
}
