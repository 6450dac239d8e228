import XCTest

@testable import Trellis

/// `TaggerConfiguration.parameterLimit`: every size at its own limit still validates, as long as
/// the sizes together stay within the limit; combinations past it are refused before a model is
/// laid out, let alone allocated.
final class ParameterLimitTests: XCTestCase {
  func parameters(_ configuration: TaggerConfiguration) -> Int {
    TaggerModel.layout(
      configuration: configuration, wordCount: 2, labelCount: 1, characterCount: 2,
      featureValueCounts: configuration.featureColumns.map { _ in 2 }
    ).reduce(0) { $0 + $1.count }
  }

  func testTheWidestSingleSizesFitAndTheirCombinationsDoNot() throws {
    var widest = TaggerConfiguration()
    (widest.embeddingSize, widest.hiddenSize) = (4096, 4096)
    XCTAssertNoThrow(try widest.validate())
    XCTAssertLessThan(parameters(widest), TaggerConfiguration.parameterLimit)
    var windowed = widest
    windowed.window = 64
    XCTAssertGreaterThan(parameters(windowed), 17_000_000_000)
    XCTAssertThrowsError(try windowed.validate()) { error in
      XCTAssertEqual((error as? OptionError)?.option, "hidden-size")
      XCTAssertTrue("\(error)".contains("more than the 536870912 a model may have"), "\(error)")
    }
    var deep = TaggerConfiguration()
    deep.layers = 8
    XCTAssertNoThrow(try deep.validate())
    deep.hiddenSize = 4096
    XCTAssertThrowsError(try deep.validate())
  }
}
