import Foundation
import Trellis
import XCTest

/// Every head with every encoder can be trained from the command line and then tag.
final class ArchitectureTests: CLITestCase {
  func testEveryHeadAndEncoderTrainsOneEpochAndTags() throws {
    let data = PackagePaths.tiny("overfit")
    let input = try contents(of: data)
    let labels = try labelSet(of: data)
    for head in HeadKind.allCases {
      for encoder in EncoderKind.allCases {
        let name = "--head \(head) --encoder \(encoder)"
        let model = path("\(head)-\(encoder)")
        let train = try trellis(
          [
            "train", "--train", data, "--model", model, "--epochs", "1", "--embedding-size", "8",
            "--hidden-size", "8",
            "--head", head.rawValue, "--encoder", encoder.rawValue, "--quiet",
          ])
        assertSucceeded(train)
        let configuration = try ModelFile.read(from: model).configuration
        XCTAssertEqual(configuration.head, head, name)
        XCTAssertEqual(configuration.encoder, encoder, name)

        let tagged = try tag(data, model: model)
        XCTAssertEqual(taggingProblems(output: tagged, input: input, labels: labels), [], name)
        if head != .softmax {
          XCTAssertEqual(
            invalidBIOTransitions(in: tagged), [], "\(name): constrained decoding broke BIO")
        }
      }
    }
  }

  /// The stacking, per-sentence dropout and Nadam options reach the model, its provenance and
  /// `info`, and the model tags.
  func testStackedLayersVariationalDropoutAndNadamFromTheCommandLine() throws {
    let data = PackagePaths.tiny("overfit")
    let model = path("stacked")
    let train = try trellis(
      [
        "train", "--train", data, "--model", model, "--epochs", "1", "--embedding-size", "8",
        "--hidden-size", "8", "--layers", "2", "--variational-dropout", "--optimizer", "nadam",
        "--quiet",
      ])
    assertSucceeded(train)
    let loaded = try ModelFile.read(from: model)
    XCTAssertEqual(loaded.configuration.layers, 2)
    let options = try XCTUnwrap(loaded.provenance).recipe.options
    XCTAssertTrue(options.variationalDropout)
    XCTAssertEqual(options.optimizer, .nadam)
    let info = try trellis(["info", model])
    assertSucceeded(info)
    for field in ["2 layers", "nadam lr 0.002", "one mask per sentence"] {
      XCTAssertTrue(info.output.contains(field), "info lacks \(field):\n\(info.output)")
    }
    let tagged = try tag(data, model: model)
    XCTAssertEqual(
      taggingProblems(
        output: tagged, input: try contents(of: data), labels: try labelSet(of: data)),
      [])
  }
}
