import Foundation
import XCTest

@testable import Trellis

/// OpenBLAS's kernels differ by CPU (and `trellis` may pick a tuned core itself), and Trellis's
/// own vector kernels have a level per instruction set (KernelLevel): the first may not change a
/// bit of a trained model or of what tagging prints, the second only the rounding of the packed
/// products, between levels that fuse their multiply-adds and levels that do not.
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
  /// dropout, Adam, the CRF and the character CNN. Levels whose packed products and exp fuse
  /// their multiply-adds alike (`KernelLevel.fusesMultiplyAdds`: AVX2 and AVX-512 do, x86-64's
  /// portable level does not) give identical model files and outputs, confidences included.
  /// Across the two kinds those operations round differently, so the models differ in their
  /// last bits; each level's model tags with the same labels as the first level's, and so does
  /// the first level's model tagged at every level, with every probability and confidence within a
  /// relative 1e-4 (the tiny corpus's model differs by about 1e-7). KernelLevelTests compares
  /// the kernels themselves in this debug build; for the optimised kernels of a release build,
  /// run this test with TRELLIS_EXECUTABLE=.build-static/release/trellis.
  func testEveryVectorKernelLevelTrainsAndTagsAlike() throws {
    let levels = KernelLevel.allCases.filter { $0 <= KernelLevel.supported }
    let results = try levels.map { try trainAndTag(environment: ["TRELLIS_KERNELS": $0.name]) }
    XCTAssertFalse(results[0].output.isEmpty)
    let firstModel = path("first.model")
    try results[0].model.write(to: URL(fileURLWithPath: firstModel))
    for (index, level) in levels.enumerated().dropFirst() {
      if let same = levels[..<index].firstIndex(where: {
        $0.fusesMultiplyAdds == level.fusesMultiplyAdds
      }) {
        XCTAssertEqual(
          results[index].model, results[same].model,
          "\(level.name)'s model differs from \(levels[same].name)'s")
        XCTAssertEqual(
          results[index].output, results[same].output,
          "\(level.name) tags unlike \(levels[same].name)")
      }
      try assertSameLabelsAndClose(
        results[index].output, results[0].output,
        "\(level.name)'s model against \(levels[0].name)'s")
      let tag = try runTrellis(
        Self.tagArguments(model: firstModel), environment: ["TRELLIS_KERNELS": level.name])
      assertSucceeded(tag)
      try assertSameLabelsAndClose(
        tag.output, results[0].output, "\(levels[0].name)'s model tagged at \(level.name)")
    }
  }

  /// `tag` of the tiny test split with `model`, as JSON lines with confidences.
  static func tagArguments(model: String) -> [String] {
    ["tag", "--model", model, "--format", "json", "--confidence", PackagePaths.tiny("test")]
  }

  /// Trains a small model (seed 1) on the tiny corpus and tags its test split, under
  /// `environment`: the model file's bytes and what tagging printed.
  private func trainAndTag(environment: [String: String]) throws -> (model: Data, output: String) {
    let model = path("model")
    let train = try runTrellis(
      [
        "train", "--train", PackagePaths.tiny("train"), "--dev", PackagePaths.tiny("dev"),
        "--model", model, "--seed", "1", "--quiet",
      ] + Self.smallModelOptions, environment: environment)
    assertSucceeded(train)
    let tag = try runTrellis(Self.tagArguments(model: model), environment: environment)
    assertSucceeded(tag)
    return (try Data(contentsOf: URL(fileURLWithPath: model)), tag.output)
  }

  /// Trains and tags under each setting's environment; every model file and output must equal
  /// the first setting's.
  private func assertTrainsAndTagsAlike(
    under settings: [(name: String, environment: [String: String])]
  ) throws {
    let results = try settings.map { try trainAndTag(environment: $0.environment) }
    XCTAssertFalse(results[0].output.isEmpty)
    let first = settings[0].name
    for (setting, result) in zip(settings, results).dropFirst() {
      XCTAssertEqual(
        result.model, results[0].model, "\(setting.name)'s model differs from \(first)'s")
      XCTAssertEqual(result.output, results[0].output, "\(setting.name) tags unlike \(first)")
    }
  }

  /// Two JSON-lines outputs of `tag --confidence`: the same sentences and labels (so spans), and
  /// every probability and confidence within a relative 1e-4 of the other's.
  private func assertSameLabelsAndClose(_ output: String, _ expected: String, _ what: String)
    throws
  {
    func sentences(_ text: String) throws -> [[String: Any]] {
      try text.split(separator: "\n").map {
        try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
      }
    }
    func close(_ x: Double, _ y: Double) -> Bool { abs(x - y) <= 1e-4 * max(abs(x), abs(y)) }
    let (got, wanted) = (try sentences(output), try sentences(expected))
    XCTAssertEqual(got.count, wanted.count, what)
    for (index, (sentence, reference)) in zip(got, wanted).enumerated() {
      let place = "\(what), sentence \(index)"
      XCTAssertEqual(sentence["labels"] as? [String], reference["labels"] as? [String], place)
      XCTAssertEqual(sentence["tokens"] as? [String], reference["tokens"] as? [String], place)
      let numbers = { (s: [String: Any]) in
        [try XCTUnwrap(s["probability"] as? Double)]
          + (try XCTUnwrap(s["confidences"] as? [Double]))
      }
      let (a, b) = (try numbers(sentence), try numbers(reference))
      XCTAssertEqual(a.count, b.count, place)
      for (x, y) in zip(a, b) where !close(x, y) {
        XCTFail("\(place): \(x) against \(y)")
        break
      }
    }
  }
}
