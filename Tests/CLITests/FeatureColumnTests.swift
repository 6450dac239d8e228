import Foundation
import XCTest

/// `--feature-column`: a corpus whose labels depend only on a feature column is learned with the
/// column and not without it; tag and eval read the columns the model records.
final class FeatureColumnTests: CLITestCase {
  /// Tokens drawn from a few words that carry no information; the label of a token is B-hit
  /// when its second column is "yes", else O. Seeded, so the files are the same every run.
  func corpus(_ name: String, sentences: Int, seed: UInt64) throws -> String {
    var state = seed
    func next(_ n: UInt64) -> Int {
      state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
      return Int((state >> 33) % n)
    }
    var text = ""
    for _ in 0..<sentences {
      for _ in 0..<(3 + next(5)) {
        let flag = next(3) == 0 ? "yes" : "no"
        text += "w\(next(4))\t\(flag)\t\(flag == "yes" ? "B-hit" : "O")\n"
      }
      text += "\n"
    }
    return try write(text, to: name)
  }

  func testAFeatureTheLabelsDependOnIsLearned() throws {
    let train = try corpus("train.conll", sentences: 300, seed: 1)
    let test = try corpus("test.conll", sentences: 60, seed: 2)
    let common = [
      "train", "--train", train, "--epochs", "10", "--learning-rate", "0.01", "--embedding-size",
      "8", "--hidden-size", "8",
      "--character-filters", "0", "--quiet",
    ]
    assertSucceeded(try trellis(common + ["--model", path("with"), "--feature-column", "2:4"]))
    assertSucceeded(try trellis(common + ["--model", path("without")]))
    func f1(_ model: String) throws -> Double {
      let result = try trellis(["eval", "--model", model, "--test", test, "--json"])
      assertSucceeded(result)
      let scores = try XCTUnwrap(
        JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any])
      return try XCTUnwrap(scores["f1"] as? Double)
    }
    let with = try f1(path("with"))
    let without = try f1(path("without"))
    XCTAssertGreaterThan(with, 95, "the feature decides every label")
    XCTAssertLessThan(without, 60, "the tokens carry no information")

    // tag reads the same column and labels like eval does.
    let tagged = try trellis(["tag", "--model", path("with"), test])
    assertSucceeded(tagged)
    let predicted = tagged.output.split(separator: "\n").map {
      $0.split(separator: "\t").last.map(String.init) ?? ""
    }
    let gold = try contents(of: test).split(separator: "\n").map {
      $0.split(separator: "\t").last.map(String.init) ?? ""
    }
    let agreement = zip(predicted, gold).filter { $0 == $1 }.count
    XCTAssertGreaterThan(Double(agreement) / Double(gold.count), 0.95)
    // The model records the column; a file without it is an error naming the line.
    let info = try trellis(["info", "--json", path("with")])
    XCTAssertTrue(info.output.contains("\"featureColumns\""), info.output)
    let oneColumn = try write("w1\nw2\n", to: "tokens.conll")
    assertFailed(
      try trellis(["tag", "--model", path("with"), oneColumn]),
      mentioning: ["\(oneColumn):1: feature column 2 but the line has 1 column"])
    assertFailed(
      try trellis(["tag", "--model", path("with"), "--input", "text", oneColumn]),
      mentioning: ["\(path("with")): reads feature columns 2, which only CoNLL input carries"])
    let help = try trellis(["train", "--help"])
    XCTAssertTrue(help.output.contains("--feature-column <N[:DIM]>"), help.output)
  }
}
