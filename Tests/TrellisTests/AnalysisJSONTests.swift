import Foundation
import XCTest

@testable import Trellis

/// The hand-written `Analysis` JSON (every JSON-lines answer) against `JSONEncoder`, which it
/// replaced: the same bytes for random analyses, numbers of every magnitude and strings with
/// every character JSON escapes.
final class AnalysisJSONTests: XCTestCase {
  /// `JSONEncoder`'s bytes, with the Unicode line ends it writes as they are escaped, as the
  /// hand-written JSON escapes them.
  func encoderJSON(_ analysis: Analysis) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    return String(decoding: try encoder.encode(analysis), as: UTF8.self)
      .replacingOccurrences(of: "\u{85}", with: "\\u0085")
      .replacingOccurrences(of: "\u{2028}", with: "\\u2028")
      .replacingOccurrences(of: "\u{2029}", with: "\\u2029")
  }

  func handWrittenJSON(_ analysis: Analysis) throws -> String {
    // From the smallest room, so the writer grows many times within one answer; the braces
    // around the members as `TaggingResponse.jsonLine()` puts them, with no request's first.
    var json = JSONBytes(capacity: 0)
    json.append(UInt8(ascii: "{"))
    try analysis.appendMembers(to: &json)
    json.append(UInt8(ascii: "}"))
    return json.string()
  }

  /// Doubles of every kind a tagger writes and then some: probabilities, scores, integers,
  /// subnormals, huge values, negative zero, arbitrary bit patterns.
  func randomDouble(_ rng: inout SplitMix64) -> Double {
    switch rng.next() % 8 {
    case 0: return rng.nextUnitDouble()
    case 1: return Double(Int64(bitPattern: rng.next()) % 1_000_000)
    case 2: return (rng.nextUnitDouble() - 0.5) * pow(10, Double(Int(rng.next() % 80) - 40))
    case 3:
      return [0.0, -0.0, 1.0, 1e16, 1e15, 1e-5, .leastNonzeroMagnitude, .greatestFiniteMagnitude][
        Int(rng.next() % 8)]
    default:
      let value = Double(bitPattern: rng.next())
      return value.isFinite ? value : 0.25
    }
  }

  /// Strings mixing every control character, quotes, backslashes, slashes and non-ASCII text.
  func randomString(_ rng: inout SplitMix64) -> String {
    let pieces =
      [
        "a", "B-toloc.city_name", "\"", "\\", "/", "é", "😀", "\u{2028}", "\u{2029}", "\u{85}",
        "\u{7F}", " ", "\u{2027}", "\u{A0}",
      ]
      + (0..<0x20).map { String(UnicodeScalar(UInt8($0))) }
    return (0..<Int(rng.next() % 6)).map { _ in pieces[Int(rng.next() % UInt64(pieces.count))] }
      .joined()
  }

  func randomAnalysis(_ rng: inout SplitMix64) -> Analysis {
    let count = Int(rng.next() % 5)
    let strings = { (rng: inout SplitMix64) in (0..<count).map { _ in self.randomString(&rng) } }
    let spans = (0..<Int(rng.next() % 3)).map { _ in
      Span(
        label: randomString(&rng), start: Int(rng.next() % 50), end: Int(rng.next() % 50),
        text: randomString(&rng), startChar: rng.next() % 2 == 0 ? nil : Int(rng.next() % 500),
        endChar: rng.next() % 2 == 0 ? nil : Int(rng.next() % 500))
    }
    let alternatives = (0..<Int(rng.next() % 3)).map { _ in
      Alternative(
        labels: strings(&rng), score: randomDouble(&rng),
        probability: rng.next() % 3 == 0 ? nil : randomDouble(&rng))
    }
    return Analysis(
      tokens: strings(&rng), labels: strings(&rng), spans: spans,
      tokenConfidences: rng.next() % 2 == 0 ? nil : (0..<count).map { _ in randomDouble(&rng) },
      sequenceProbability: rng.next() % 2 == 0 ? nil : randomDouble(&rng),
      alternatives: alternatives, alternativesTruncated: rng.next() % 2 == 0)
  }

  func testTheBytesOfJSONEncoder() throws {
    var rng = SplitMix64(seed: 2024)
    for _ in 0..<3000 {
      let analysis = randomAnalysis(&rng)
      XCTAssertEqual(try handWrittenJSON(analysis), try encoderJSON(analysis))
    }
  }

  func testNumbersAsJSONEncoderWritesThem() throws {
    let cases: [(Double, String)] = [
      (1, "1"), (0.5, "0.5"), (1e-5, "1e-05"), (-0.0, "-0"), (1e16, "1e+16"),
      (1e15, "1000000000000000"), (0.9990651701789446, "0.9990651701789446"),
    ]
    for (value, text) in cases {
      XCTAssertEqual(try jsonNumber(value), text)
      XCTAssertEqual(
        try encoderJSON(
          Analysis(
            tokens: [], labels: [], spans: [], sequenceProbability: value)),
        "{\"labels\":[],\"probability\":\(text),\"spans\":[],\"tokens\":[]}")
    }
  }

  func testDecimalsAsStringWritesThem() {
    var rng = SplitMix64(seed: 7)
    let values =
      [0, 1, 9, 10, 99, 100, -1, -10, Int.max, Int.min, Int.min + 1]
      + (0..<3000).map { _ in Int(truncatingIfNeeded: rng.next()) >> Int(rng.next() % 64) }
    for value in values {
      // From one byte's room, so the digits also land across a growth.
      var json = JSONBytes(capacity: 1)
      json.append(UInt8(ascii: "x"))
      json.append(decimal: value)
      let written = json.string()
      XCTAssertEqual(written, "x" + String(value))
    }
  }

  func testNonFiniteNumbersAreRefusedAsJSONEncoderRefusesThem() {
    for value in [Double.nan, .infinity, -.infinity] {
      let analysis = Analysis(tokens: ["a"], labels: ["O"], spans: [], tokenConfidences: [value])
      XCTAssertThrowsError(try handWrittenJSON(analysis)) { error in
        // Described, not Foundation's "The operation could not be completed".
        XCTAssertEqual(
          error.localizedDescription, "\(value) cannot be written as a JSON number")
      }
      XCTAssertThrowsError(try encoderJSON(analysis))
    }
  }
}
