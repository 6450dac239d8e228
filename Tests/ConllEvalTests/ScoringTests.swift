import Foundation
import XCTest

@testable import ConllEval

final class ChunksTests: XCTestCase {
  func testBIO() {
    XCTAssertEqual(
      chunks(in: ["B-PER", "I-PER", "O", "B-LOC", "B-LOC"]),
      [
        Chunk(type: "PER", start: 0, end: 2), Chunk(type: "LOC", start: 3, end: 4),
        Chunk(type: "LOC", start: 4, end: 5),
      ])
  }

  func testIOB1ChunksStartWithIAfterOutside() {
    XCTAssertEqual(
      chunks(in: ["I-PER", "I-PER", "B-PER", "O", "I-LOC"]),
      [
        Chunk(type: "PER", start: 0, end: 2), Chunk(type: "PER", start: 2, end: 3),
        Chunk(type: "LOC", start: 4, end: 5),
      ])
  }

  func testTypeChangeEndsAndStartsAChunk() {
    XCTAssertEqual(
      chunks(in: ["B-PER", "I-ORG", "I-ORG"]),
      [Chunk(type: "PER", start: 0, end: 1), Chunk(type: "ORG", start: 1, end: 3)])
  }

  func testChunkEndsAtSentenceEnd() {
    XCTAssertEqual(chunks(in: ["O", "B-X", "I-X"]), [Chunk(type: "X", start: 1, end: 3)])
    XCTAssertEqual(chunks(in: []), [])
    XCTAssertEqual(chunks(in: ["O", "O"]), [])
  }

  func testTypeIsEverythingAfterTheFirstHyphen() {
    XCTAssertEqual(
      chunks(in: ["B-toloc-city", "I-toloc-city", "I-toloc-state", "B-round_trip.x"]),
      [
        Chunk(type: "toloc-city", start: 0, end: 2), Chunk(type: "toloc-state", start: 2, end: 3),
        Chunk(type: "round_trip.x", start: 3, end: 4),
      ])
  }

  func testIOBESIsReadWithConllevalsRules() {
    // conlleval has no rule for S-, and none for E- followed by B-, so these merge.
    XCTAssertEqual(chunks(in: ["S-X", "S-X", "O"]), [Chunk(type: "X", start: 0, end: 2)])
    XCTAssertEqual(chunks(in: ["B-X", "E-X", "B-X", "E-X"]), [Chunk(type: "X", start: 0, end: 4)])
    XCTAssertEqual(
      chunks(in: ["B-X", "I-X", "E-X", "S-Y", "O", "S-X"]),
      [
        Chunk(type: "X", start: 0, end: 3), Chunk(type: "Y", start: 3, end: 4),
        Chunk(type: "X", start: 5, end: 6),
      ])
  }

  func testBracketTagsAreOneTokenChunks() {
    XCTAssertEqual(
      chunks(in: ["[-NP", "]-NP", "O"]),
      [Chunk(type: "NP", start: 0, end: 1), Chunk(type: "NP", start: 1, end: 2)])
  }

  /// conlleval's `$guessedType ne $correctType`: a chunk both started alike stops being
  /// correct where the current tags' types differ, although neither ended. After ".-X", which
  /// neither ends nor starts a chunk, gold "I-Y" starts a chunk of another type and predicted
  /// "I-X" continues; at the sentence's end both chunks end, so the predicted X chunk (tokens
  /// 0–2) matches no gold chunk: 2 phrases, 1 found, 0 correct (conlleval.pl 2004-01-26 prints
  /// "processed 3 tokens with 2 phrases; found: 1 phrases; correct: 0.").
  func testTypesDifferingAfterADotTagEndTheCorrectChunk() {
    var counts = ConllCounts()
    counts.add(gold: ["B-X", ".-X", "I-Y"], predicted: ["B-X", ".-X", "I-X"])
    XCTAssertEqual(
      [counts.goldChunkCount, counts.predictedChunkCount, counts.correctChunkCount], [2, 1, 0])
  }

