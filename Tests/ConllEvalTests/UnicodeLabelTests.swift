import XCTest

@testable import ConllEval

/// Labels are compared by their bytes, as conlleval compares them: canonically equivalent
/// spellings (which Swift's `String ==` treats as equal) are different labels, and a combining
/// mark after "-" does not hide the hyphen (as one Swift `Character` "-\u{301}" would).
final class UnicodeLabelTests: XCTestCase {
  /// "é" as U+00E9 and as "e" + U+0301; the Kelvin sign U+212A and "K".
  static let composed = "B-caf\u{E9}", decomposed = "B-cafe\u{301}"

  func testCanonicallyEquivalentTypesAreTwoTypesForTheScorer() {
    XCTAssertEqual(Self.composed, Self.decomposed, "the premise: Swift calls them equal")
    var counts = ConllCounts()
    counts.add(gold: [Self.composed, "B-\u{212A}"], predicted: [Self.decomposed, "B-K"])
    XCTAssertEqual(counts.correctTokenCount, 0)
    XCTAssertEqual(counts.correctChunkCount, 0)
    XCTAssertEqual(counts.perType.count, 4)
    XCTAssertEqual(
      counts.perType[ExactString("caf\u{E9}")], TypeCounts(gold: 1, predicted: 0, correct: 0))
    XCTAssertEqual(
      counts.perType[ExactString("cafe\u{301}")], TypeCounts(gold: 0, predicted: 1, correct: 0))
    XCTAssertNil(counts.perType["cafe"])
    XCTAssertEqual(
      counts.json().components(separatedBy: "\"found\"").count - 1, 5, "4 types + the total")
  }

  func testCombiningMarkAfterTheHyphenBelongsToTheType() {
    XCTAssertEqual(
      chunks(in: ["B-\u{301}X", "I-\u{301}X", "O", "I-\u{301}X"]),
      [Chunk(type: "\u{301}X", start: 0, end: 2), Chunk(type: "\u{301}X", start: 3, end: 4)])
    // After the prefix letter, the mark makes the prefix "B\u{301}", which no chunk rule names.
    XCTAssertEqual(chunks(in: ["B\u{301}-X", "I-X"]), [Chunk(type: "X", start: 0, end: 2)])
  }

  func testChunksOfEquivalentTypesDiffer() {
    let a = Chunk(type: "caf\u{E9}", start: 0, end: 1)
    let b = Chunk(type: "cafe\u{301}", start: 0, end: 1)
    XCTAssertNotEqual(a, b)
    XCTAssertEqual(Set([a, b, a]).count, 2)
    XCTAssertEqual(
      chunks(in: [Self.composed, "I-cafe\u{301}"]).count, 2, "a type change ends the chunk")
  }

  func testTagSchemesCompareTypesByBytes() {
    XCTAssertFalse(isAllowedTransition(from: Self.composed, to: "I-cafe\u{301}", scheme: .bio))
    XCTAssertTrue(isAllowedTransition(from: Self.composed, to: "I-caf\u{E9}", scheme: .bio))
    XCTAssertTrue(isAllowedTransition(from: nil, to: "B-\u{301}X", scheme: .bio))
    XCTAssertTrue(isAllowedTransition(from: "B-\u{301}X", to: "I-\u{301}X", scheme: .bio))
    XCTAssertFalse(isAllowedTransition(from: nil, to: "B\u{301}-X", scheme: .bio))
    XCTAssertFalse(isAllowedTransition(from: "B-\u{212A}", to: "E-K", scheme: .bioes))
    XCTAssertEqual(
      convert([Self.composed, "I-cafe\u{301}"], from: .bio, to: .bioes),
      ["S-caf\u{E9}", "S-cafe\u{301}"])
    XCTAssertEqual(
      convert(["B-\u{301}X", "I-\u{301}X"], from: .bio, to: .bioes), ["B-\u{301}X", "E-\u{301}X"])
    XCTAssertEqual(convert(["I-\u{212A}", "I-K"], from: .iob1, to: .bio), ["B-\u{212A}", "B-K"])
    XCTAssertEqual(detectScheme([[Self.composed, "I-cafe\u{301}"]]), .iob1)
    XCTAssertEqual(invalidTransitionCount([Self.composed, "I-cafe\u{301}"], scheme: .bio), 1)
  }

  func testExactStringEqualsHashesAndSortsByBytes() {
    let composed = ExactString("\u{E9}")
    let decomposed = ExactString("e\u{301}")
    XCTAssertNotEqual(composed, decomposed)
    XCTAssertEqual(composed, ExactString("\u{E9}"))
    XCTAssertEqual(Set([composed, decomposed, "\u{E9}"]).count, 2)
    XCTAssertEqual(ExactString("\u{E9}"[...]), composed)
    // Bytes: "e" (0x65) + 0xCC 0x81 sorts before 0xC3 0xA9, and "Z" (0x5A) before both.
    XCTAssertEqual([composed, decomposed, "Z"].sorted(), ["Z", decomposed, composed])
  }
}
