import XCTest

@testable import Trellis

/// `TokenNormalization.key(for:)`: the byte-by-byte path for ASCII tokens must give the keys of
/// the Unicode path (`unicodeKey`), for every setting.
final class TokenNormalizationTests: XCTestCase {
  let settings = [(true, true), (true, false), (false, true), (false, false)].map {
    TokenNormalization(lowercase: $0, digitsToZero: $1)
  }

  /// Every ASCII byte alone, and 2,000 random ASCII tokens of up to 40 bytes (long enough to
  /// leave Swift's inline small strings).
  func testASCIIKeysMatchTheUnicodePath() {
    var tokens = (0..<128).map { String(UnicodeScalar(UInt8($0))) }
    var rng = SplitMix64(seed: 11)
    for _ in 0..<2_000 {
      let length = 1 + Int(rng.nextUnitFloat() * 40)
      tokens.append(
        String(
          decoding: (0..<length).map { _ in UInt8(rng.nextUnitFloat() * 128) % 128 },
          as: UTF8.self))
    }
    for normalization in settings {
      for token in tokens {
        XCTAssertEqual(
          Array(normalization.key(for: token).utf8),
          Array(normalization.unicodeKey(for: token).utf8),
          "\(normalization) on \(Array(token.utf8))")
      }
    }
  }

  /// Tokens with any non-ASCII byte take the Unicode path: lowercasing beyond A–Z, and only
  /// ASCII digits become 0.
  func testNonASCIITokens() {
    let both = TokenNormalization()
    XCTAssertEqual(both.key(for: "ÉCOLE-1991"), "école-0000")
    XCTAssertEqual(both.key(for: "Straße²٣"), "straße²٣")
    XCTAssertEqual(TokenNormalization(lowercase: false).key(for: "Ünïcode 42"), "Ünïcode 00")
  }

  /// Plain ASCII: case folded (when on), every digit to 0 (when on).
  func testASCIIExamples() {
    XCTAssertEqual(TokenNormalization().key(for: "Flight UA1991"), "flight ua0000")
    XCTAssertEqual(TokenNormalization(digitsToZero: false).key(for: "AA-100"), "aa-100")
  }
}
