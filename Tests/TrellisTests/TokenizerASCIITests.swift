import XCTest

@testable import Trellis

/// `Tokenizer`'s byte path for ASCII text against its rules by grapheme cluster, which it
/// must cut exactly as: the same tokens at the same code-point ranges.
final class TokenizerASCIITests: XCTestCase {
  /// The grapheme-cluster rules' tokens of `text`, and the byte path's.
  private func bothCuts(_ text: String) -> (characters: [TextToken], ascii: [TextToken]) {
    var text = text
    let ascii = text.withUTF8 { Tokenizer.tokenize(ascii: $0, keepingAtMost: .max).tokens }
    return (Tokenizer.tokenize(characters: text, keepingAtMost: .max).tokens, ascii)
  }

  /// Both paths keep the first `limit` tokens of a text and count them all: a request's text
  /// is refused past a sentence's tokens without keeping them.
  func testALimitKeepsTheFirstTokensAndCountsThemAll() {
    var rng = SplitMix64(seed: 11)
    for text in ["", "a", "don't fly, at 10:30 o'clock!", "…ok ¿qué? 東京 ✈️", "x.y.z!!"] {
      var contiguous = text
      let all = Tokenizer.tokenize(text)
      let limit = Int(rng.next() % UInt64(all.count + 2))
      let characters = Tokenizer.tokenize(characters: text, keepingAtMost: limit)
      XCTAssertEqual(characters.tokens, Array(all.prefix(limit)), text)
      XCTAssertEqual(characters.count, all.count, text)
      if let ascii = contiguous.withUTF8({
        $0.allSatisfy { $0 < 0x80 } ? Tokenizer.tokenize(ascii: $0, keepingAtMost: limit) : nil
      }) {
        XCTAssertEqual(ascii.tokens, Array(all.prefix(limit)), text)
        XCTAssertEqual(ascii.count, all.count, text)
      }
    }
  }

  func testRandomASCIITextsAreCutAsByCharacters() {
    // The bytes the rules tell apart (joiners, digits, letters of both cases, separators, CR
    // LF, DEL, punctuation) drawn densely, so that joiners meet every neighbour.
    // (The literal's "\r\n" is one Character; CR and LF come alone too.)
    let alphabet =
      Array("aZ09'.,:- \t\r\n\u{0B}\u{0C}\u{00}\u{1F}\u{7F}!\"#$%&()*+/;<=>?@[\\]^_`{|}~")
      + ["\r", "\n"]
    var rng = SplitMix64(seed: 7)
    for _ in 0..<5_000 {
      let length = Int(rng.next() % 24)
      let text = String(
        (0..<length).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] })
      let (characters, ascii) = bothCuts(text)
      XCTAssertEqual(ascii, characters, "\(text.debugDescription)")
    }
  }

  func testTheRulesHoldOnTheBytePath() {
    let (_, tokens) = bothCuts("don't fly at 10:30, o'clock 1,000.5 round-trip 'x' 3.\r\nst.")
    XCTAssertEqual(
      tokens.map(\.text),
      [
        "don't", "fly", "at", "10:30", ",", "o'clock", "1,000.5", "round", "-", "trip", "'", "x",
        "'", "3", ".", "st", ".",
      ])
    XCTAssertEqual(tokens.last?.range, 57..<58)
  }

  func testANonASCIITextTakesTheCharacterRules() {
    // A combining accent after an ASCII letter joins its cluster: the text is not cut by byte.
    XCTAssertEqual(Tokenizer.tokenize("cafe\u{301}-x").map(\.text), ["cafe\u{301}", "-", "x"])
  }
}
