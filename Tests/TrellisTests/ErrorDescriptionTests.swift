import ConllEval
import Foundation
import XCTest

@testable import Trellis

/// `error.localizedDescription`, how most Swift programs print an error, is each public error's
/// message: on Linux it was Foundation's "The operation could not be completed. (… error 1.)".
final class ErrorDescriptionTests: XCTestCase {
  func testEveryPublicErrorGivesItsMessageAsItsLocalizedDescription() throws {
    var errors: [any Error & CustomStringConvertible] = [
      FeatureColumnsMissing(columns: [2], file: "m.model"),
      TrainingFailure("the loss is not finite"),
      BLASUnavailable(reason: "libopenblas.so.0: cannot open"),
      JSONLineError("not JSON"),
    ]
    // The rest as the library throws them.
    XCTAssertThrowsError(try TrainingRecipe.read(from: "/nonexistent/recipe.json")) {
      errors.append($0 as! TrellisError)
    }
    XCTAssertThrowsError(try TaggingOptions(threads: 0).validate()) {
      errors.append($0 as! OptionError)
    }
    XCTAssertThrowsError(try scoreConll(text: "a B-X B-X\nb B-X\n", fileName: "s.conll")) {
      errors.append($0 as! ConllEvalError)
    }
    XCTAssertEqual(errors.count, 7)
    for error in errors {
      XCTAssertFalse(error.description.isEmpty)
      XCTAssertEqual(error.localizedDescription, error.description)
    }
  }

  /// How errors name what a program gave: a Swift argument no flag sets in camel case without
  /// dashes (it was `--featureCount`), a flag's setting as the flag, and an empty path as `""`
  /// (it was `: no such file`).
  func testErrorsNameAProgramsArgumentsAndEmptyPaths() {
    let cases: [(any Error, String)] = [
      (OptionError("featureCount", "must be 0 or more (got -1)"), "featureCount must be 0 or more"),
      (OptionError("hidden-size", "must be in 1...4096 (got 0)"), "--hidden-size must be in"),
      (OptionError("FILE", "is empty"), "FILE is empty"),
    ]
    for (error, expected) in cases {
      XCTAssertTrue("\(error)".hasPrefix(expected), "\(error)")
    }
    XCTAssertThrowsError(try ModelFile.read(from: "")) {
      XCTAssertEqual("\($0)", "\"\": no such model file")
    }
    XCTAssertThrowsError(try readLabelledCoNLL(path: "")) {
      XCTAssertEqual("\($0)", "\"\": no such file")
    }
  }
}
