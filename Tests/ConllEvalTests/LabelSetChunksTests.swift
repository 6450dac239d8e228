import XCTest

@testable import ConllEval

/// `LabelSetChunks` (spans of a tagger's answers, read from label ids) against `chunks(in:)` of
/// the same labels as strings, on label sets with every prefix conlleval's rules name, types
/// that differ only by bytes, and labels without a type.
final class LabelSetChunksTests: XCTestCase {
  func testTheChunksOfTheLabelStrings() {
    let types = ["PER", "LOC", "toloc.city_name", "a-b", "0", "", "é", "e\u{301}"]
    let prefixes = ["B", "I", "E", "S", "O", ".", "[", "]", "BI", ""]
    let allLabels = ["O", "X"] + prefixes.flatMap { prefix in types.map { "\(prefix)-\($0)" } }
    var generator = SplitMix64(state: 7)
    for _ in 0..<300 {
      let labels = (0..<Int.random(in: 1...12, using: &generator)).map { _ in
        allLabels.randomElement(using: &generator)!
      }
      let labelSet = LabelSetChunks(labels: labels)
      for _ in 0..<10 {
        let ids = (0..<Int.random(in: 0...15, using: &generator)).map { _ in
          Int.random(in: 0..<labels.count, using: &generator)
        }
        let expected = chunks(in: ids.map { labels[$0] })
        let found = labelSet.chunks(in: ids)
        XCTAssertEqual(found, expected, "\(ids.map { labels[$0] })")
        // `Chunk`'s == compares type bytes; the type strings must be the same bytes too.
        XCTAssertEqual(found.map { Array($0.type.utf8) }, expected.map { Array($0.type.utf8) })
      }
    }
  }
}
