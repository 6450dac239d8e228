extension TaggerModel {
  /// The vocabulary id of a raw token.
  public func wordId(for token: String) -> Int {
    words.id(for: configuration.normalization.key(for: token)) ?? ReservedWord.unknownId
  }

  /// Whether a raw token is in the vocabulary (after the model's normalization): one that is
  /// not reads the unknown word's embedding.
  public func knows(word token: String) -> Bool { wordId(for: token) != ReservedWord.unknownId }

  /// Adds a raw token with the character ids the character CNN reads for it to `characters`.
  func appendCharacterIds(of token: String, to characters: inout CharacterIds) {
    let bytes = token.utf8
    // ASCII without CR, the common case, byte by byte through a table: there each byte is a
    // character ("\r\n" would be one) and lowercasing maps A–Z to a–z, so this is
    // `unicodeCharacterIds` without a String and a hash per character.
    guard bytes.allSatisfy({ $0 < 0x80 && $0 != UInt8(ascii: "\r") }) else {
      characters.appendToken(unicodeCharacterIds(for: token))
      return
    }
    let lowercase = configuration.lowercaseCharacters
    characters.appendToken(count: Swift.min(bytes.count, CharacterCNN.maximumLength)) { ids in
      for (k, byte) in zip(ids.indices, bytes) {
        ids[k] = asciiCharacterIds[Int(lowercase ? asciiLowercased(byte) : byte)]
      }
    }
  }

  /// `appendCharacterIds(of:to:)`'s ids for any token: one id per Character (grapheme cluster).
  func unicodeCharacterIds(for token: String) -> [Int32] {
    configuration.characterText(of: token).prefix(CharacterCNN.maximumLength).map {
      Int32(characters.id(for: String($0)) ?? ReservedWord.unknownId)
    }
  }

  /// A sentence as the model reads it: word ids, feature-column ids (`features[i][t]`), and
  /// character ids for the character CNN (no tokens without one).
  struct EncodedSentence {
    var words: [Int]
    var features: [[Int]]
    var characters: CharacterIds
  }

  /// Encodes one input once (training encodes its corpus up front, not every epoch). A value a
  /// feature column never had in training reads as `<unk>`.
  func encode(_ input: TokenInput) -> EncodedSentence {
    EncodedSentence(
      words: input.tokens.map(wordId(for:)),
      features: featureVocabularies.enumerated().map { i, vocabulary in
        // A missing column, or a value missing from a short one, reads as `<unk>` (callers
        // that read files check the columns and report them).
        (0..<input.tokens.count).map { t in
          let value =
            i < input.features.count && t < input.features[i].count ? input.features[i][t] : nil
          return value.flatMap { vocabulary.id(for: $0) } ?? ReservedWord.unknownId
        }
      },
      characters: characterIds(of: input.tokens))
  }

  /// The tokens' character ids (no tokens without a character CNN).
  private func characterIds(of tokens: [String]) -> CharacterIds {
    guard embedding.characterCNN != nil else { return .empty }
    var characters = CharacterIds()
    characters.reserveCapacity(
      tokens: tokens.count,
      ids: tokens.reduce(0) { $0 + Swift.min($1.utf8.count, CharacterCNN.maximumLength) })
    for token in tokens { appendCharacterIds(of: token, to: &characters) }
    return characters
  }

  /// A batch of inputs.
  func batch(_ inputs: [TokenInput]) -> Batch { batch(inputs.map(encode)) }

  /// A batch of encoded sentences, with `words` overriding their word ids (training's word
  /// dropout) and gold label ids when training.
  func batch(_ sentences: [EncodedSentence], words: [[Int]]? = nil, gold: [[Int]] = []) -> Batch {
    Batch(
      wordIds: words ?? sentences.map(\.words), featureIds: sentences.map(\.features), gold: gold,
      characterIds: embedding.characterCNN == nil ? [] : sentences.map(\.characters))
  }
}

/// The tokens of one sentence and, for a model with feature columns, each column's values
/// (`features[i][t]`, in the order of `TaggerConfiguration.featureColumns`).
public struct TokenInput: Equatable, Sendable {
  /// The raw tokens; the model normalises them itself (`TaggerConfiguration.normalization`).
  public var tokens: [String]
  /// `features[i][t]`: column i's value for token t. A missing column or value, or one the
  /// column never had in training, reads as `<unk>`.
  public var features: [[String]]

  /// An input of `tokens` with the feature columns' values; a model without feature columns
  /// needs none.
  public init(tokens: [String], features: [[String]] = []) {
    self.tokens = tokens
    self.features = features
  }

  /// A labelled or unlabelled CoNLL sentence read with its feature columns next to the token
  /// (`readLabelledCoNLL(…, featureColumns:)` lays them out so). Throws a `TrellisError` at
  /// `file` and the sentence's line for a line without the token and `featureCount` fields
  /// after it (a short line of unlabelled CoNLL stopped the program), and an `OptionError` for
  /// a negative `featureCount`.
  public init(_ sentence: Sentence, featureCount: Int, file: String = "sentence") throws {
    guard featureCount >= 0 else {
      throw OptionError("featureCount", "must be 0 or more (got \(featureCount))")
    }
    for (index, fields) in sentence.fields.enumerated() where fields.count < 1 + featureCount {
      throw TrellisError(
        file: file, line: sentence.firstLine + index,
        "has \(fields.count) field(s); a model of \(featureCount) feature column(s) reads the "
          + "token and \(featureCount) field(s) after it")
    }
    self.init(laidOut: sentence, featureCount: featureCount)
  }

  /// `init(_:featureCount:file:)` of a sentence whose lines hold the token and at least
  /// `featureCount` fields after it, as `TrainingData.checkLayout` and the readers check.
  init(laidOut sentence: Sentence, featureCount: Int) {
    tokens = sentence.tokens
    features = (0..<featureCount).map { i in sentence.fields.map { $0[1 + i] } }
  }
}

/// A model that reads feature columns, given input of tokens alone (text, JSON lines, the HTTP
/// service, the C ABI): it would read every feature value as unknown and answer without a word.
public struct FeatureColumnsMissing: Error, CustomStringConvertible, Equatable {
  /// The model's feature columns (1-based, as in its training data).
  public var columns: [Int]
  /// The model's file, which the message names first when known.
  public var file: String?

  public var description: String {
    (file.map { "\($0): " } ?? "")
      + "reads feature columns \(columns.map(String.init).joined(separator: ", ")), which only "
      + "CoNLL input carries"
  }
}

extension TaggerModel {
  /// Throws `FeatureColumnsMissing` (naming `file`, the model's, when given) when the model
  /// reads feature columns, which input of tokens alone cannot give it: what every entry
  /// point of such input checks first.
  public func checkReadsTokensAlone(file: String? = nil) throws {
    let columns = configuration.featureColumns.map(\.column)
    guard columns.isEmpty else { throw FeatureColumnsMissing(columns: columns, file: file) }
  }
}