  /// The rules conlleval.pl writes for an E- tag: `endOfChunk` holds for E→E and E→I
  /// (`$prevTag eq "E" and $tag eq "I"`), and `startOfChunk` for E→E and E→I, whatever the
  /// types. So "E-X E-X" is two chunks (without E→E in `startOfChunk` the second E-X of the
  /// same type would start none); and with gold "B-X E-X I-X" against predicted
  /// "B-X E-X E-X", both end their first chunk at token 2 (gold by E→I, predicted by E→E) and
  /// both start a second there, so both chunks are correct: 2 phrases, 2 found, 2 correct
  /// (as conlleval.pl 2004-01-26 prints for these lines).
  func testEndTagsEndAndStartChunksAsConllevalsRulesSay() {
    XCTAssertEqual(
      chunks(in: ["E-X", "E-X"]),
      [Chunk(type: "X", start: 0, end: 1), Chunk(type: "X", start: 1, end: 2)])
    XCTAssertEqual(
      chunks(in: ["B-X", "E-X", "I-X"]),
      [Chunk(type: "X", start: 0, end: 2), Chunk(type: "X", start: 2, end: 3)])
    var counts = ConllCounts()
    counts.add(gold: ["B-X", "E-X", "I-X"], predicted: ["B-X", "E-X", "E-X"])
    XCTAssertEqual(
      [counts.goldChunkCount, counts.predictedChunkCount, counts.correctChunkCount], [2, 2, 2])
  }

  /// conlleval compares a prefix with one-letter strings (`$tag eq "B"`), so a prefix of two
  /// letters matches none of its rules: "BB-X BB-X" falls to the default rules, by which a
  /// chunk starts at the first tag (not "O" or ".", and a type other than the boundary's "")
  /// and continues through the second (the same type). One chunk, where reading "BB" as "B"
  /// would make two (B→B ends and starts one).
  func testAPrefixOfTwoLettersMatchesNoRule() {
    XCTAssertEqual(chunks(in: ["BB-X", "BB-X"]), [Chunk(type: "X", start: 0, end: 2)])
    XCTAssertEqual(chunks(in: ["B-X", "BB-X"]), [Chunk(type: "X", start: 0, end: 2)])
  }
}

final class ScoreConllTests: XCTestCase {
  func testWrongColumnCountNamesFileAndLine() {
    let text = "\n\nflights O O\nto O O\n\nBoston B-LOC\n"
    XCTAssertThrowsError(try scoreConll(text: text, fileName: "dev.conll")) { error in
      XCTAssertEqual(
        error as? ConllEvalError,
        ConllEvalError(
          fileName: "dev.conll", line: 6, message: "expected 3 columns as on line 3, found 2"))
      XCTAssertEqual("\(error)", "dev.conll:6: expected 3 columns as on line 3, found 2")
    }
  }

  func testBoundaryLinesAreCheckedForColumnCountLikeConlleval() {
    XCTAssertThrowsError(try scoreConll(text: "a O O\n-X-\n", fileName: "f")) { error in
      XCTAssertEqual("\(error)", "f:2: expected 3 columns as on line 1, found 1")
    }
  }

  func testLinesNeedGoldAndPredictedColumns() {
    XCTAssertThrowsError(try scoreConll(text: "O\nO\n", fileName: "f")) { error in
      XCTAssertEqual(
        "\(error)", "f:1: expected at least 2 columns (gold and predicted label), found 1")
    }
  }

  func testLineNumbersWithByteOrderMarkAndCRLF() {
    XCTAssertThrowsError(try scoreConll(text: "\u{FEFF}a O O\r\n\r\nb O\r\n", fileName: "f")) {
      error in
      XCTAssertEqual("\(error)", "f:3: expected 3 columns as on line 1, found 2")
    }
  }

