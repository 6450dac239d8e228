import Foundation
import XCTest

@testable import Trellis

/// OpenBLAS's kernels differ by CPU (and `trellis` may pick a tuned core itself), and Trellis's
/// own vector kernels have a level per instruction set (KernelLevel): neither may change a bit of
/// a trained model or of what tagging prints.
final class KernelChoiceTests: CLITestCase {
  /// Trains (with the character CNN and the CRF) and tags under every OpenBLAS core this CPU
  /// runs: the model files and the outputs, confidences included, are identical. OpenBLAS's
  /// sgemm sums in an order of its core's own (Prescott's SSE kernels, Haswell's fused
  /// multiply-adds), so this held only once no product of training or tagging was OpenBLAS's.
  func testEveryAvailableOpenBLASCoreTrainsAndTagsAlike() throws {
    let flags = BLASCore.cpuFlags()
    var cores = ["Prescott"]
    if flags.isSuperset(of: ["avx2", "fma"]) { cores.append("Haswell") }
    if flags.isSuperset(of: ["avx512f", "avx512dq", "avx512bw", "avx512vl"]) {
      cores.append("SkylakeX")
    }
    try assertTrainsAndTagsAlike(under: cores.map { ($0, ["OPENBLAS_CORETYPE": $0]) })
  }

  /// Trains and tags at every vector-kernel level this CPU supports (`TRELLIS_KERNELS`), with
  /// dropout, Adam, the CRF and the character CNN: the model files and the tagging output,
  /// confidences included, are identical. KernelLevelTests compares the kernels themselves in
  /// this debug build; for the optimised kernels of a release build, run this test with
  /// TRELLIS_EXECUTABLE=.build/release/trellis.
  func testEveryVectorKernelLevelTrainsAndTagsAlike() throws {
    let levels = KernelLevel.allCases.filter { $0 <= KernelLevel.supported }.map(\.name)
    try assertTrainsAndTagsAlike(under: levels.map { ($0, ["TRELLIS_KERNELS": $0]) })
  }

  /// Trains a small model (seed 1) on the tiny corpus and tags its test split under each
  /// setting's environment; every model file and output must equal the first setting's.
  private func assertTrainsAndTagsAlike(
    under settings: [(name: String, environment: [String: String])]
  ) throws {
    let model = path("model")
    let results = try settings.map { setting -> (model: Data, output: String) in
      let train = try runTrellis(
        [
          "train", "--train", PackagePaths.tiny("train"), "--dev", PackagePaths.tiny("dev"),
          "--model", model, "--seed", "1", "--quiet",
        ] + Self.smallModelOptions, environment: setting.environment)
      assertSucceeded(train)
      let tag = try runTrellis(
        ["tag", "--model", model, "--format", "json", "--confidence", PackagePaths.tiny("test")],
        environment: setting.environment)
      assertSucceeded(tag)
      return (try Data(contentsOf: URL(fileURLWithPath: model)), tag.output)
    }
    XCTAssertFalse(results[0].output.isEmpty)
    let first = settings[0].name
    for (setting, result) in zip(settings, results).dropFirst() {
      XCTAssertEqual(
        result.model, results[0].model, "\(setting.name)'s model differs from \(first)'s")
      XCTAssertEqual(result.output, results[0].output, "\(setting.name) tags unlike \(first)")
    }
  }
}
