/// A token cut from a text, with where it was: `range` counts Unicode code points (Swift's
/// `unicodeScalars`, Python's `str` indices), so `text[start:end]` in Python is the token.
public struct TextToken: Equatable, Sendable {
  /// The token's characters, as they are in the text.
  public var text: String
  /// Where the token is in the text, in code points.
  public var range: Range<Int>

  init(_ text: String, _ range: Range<Int>) {
    self.text = text
    self.range = range
  }
}

/// The tokenizer of `"text"` requests: simple, predictable rules in the style of the ATIS corpus,
/// where contractions and numbers (`what's`, `o'clock`, `10.5`) are single tokens.
///
/// - Whitespace, control and invisible format characters (zero-width space, byte-order mark,
///   direction marks) separate tokens and belong to none.
/// - A word is a run of letters, digits and combining marks. An apostrophe (`'` or `’`) between
///   two word characters stays inside the word (`don't`, `o'clock`, `york's`), and so does a
///   `.`, `,` or `:` between two digits (`10.5`, `1,000`, `10:30`).
/// - Every other character is a token of its own: punctuation and symbols (`boston.` gives
///   `boston` and `.`; `round-trip` gives `round`, `-`, `trip`; `st.` gives `st` and `.`), and
///   each emoji. Characters are grapheme clusters, so a letter with combining accents, a flag or
///   an emoji with skin tone or joiners is never split.
///
/// Pass `"tokens"` instead when the model was trained on another tokenization.
public enum Tokenizer {
  /// The tokens of `text` by the rules above, in order; empty for a text of separators only.
  public static func tokenize(_ text: String) -> [TextToken] {
    let characters = Array(text)
    var tokens: [TextToken] = []
    var word = ""
    var wordStart = 0
    var offset = 0
    func endWord() {
      if !word.isEmpty { tokens.append(TextToken(word, wordStart..<offset)) }
      word = ""
    }
    for (index, character) in characters.enumerated() {
      let length = character.unicodeScalars.count
      defer { offset += length }
      if isWordCharacter(character)
        || (!word.isEmpty && index + 1 < characters.count
          && joins(characters[index - 1], character, characters[index + 1]))
      {
        if word.isEmpty { wordStart = offset }
        word.append(character)
        continue
      }
      endWord()
      if !isSeparator(character) {
        tokens.append(TextToken(String(character), offset..<offset + length))
      }
    }
    endWord()
    return tokens
  }

  private static func isWordCharacter(_ character: Character) -> Bool {
    character.isLetter || character.isNumber
      || character.unicodeScalars.first!.properties.generalCategory.isMark
  }

  /// Whether `joiner` between `before` and `after` keeps a word whole.
  private static func joins(_ before: Character, _ joiner: Character, _ after: Character) -> Bool {
    switch joiner {
    case "'", "\u{2019}": return isWordCharacter(before) && isWordCharacter(after)
    case ".", ",", ":": return before.isNumber && after.isNumber
    default: return false
    }
  }

  private static func isSeparator(_ character: Character) -> Bool {
    character.isWhitespace
      || character.unicodeScalars.allSatisfy {
        [.control, .format].contains($0.properties.generalCategory)
      }
  }
}

extension Unicode.GeneralCategory {
  fileprivate var isMark: Bool {
    self == .nonspacingMark || self == .spacingMark || self == .enclosingMark
  }
}
