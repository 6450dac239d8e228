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
///   direction marks) separate tokens and belong to none; a mark or modifier that follows
///   one (which Unicode attaches to it) is not theirs, but begins what follows. Two format
///   characters are the exception after a letter, which Unicode attaches them to: a zero-width
///   joiner or non-joiner stays inside the word, as Persian and Indic scripts write them
///   within words (`می‌خواهم`, "I want", is one token).
/// - A word is a run of letters, digits and combining marks. An apostrophe (`'` or `’`) between
///   two word characters stays inside the word (`don't`, `o'clock`, `york's`), and so does a
///   `.`, `,` or `:` between two digits (`10.5`, `1,000`, `10:30`).
/// - Every other character is a token of its own: punctuation and symbols (`boston.` gives
///   `boston` and `.`; `round-trip` gives `round`, `-`, `trip`; `st.` gives `st` and `.`), and
///   each emoji. Characters are grapheme clusters, so a letter with combining accents, a flag or
///   an emoji with skin tone or joiners is never split; a keycap (`1️⃣`, a digit with its
///   enclosing mark) reads as the digit it starts with, a word character.
///
/// Pass `"tokens"` instead when the model was trained on another tokenization.
public enum Tokenizer {
  /// The tokens of `text` by the rules above, in order; empty for a text of separators only.
  public static func tokenize(_ text: String) -> [TextToken] {
    tokenize(text, keepingAtMost: .max).tokens
  }

  /// The first `limit` tokens of `text` and how many it has: a request's text is refused
  /// beyond `Sentence.tokenLimit` tokens, and keeping each of a 16 MiB line's 16 million
  /// one-character tokens (about 70 bytes each, with the request's copies) took 1.1 GB to
  /// refuse it.
  static func tokenize(_ text: String, keepingAtMost limit: Int) -> (
    tokens: [TextToken], count: Int
  ) {
    var contiguous = text
    let ascii = contiguous.withUTF8 {
      $0.allSatisfy { $0 < 0x80 } ? tokenize(ascii: $0, keepingAtMost: limit) : nil
    }
    return ascii ?? tokenize(characters: text, keepingAtMost: limit)
  }

  /// `tokenize` of an ASCII text, byte by byte: there each byte is a character and a code
  /// point (but CR LF, one character of two separators, which cuts the same), and the rules'
  /// Unicode properties are byte ranges. The rules by grapheme cluster spent a third of a
  /// server's time on property lookups for requests of plain English text.
  static func tokenize(ascii bytes: UnsafeBufferPointer<UInt8>, keepingAtMost limit: Int)
    -> (tokens: [TextToken], count: Int)
  {
    func isWordByte(_ byte: UInt8) -> Bool { isDigitByte(byte) || isLetterByte(byte) }
    func joins(at index: Int) -> Bool {
      guard index + 1 < bytes.count else { return false }
      let (before, after) = (bytes[index - 1], bytes[index + 1])
      switch bytes[index] {
      case UInt8(ascii: "'"): return isWordByte(before) && isWordByte(after)
      case UInt8(ascii: "."), UInt8(ascii: ","), UInt8(ascii: ":"):
        return isDigitByte(before) && isDigitByte(after)
      default: return false
      }
    }
    var tokens: [TextToken] = []
    var count = 0
    func cut(_ range: Range<Int>) {
      count += 1
      guard tokens.count < limit else { return }
      let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[range]), as: UTF8.self)
      tokens.append(TextToken(text, range))
    }
    var wordStart: Int?
    for index in bytes.indices {
      let byte = bytes[index]
      if isWordByte(byte) || (wordStart != nil && joins(at: index)) {
        if wordStart == nil { wordStart = index }
        continue
      }
      if let start = wordStart { cut(start..<index) }
      wordStart = nil
      // Controls (C0 and DEL) and the space separate; every other byte is punctuation or a
      // symbol, a token of its own.
      if byte > 0x20 && byte != 0x7F { cut(index..<index + 1) }
    }
    if let start = wordStart { cut(start..<bytes.count) }
    return (tokens, count)
  }

  private static func isDigitByte(_ byte: UInt8) -> Bool {
    (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
  }

  private static func isLetterByte(_ byte: UInt8) -> Bool {
    (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte | 0x20)
  }

  /// `tokenize` by grapheme cluster, for any text.
  static func tokenize(characters text: String, keepingAtMost limit: Int) -> (
    tokens: [TextToken], count: Int
  ) {
    var tokens: [TextToken] = []
    var count = 0
    func cut(_ text: String, _ range: Range<Int>) {
      count += 1
      if tokens.count < limit { tokens.append(TextToken(text, range)) }
    }
    var word = ""
    var wordStart = 0
    var offset = 0
    func endWord() {
      if !word.isEmpty { cut(word, wordStart..<offset) }
      word = ""
    }
    // The characters one at a time, with the one before and after (a joiner's neighbours):
    // an array of them all took 16 bytes a character of a text that might be refused.
    var upcoming = DetachedCharacters(characters: text.makeIterator())
    var (previous, current) = (Character?.none, upcoming.next())
    while let character = current {
      let next = upcoming.next()
      let length = character.unicodeScalars.count
      if isWordCharacter(character)
        || (!word.isEmpty && next != nil && joins(previous!, character, next!))
      {
        if word.isEmpty { wordStart = offset }
        word.append(character)
      } else {
        endWord()
        if !isSeparator(character) { cut(String(character), offset..<offset + length) }
      }
      offset += length
      (previous, current) = (character, next)
    }
    endWord()
    return (tokens, count)
  }

  /// The characters of a text, one at a time, but for a separator with marks or modifiers
  /// attached (Unicode extends a space's grapheme cluster with a combining mark, a variation
  /// selector or a skin tone that follows it), which gives the separator and then the
  /// characters of the rest: the space separates and the rest is tokenized as written, where
  /// skipping the cluster dropped it.
  private struct DetachedCharacters: IteratorProtocol {
    var characters: String.Iterator
    /// The rest of a detached cluster, last first.
    var pending: [Character] = []

    mutating func next() -> Character? {
      if let character = pending.popLast() { return character }
      guard let character = characters.next() else { return nil }
      let scalars = character.unicodeScalars
      guard scalars.count > 1, let first = scalars.first, isSeparator(Character(first)) else {
        return character
      }
      pending = String(String.UnicodeScalarView(scalars.dropFirst())).reversed()
      return Character(first)
    }
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