  /// LF, CRLF and a lone CR each end a line; "\r\r\n" is a line end and then an empty line (a
  /// sentence boundary). No label keeps a CR.
  func testLoneCRAndCRLFEndLinesLikeLF() throws {
    let lines = ["a B-X B-X", "b I-X I-X", "", "c O B-Y", "d B-Y B-Y", "", "e I-Y O"]
    let reference = try scoreConll(text: lines.joined(separator: "\n") + "\n", fileName: "f")
    let variants = [
      "CR": lines.joined(separator: "\r") + "\r",
      "CRLF": lines.joined(separator: "\r\n"),
      "CR CR LF": "a B-X B-X\rb I-X I-X\r\r\nc O B-Y\nd B-Y B-Y\r\r\ne I-Y O",
    ]
    for (name, text) in variants.sorted(by: { $0.key < $1.key }) {
      let counts = try scoreConll(text: text, fileName: "f")
      XCTAssertEqual(counts.report(), reference.report(), name)
      XCTAssertEqual(counts, reference, name)
    }
    XCTAssertEqual(reference.tokenCount, 5)
    XCTAssertEqual(reference.goldChunkCount, 3)
    let report = try scoreConll(text: "a O B-X\r\r\n", fileName: "f").report()
    XCTAssertFalse(report.contains("\r"), report)
  }

  func testLineNumbersCountLoneCRLineEnds() {
    XCTAssertThrowsError(try scoreConll(text: "a O O\rb O O\r\r\nc O\r", fileName: "f")) { error in
      XCTAssertEqual("\(error)", "f:4: expected 3 columns as on line 1, found 2")
    }
  }

  func testColumnsAreSplitOnRunsOfSpacesAndTabs() throws {
    let spaced = try scoreConll(text: "a B-X B-X\nb I-X O\n\nc O B-Y\n", fileName: "f")
    let tabbed = try scoreConll(text: "a\tB-X  B-X\nb \t I-X\tO  \n \t\nc   O B-Y", fileName: "f")
    XCTAssertEqual(tabbed.report(), spaced.report())
    XCTAssertEqual(spaced.tokenCount, 3)
    XCTAssertEqual(spaced.goldChunkCount, 1)
    XCTAssertEqual(spaced.predictedChunkCount, 2)
  }

  func testAddingSentencesEqualsScoringTheirFile() throws {
    let sentences: [(gold: [String], predicted: [String])] = [
      (["I-ORG", "O", "I-MISC", "O"], ["I-ORG", "O", "B-MISC", "O"]),
      (["I-PER", "B-PER", "O"], ["O", "I-PER", "O"]),
      (["B-LOC", "I-LOC"], ["B-LOC", "I-ORG"]),
    ]
    var added = ConllCounts()
    var text = ""
    for sentence in sentences {
      added.add(gold: sentence.gold, predicted: sentence.predicted)
      for (gold, predicted) in zip(sentence.gold, sentence.predicted) {
        text += "w \(gold) \(predicted)\n"
      }
      text += "\n"
    }
    let scored = try scoreConll(text: text, fileName: "f")
    XCTAssertEqual(added, scored)
    XCTAssertEqual(added.report(), scored.report())
    XCTAssertEqual(added.tokenCount, 9)
    XCTAssertEqual(added.correctTokenCount, 5)
    XCTAssertEqual(added.goldChunkCount, 5)
    XCTAssertEqual(added.predictedChunkCount, 5)
    XCTAssertEqual(added.correctChunkCount, 3)
    XCTAssertEqual(added.perType["PER"], TypeCounts(gold: 2, predicted: 1, correct: 1))
    XCTAssertEqual(added.perType["ORG"], TypeCounts(gold: 1, predicted: 2, correct: 1))
  }

