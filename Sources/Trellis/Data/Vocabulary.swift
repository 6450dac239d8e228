import ConllEval

/// A string ↔ id map that grows while a corpus is read for training and is frozen afterwards
/// (crfsuite's `get` vs `to_id`). Strings are told apart by their bytes, not by Swift's Unicode
/// canonical equivalence: "é" (U+00E9) and "e" + U+0301 are two labels for conlleval, so they
/// are two entries here.
public struct Vocabulary: Codable, Equatable, Sendable {
  /// Every string, in id order: `strings[id]`.
  public private(set) var strings: [String] = []
  private var ids: [ExactString: Int] = [:]

  /// The strings with ids 0, 1, … in order; a repeated string keeps its first id.
  init(_ strings: [String] = []) {
    // Room for every string at once: a model's 20,000 words grew the table fifteen times.
    self.strings.reserveCapacity(strings.count)
    ids.reserveCapacity(strings.count)
    for string in strings {
      // `insert`'s rule with one hash of each key where strings are new (a model file's are):
      // its lookup before the insertion was half of reading a model's vocabulary. A repeated
      // string gets its first id back.
      let key = ExactString(string)
      if let first = ids.updateValue(self.strings.count, forKey: key) {
        ids[key] = first
      } else {
        self.strings.append(string)
      }
    }
  }

  /// The number of strings, one more than the largest id.
  public var count: Int { strings.count }

  /// Returns the id of `string`, assigning the next one if it is new.
  @discardableResult mutating func insert(_ string: String) -> Int {
    let key = ExactString(string)
    if let id = ids[key] { return id }
    ids[key] = strings.count
    strings.append(string)
    return strings.count - 1
  }

  /// The id of `string`, or nil when it was never inserted.
  public func id(for string: String) -> Int? { ids[ExactString(string)] }

  /// The string with id `id`, which must be below `count`.
  public subscript(id: Int) -> String { strings[id] }

  /// Equal when the strings, in order, hold the same bytes (the ids follow from the order).
  public static func == (a: Vocabulary, b: Vocabulary) -> Bool {
    a.strings.elementsEqual(b.strings) { ExactString($0) == ExactString($1) }
  }

  // Only the strings are stored: ids follow from their order.
  public init(from decoder: any Swift.Decoder) throws {
    self.init(try [String](from: decoder))
  }

  public func encode(to encoder: any Swift.Encoder) throws { try strings.encode(to: encoder) }
}

/// How raw tokens are turned into vocabulary keys. ATIS-style text is already lower case; digit
/// normalisation maps "1991" and "1845" to one key "0000", so flight numbers and years seen once
/// still share a trained embedding.
public struct TokenNormalization: Codable, Equatable, Sendable {
  /// Lowercase every token.
  public var lowercase: Bool
  /// Replace each ASCII digit with "0".
  public var digitsToZero: Bool

  /// Both on by default, as `trellis train` has them.
  public init(lowercase: Bool = true, digitsToZero: Bool = true) {
    self.lowercase = lowercase
    self.digitsToZero = digitsToZero
  }

  /// A field missing from a configuration file takes its default (a model file has both).
  public init(from decoder: any Swift.Decoder) throws {
    self.init()
    let container = try decoder.container(keyedBy: CodingKeys.self)
    try container.decode(&lowercase, .lowercase, writtenByEveryModel: decoder)
    try container.decode(&digitsToZero, .digitsToZero, writtenByEveryModel: decoder)
  }

  /// The vocabulary key of `token`.
  public func key(for token: String) -> String {
    // The string's bytes in place: the view's iterator copied the string (an atomic reference
    // count per token).
    withUTF8Bytes(of: token, asciiKey) ?? unicodeKey(for: token)
  }

  /// The key of an ASCII token, byte by byte; nil for any other. There lowercasing maps A–Z to
  /// a–z and the only numbers are 0–9, so this is `unicodeKey` without walking grapheme
  /// clusters (which was most of the time spent encoding a sentence).
  private func asciiKey(_ bytes: UnsafeBufferPointer<UInt8>) -> String? {
    guard bytes.allSatisfy({ $0 < 0x80 }) else { return nil }
    return String(unsafeUninitializedCapacity: bytes.count) { key in
      for (k, byte) in zip(key.indices, bytes) {
        let folded = lowercase ? asciiLowercased(byte) : byte
        key[k] =
          digitsToZero && (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(folded)
          ? UInt8(ascii: "0") : folded
      }
      return bytes.count
    }
  }

  /// The key of any token: Unicode lowercasing, then each ASCII digit to "0".
  func unicodeKey(for token: String) -> String {
    var key = lowercase ? token.lowercased() : token
    if digitsToZero, key.contains(where: \.isNumber) {
      key = String(key.map { $0.isASCII && $0.isNumber ? "0" : $0 })
    }
    return key
  }
}

/// An ASCII byte lowercased as `String.lowercased()` lowercases it: A–Z to a–z, nothing else.
@inline(__always) func asciiLowercased(_ byte: UInt8) -> UInt8 {
  (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) ? byte + 32 : byte
}
