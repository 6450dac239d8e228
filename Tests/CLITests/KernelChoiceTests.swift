import Foundation
import Trellis
import XCTest

/// OpenBLAS's kernels differ by CPU (and `trellis` may pick a tuned core itself): tagging must
/// give the same labels under each, and confidences within `TaggingOptions.confidenceBatchTolerance`.
final class KernelChoiceTests: CLITestCase {
  func testEveryAvailableCoreTagsAlike() throws {
    let model = try sharedModel()
    let flags = BLASCore.cpuFlags()
    var cores = ["Prescott"]
    if flags.isSuperset(of: ["avx2", "fma"]) { cores.append("Haswell") }
    if flags.isSuperset(of: ["avx512f", "avx512dq", "avx512bw", "avx512vl"]) {
      cores.append("SkylakeX")
    }
    let arguments = [
      "tag", "--model", model, "--format", "json", "--confidence", PackagePaths.tiny("test"),
    ]
    let outputs = try cores.map { core -> [Analysis] in
      let result = try runTrellis(arguments, environment: ["OPENBLAS_CORETYPE": core])
      XCTAssertTrue(!result.crashed && result.exitCode == 0, result.summary)
      return try result.output.split(separator: "\n").map {
        try JSONDecoder().decode(Analysis.self, from: Data($0.utf8))
      }
    }
    for (core, analyses) in zip(cores, outputs).dropFirst() {
      XCTAssertEqual(
        analyses.map(\.labels), outputs[0].map(\.labels), "\(core) labels differ from Prescott's")
      for (a, b) in zip(analyses, outputs[0]) {
        for (x, y) in zip(a.tokenConfidences ?? [], b.tokenConfidences ?? []) {
          XCTAssertEqual(x, y, accuracy: TaggingOptions.confidenceBatchTolerance, core)
        }
      }
    }
  }
}
