import ConllEval

/// The vocabularies a model is built from, read off its training sentences.
struct CorpusVocabularies {
  /// Normalised word keys, `<pad>` and `<unk>` first, then in order of first appearance.
  var words: Vocabulary
  /// Labels in order of first appearance.
  var labels: Vocabulary
  /// Each word id's count in the training sentences (0 for the reserved words).
  var wordCounts: [Int]
  /// The values of each of `featureCount` feature columns (fields 1…featureCount, after the
  /// token), `<pad>` and `<unk>` first, then in order of first appearance.
  var features: [Vocabulary]

  init(of sentences: [Sentence], normalization: TokenNormalization, featureCount: Int = 0) {
    words = Vocabulary([ReservedWord.padding, ReservedWord.unknown])
    labels = Vocabulary()
    wordCounts = [0, 0]
    features = Array(
      repeating: Vocabulary([ReservedWord.padding, ReservedWord.unknown]), count: featureCount)
    for sentence in sentences {
      for fields in sentence.fields {
        let id = words.insert(normalization.key(for: fields[0]))
        if id == wordCounts.count { wordCounts.append(0) }
        wordCounts[id] += 1
        labels.insert(fields[fields.count - 1])
        for i in 0..<featureCount { features[i].insert(fields[1 + i]) }
      }
    }
  }

  /// Characters of the tokens (as the character CNN reads them), `<pad>` and `<unk>` first,
  /// then in order of first appearance.
  static func characters(of sentences: [Sentence], configuration: TaggerConfiguration) -> Vocabulary
  {
    var characters = Vocabulary([ReservedWord.padding, ReservedWord.unknown])
    for sentence in sentences {
      for token in sentence.tokens {
        for character in configuration.characterText(of: token).prefix(CharacterCNN.maximumLength) {
          characters.insert(String(character))
        }
      }
    }
    return characters
  }
}

extension Array where Element == Sentence {
  /// The sentences with their labels converted to `configuration.trainingScheme` when that
  /// differs from the data's scheme (`configuration.scheme`).
  func converted(to configuration: TaggerConfiguration) -> [Sentence] {
    guard let modelScheme = configuration.convertedScheme else { return self }
    return map { sentence in
      let labels = convert(sentence.labels, from: configuration.scheme, to: modelScheme)
      return Sentence(
        fields: zip(sentence.fields, labels).map { fields, label in fields.dropLast() + [label] },
        firstLine: sentence.firstLine)
    }
  }
}