  /// A token "-X-" is a boundary to conlleval, whose lines start with the token: `add` with the
  /// tokens counts a sentence holding one as the file of its lines is scored (`trellis eval`
  /// against `trellis tag | trellis score`); without them it is an ordinary token.
  func testATokenXIsABoundaryAsInTheScoredFile() throws {
    let tokens = ["flights", "-X-", "to", "new", "york"]
    let gold = ["B-a", "I-a", "O", "B-city", "I-city"]
    let predicted = ["B-a", "I-a", "O", "B-city", "B-city"]
    var added = ConllCounts()
    added.add(gold: gold, predicted: predicted, tokens: tokens)
    let text = zip(tokens, zip(gold, predicted)).map { "\($0) \($1.0) \($1.1)\n" }.joined() + "\n"
    let scored = try scoreConll(text: text, fileName: "f")
    XCTAssertEqual(added, scored)
    XCTAssertEqual(added.tokenCount, 4)
    var withoutTokens = ConllCounts()
    withoutTokens.add(gold: gold, predicted: predicted)
    XCTAssertEqual(withoutTokens.tokenCount, 5)
  }

  func testNumbersAreConllevalPercentages() {
    var counts = ConllCounts()
    counts.add(
      gold: ["B-PER", "I-PER", "O", "B-LOC"], predicted: ["B-PER", "I-PER", "O", "B-ORG"])
    counts.add(gold: ["B-PER"], predicted: ["O"])
    XCTAssertEqual(counts.accuracy, 60)
    XCTAssertEqual(counts.precision, 50)
    XCTAssertEqual(counts.recall, 100.0 / 3)
    XCTAssertEqual(counts.f1, 40, accuracy: 1e-12)
    XCTAssertEqual(counts.perType["ORG"]?.precision, 0)
    XCTAssertEqual(counts.perType["PER"]?.recall, 50)
    XCTAssertEqual(ConllCounts().precision, 0)
    XCTAssertEqual(ConllCounts().f1, 0)
  }

  func testJSON() {
    var counts = ConllCounts()
    counts.add(
      gold: ["B-PER", "I-PER", "O", "B-LOC"], predicted: ["B-PER", "I-PER", "O", "B-ORG"])
    XCTAssertEqual(
      counts.json(),
      """
      {
        "accuracy": 75.0,
        "correct": 1,
        "f1": 50.0,
        "found": 2,
        "phrases": 2,
        "precision": 50.0,
        "recall": 50.0,
        "tokens": 4,
        "types": {
          "LOC": {
            "correct": 0,
            "f1": 0.0,
            "found": 0,
            "gold": 1,
            "precision": 0.0,
            "recall": 0.0
          },
          "ORG": {
            "correct": 0,
            "f1": 0.0,
            "found": 1,
            "gold": 0,
            "precision": 0.0,
            "recall": 0.0
          },
          "PER": {
            "correct": 1,
            "f1": 100.0,
            "found": 1,
            "gold": 1,
            "precision": 100.0,
            "recall": 100.0
          }
        }
      }

      """)
    XCTAssertEqual(
      ConllCounts().json(),
      """
      {
        "accuracy": 0.0,
        "correct": 0,
        "f1": 0.0,
        "found": 0,
        "phrases": 0,
        "precision": 0.0,
        "recall": 0.0,
        "tokens": 0,
        "types": {}
      }

      """)
  }

  func testJSONEscapesTypeNames() throws {
    var counts = ConllCounts()
    counts.add(gold: ["B-a\"b\\c"], predicted: ["O"])
    let object = try JSONSerialization.jsonObject(with: Data(counts.json().utf8)) as? [String: Any]
    let types = try XCTUnwrap(object?["types"] as? [String: Any])
    XCTAssertEqual(Array(types.keys), ["a\"b\\c"])
  }

  func testPercentFormattingRoundsLikePerl() {
    // Expected strings from `perl -e 'printf "[%6.2f]", $x'` (perl 5.36).
    let cases: [(Double, String)] = [
      (0.125, "  0.12"), (0.375, "  0.38"), (2.675, "  2.67"), (1.005, "  1.00"),
      (200.0 / 3, " 66.67"), (100.0 / 3, " 33.33"), (100, "100.00"), (0, "  0.00"),
      (1000, "1000.00"), (99.995, "100.00"), (99.994999, " 99.99"),
    ]
    for (value, expected) in cases {
      XCTAssertEqual(fixed(value), expected, "\(value)")
    }
  }
}
