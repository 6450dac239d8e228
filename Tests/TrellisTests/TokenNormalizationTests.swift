import XCTest

@testable import Trellis

/// Every ASCII byte as a token of its own, then 2,000 random ASCII tokens of 1…`maximumLength`
/// bytes (control characters included).
func asciiTestTokens(maximumLength: Int, seed: UInt64) -> [String] {
  var rng = SplitMix64(seed: seed)
  return (0..<128).map { String(UnicodeScalar(UInt8($0))) }
    + (0..<2_000).map { _ in
      let length = 1 + Int(rng.nextUnitFloat() * Float(maximumLength))
      return String(
        decoding: (0..<length).map { _ in UInt8(rng.nextUnitFloat() * 128) % 128 }, as: UTF8.self)
    }
}

/// `TokenNormalization.key(for:)`: the byte-by-byte path for ASCII tokens must give the keys of
/// the Unicode path (`unicodeKey`), for every setting.
final class TokenNormalizationTests: XCTestCase {
  let settings = [(true, true), (true, false), (false, true), (false, false)].map {
    TokenNormalization(lowercase: $0, digitsToZero: $1)
  }

  /// Every ASCII byte alone, and 2,000 random ASCII tokens of up to 40 bytes (long enough to
  /// leave Swift's inline small strings).
  func testASCIIKeysMatchTheUnicodePath() {
    let tokens = asciiTestTokens(maximumLength: 40, seed: 11)
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

/// `TaggerModel.appendCharacterIds(of:to:)`: the byte-by-byte path for ASCII tokens must give the ids
/// of the per-Character path (`unicodeCharacterIds`), lowercasing characters or not.
final class CharacterIdTests: XCTestCase {
  func model(lowercaseCharacters: Bool) -> TaggerModel {
    var configuration = TaggerConfiguration()
    configuration.characterFilters = 2
    configuration.characterEmbeddingSize = 2
    configuration.lowercaseCharacters = lowercaseCharacters
    // Upper- and lower-case letters, digits, punctuation, a tab and "\r\n" (one Character).
    let characters = ["<pad>", "<unk>", "a", "B", "b", "z", "Z", "0", "7", "-", ".", "\t", "\r\n"]
    return try! TaggerModel(
      configuration: configuration, words: Vocabulary(["<pad>", "<unk>"]),
      labels: Vocabulary(["O"]), characters: Vocabulary(characters))
  }

  /// Every ASCII byte alone, tokens with CR and CRLF, tokens longer than the CNN reads, and
  /// 2,000 random ASCII tokens.
  func testASCIIIdsMatchThePerCharacterPath() {
    let tokens =
      asciiTestTokens(maximumLength: 30, seed: 5)
      + ["a\r\nb", "\r", "B\rZ", String(repeating: "aBz-", count: 40), "Zz.07"]
    for lowercase in [false, true] {
      let model = model(lowercaseCharacters: lowercase)
      for token in tokens {
        XCTAssertEqual(
          characterIds(model, token), model.unicodeCharacterIds(for: token),
          "lowercase \(lowercase), \(Array(token.utf8))")
      }
    }
  }

  /// Tokens with non-ASCII characters take the per-Character path: "é" is one unknown id.
  func testNonASCIITokens() {
    let model = model(lowercaseCharacters: false)
    let unknown = Int32(ReservedWord.unknownId)
    XCTAssertEqual(characterIds(model, "aé"), [2, unknown])
    XCTAssertEqual(characterIds(model, "e\u{301}B"), [unknown, 3])
  }
}

/// The character ids `model` reads for `token`, alone.
private func characterIds(_ model: TaggerModel, _ token: String) -> [Int32] {
  var characters = CharacterIds()
  model.appendCharacterIds(of: token, to: &characters)
  return characters.ids
}

/// The character vocabulary holds what the character CNN reads: each token's first
/// `CharacterCNN.maximumLength` characters, in order of first appearance.
final class CharacterVocabularyTests: XCTestCase {
  func testCharactersPastTheCNNsLengthGetNoRow() {
    let long = String(repeating: "c", count: CharacterCNN.maximumLength) + "q"
    let sentences = [Sentence(tokens: ["ab", long, "ba"], labels: ["O", "O", "O"])]
    let characters = CorpusVocabularies.characters(
      of: sentences, configuration: TaggerConfiguration())
    XCTAssertEqual(characters.strings, ["<pad>", "<unk>", "a", "b", "c"])
  }
}
