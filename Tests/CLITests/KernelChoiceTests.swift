import Foundation
import XCTest

@testable import Trellis

/// OpenBLAS's kernels differ by CPU (and `trellis` may pick a tuned core itself): tagging must
/// give the same labels under each, and confidences within `TaggingOptions.confidenceBatchTolerance`.
/// Trellis's own vector kernels have a level per instruction set (KernelLevel), and every level
/// must give the same bytes.
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

  /// Trains and tags at every vector-kernel level this CPU supports (`TRELLIS_KERNELS`), with
  /// dropout, Adam, the CRF and the character CNN: the model files and the tagging output,
  /// confidences included, are identical. KernelLevelTests compares the kernels themselves in
  /// this debug build; for the optimised kernels of a release build, run this test with
  /// TRELLIS_EXECUTABLE=.build/release/trellis.
  func testEveryVectorKernelLevelTrainsAndTagsAlike() throws {
    let levels = KernelLevel.allCases.filter { $0 <= KernelLevel.supported }.map(\.name)
    let model = path("model")
    let results = try levels.map { level -> (model: Data, output: String) in
      let environment = ["TRELLIS_KERNELS": level]
      let train = try runTrellis(
        [
          "train", "--train", PackagePaths.tiny("train"), "--dev", PackagePaths.tiny("dev"),
          "--model", model, "--seed", "1", "--quiet",
        ] + Self.smallModelOptions, environment: environment)
      assertSucceeded(train)
      let tag = try runTrellis(
        ["tag", "--model", model, "--format", "json", "--confidence", PackagePaths.tiny("test")],
        environment: environment)
      assertSucceeded(tag)
      return (try Data(contentsOf: URL(fileURLWithPath: model)), tag.output)
    }
    XCTAssertFalse(results[0].output.isEmpty)
    for (level, result) in zip(levels, results).dropFirst() {
      XCTAssertEqual(result.model, results[0].model, "\(level)'s model differs from portable's")
      XCTAssertEqual(result.output, results[0].output, "\(level) tags unlike portable")
    }
  }
}
