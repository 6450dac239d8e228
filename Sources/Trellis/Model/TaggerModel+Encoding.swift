extension TaggerModel {
  /// The vocabulary id of a raw token.
  public func wordId(for token: String) -> Int {
    words.id(for: configuration.normalization.key(for: token)) ?? ReservedWord.unknownId
  }

  /// The character ids the character CNN reads for a raw token (empty without one).
  func characterIds(for token: String) -> [Int32] {
    guard embedding.characterCNN != nil else { return [] }
    return configuration.characterText(of: token).prefix(CharacterCNN.maximumLength).map {
      Int32(characters.id(for: String($0)) ?? ReservedWord.unknownId)
    }
  }

  /// A sentence as the model reads it: word ids, and character ids for the character CNN.
  struct EncodedSentence {
    var words: [Int]
    var characters: [[Int32]]
  }

  /// Encodes raw tokens once (training encodes its corpus up front, not every epoch).
  func encode(_ tokens: [String]) -> EncodedSentence {
    EncodedSentence(
      words: tokens.map(wordId(for:)),
      characters: embedding.characterCNN == nil ? [] : tokens.map(characterIds(for:)))
  }

  /// A batch of raw tokenised sentences.
  func batch(_ sentences: [[String]]) -> Batch { batch(sentences.map(encode)) }

  /// A batch of encoded sentences, with `words` overriding their word ids (training's word
  /// dropout) and gold label ids when training.
  func batch(_ sentences: [EncodedSentence], words: [[Int]]? = nil, gold: [[Int]] = []) -> Batch {
    Batch(
      wordIds: words ?? sentences.map(\.words), gold: gold,
      characterIds: embedding.characterCNN == nil ? [] : sentences.map(\.characters))
  }
}
