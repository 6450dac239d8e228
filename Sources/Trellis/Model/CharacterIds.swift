/// The character ids of a sequence of tokens, flat: token k reads `ids[range(of: k)]`. A
/// sentence's (`TaggerModel.EncodedSentence`) or a batch's (`Batch`) in one array, where an
/// array per token was an allocation, a retain and a release per token.
struct CharacterIds: Sendable {
  /// Every token's ids, one token after another.
  private(set) var ids: [Int32] = []
  /// `starts[k]`: where token k's ids begin; `starts[tokenCount]` is `ids.count`.
  private(set) var starts: [Int] = [0]

  /// No tokens, shared: a model without a character CNN encodes every sentence as this,
  /// without allocating.
  static let empty = CharacterIds()

  var tokenCount: Int { starts.count - 1 }

  /// Where token k's ids are in `ids`.
  func range(of k: Int) -> Range<Int> { starts[k]..<starts[k + 1] }

  /// Adds a token with `characters`.
  mutating func appendToken(_ characters: some Sequence<Int32>) {
    ids.append(contentsOf: characters)
    starts.append(ids.count)
  }

  /// Adds a token of `count` ids, which `write` writes into the buffer it is given.
  mutating func appendToken(count: Int, write: (UnsafeMutableBufferPointer<Int32>) -> Void) {
    let start = ids.count
    ids.append(contentsOf: repeatElement(0, count: count))
    ids.withUnsafeMutableBufferPointer { write(UnsafeMutableBufferPointer(rebasing: $0[start...])) }
    starts.append(ids.count)
  }

  /// Room for `tokens` more tokens of `ids` more ids in all.
  mutating func reserveCapacity(tokens: Int, ids count: Int) {
    ids.reserveCapacity(ids.count + count)
    starts.reserveCapacity(starts.count + tokens)
  }

  /// Adds `other`'s tokens after these.
  mutating func append(_ other: CharacterIds) {
    let offset = ids.count
    ids.append(contentsOf: other.ids)
    starts.append(contentsOf: other.starts.dropFirst().lazy.map { $0 + offset })
  }
}
