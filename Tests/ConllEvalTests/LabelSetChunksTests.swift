import XCTest

@testable import ConllEval

/// `LabelSetChunks` (spans of a tagger's answers, read from label ids) against `chunks(in:)` of
/// the same labels as strings, on label sets with every prefix conlleval's rules name, types
/// that differ only by bytes, and labels without a type.
final class LabelSetChunksTests: XCTestCase {
  /// A chunk's type is its label's as written: conlleval reads the type "0" as "" (false in
  /// Perl) for its rules and counts, and spans of "B-0" were labelled "" (BIOES data kept "0").
  func testTheTypeZeroIsReportedAsWritten() {
    let bio = ["B-0", "I-0", "O", "B-1"]
    let expected = [Chunk(type: "0", start: 0, end: 2), Chunk(type: "1", start: 3, end: 4)]
    XCTAssertEqual(chunks(in: bio).map(\.type), ["0", "1"])
    XCTAssertEqual(chunks(in: bio), expected)
    XCTAssertEqual(LabelSetChunks(labels: bio).chunks(in: [0, 1, 2, 3]).map(\.type), ["0", "1"])
    XCTAssertEqual(chunks(in: ["B-0", "E-0", "O", "S-1"], scheme: .bioes), expected)
    XCTAssertEqual(chunks(in: ["0", "1", "O"], raw: true).map(\.type), ["0", "1"])
    XCTAssertEqual(
      LabelSetChunks(labels: ["0", "1", "O"], raw: true).chunks(in: [0, 1, 2]).map(\.type),
      ["0", "1"])
    // Scoring stays conlleval's: the type "0" is counted as "".
    var counts = ConllCounts()
    counts.add(gold: bio, predicted: bio)
    XCTAssertEqual(counts.perType.keys.map(\.string).sorted(), ["", "1"])
  }

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
