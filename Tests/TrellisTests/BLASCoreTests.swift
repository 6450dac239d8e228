import XCTest

@testable import Trellis

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
