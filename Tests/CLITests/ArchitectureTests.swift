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
}
