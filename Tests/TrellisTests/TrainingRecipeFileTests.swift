import Foundation
import XCTest

@testable import Trellis

/// Configuration files (`trellis train --config`): a field left out takes its default at every
/// depth, and a field misspelt or out of range is refused at every depth, arrays included.
final class TrainingRecipeFileTests: XCTestCase {
  func read(_ json: String) throws -> TrainingRecipe {
    let path = temporaryPath("recipe-\(UUID().uuidString).json")
    try Data(json.utf8).write(to: URL(fileURLWithPath: path))
    defer { try? FileManager.default.removeItem(atPath: path) }
    return try TrainingRecipe.read(from: path)
  }

  func refusal(_ json: String) -> String {
    do {
      _ = try read(json)
      return "accepted"
    } catch {
      return "\(error)"
    }
  }

  /// Each nested setting's fields were all required: `{"normalization": {"lowercase": false}}`
  /// was refused for want of `digitsToZero`, in a decoder's words.
  func testNestedSettingsTakeTheDefaultsOfTheFieldsTheyLeaveOut() throws {
    let configuration = try read(
      #"{"configuration": {"normalization": {"lowercase": false}, "headOptions": {"l2": 0.5}, "#
        + #""featureColumns": [{"column": 2}, {"column": 3, "size": 4}]}}"#
    ).configuration
    let defaults = TaggerConfiguration()
    XCTAssertEqual(
      configuration.normalization,
      TokenNormalization(lowercase: false, digitsToZero: defaults.normalization.digitsToZero))
    XCTAssertEqual(
      configuration.headOptions, HeadOptions(costWeight: defaults.headOptions.costWeight, l2: 0.5))
    XCTAssertEqual(
      configuration.featureColumns,
      [
        FeatureColumn(column: 2, size: FeatureColumn.defaultSize),
        FeatureColumn(column: 3, size: 4),
      ])
  }

  /// A misspelt field inside an array's object was ignored, and a number out of its field's
  /// range there named no field.
  func testFieldsOfAnArraysObjectsAreCheckedAsEveryOtherField() {
    XCTAssertTrue(
      refusal(#"{"configuration": {"featureColumns": [{"column": 2}, {"column": 3, "sise": 4}]}}"#)
        .hasSuffix("has no option 'configuration.featureColumns[1].sise'"))
    XCTAssertThrowsError(
      try read(#"{"configuration": {"featureColumns": [{"column": 2, "size": 1e30}]}}"#)
    ) { error in
      XCTAssertEqual(
        error as? OptionError,
        OptionError(
          "size", "must be a whole number in the option's range",
          field: "configuration.featureColumns[0].size"))
    }
    XCTAssertTrue(
      refusal(#"{"configuration": {"featureColumns": [{"size": 4}]}}"#)
        .hasSuffix("'configuration.featureColumns[0]' lacks 'column', which has no default"))
  }
}
