import ConllEval
import Foundation

/// The files a model learns from and the columns it reads.
public struct TrainingData: Codable, Equatable, Sendable {
  /// Training data: CoNLL, token column and gold label column.
  public var train = ""
  /// Development data for model selection and early stopping.
  public var dev: String?
  /// Pretrained word vectors to start the embeddings from (`VectorFileFormat`).
  public var embeddings: String?
  /// Which of their vectors join the model: those of the data's words, or all.
  public var embeddingsScope = EmbeddingScope.data
  /// Test data: read only for its words, whose vectors scope `data` keeps too (a model
  /// knows the words it will be tested on, as in NCRF++ and Lample et al. 2016).
  public var test: String?
  /// The column holding the token (1-based).
  public var tokenColumn = TrainingData.defaultTokenColumn
  /// The column holding the gold label (1-based; nil: the last).
  public var labelColumn: Int?

  /// No files yet; the columns are the defaults above.
  public init() {}

  /// The column holding the token unless a recipe or an option says otherwise: the first,
  /// as in every CoNLL file.
  public static let defaultTokenColumn = 1

  /// The highest column number that `validate()` accepts.
  public static let columnLimit = 1000

  /// The most distinct labels training data may have. A chain head scores every pair of
  /// labels and decodes in O(L²) a token: 4,096 labels are 16.8 million transitions a token,
  /// and a token column read as labels (tens of thousands of them) built a model of gigabytes
  /// and trained without a word for minutes an epoch.
  public static let labelLimit = 4096

  /// Throws a `TrellisError` at the first line of `file` not laid out as a model with
  /// `featureCount` feature columns reads it: the token, then with feature columns exactly
  /// those features and the label (as `readLabelledCoNLL(path:featureColumns:)` picks them),
  /// else at least a label, one a column can hold. A model takes a line's features by
  /// position, not by `FeatureColumn.column`, so sentences read with all their columns would
  /// give it other columns, or the gold label itself, as features.
  public static func checkLayout(of sentences: [Sentence], file: String, featureCount: Int)
    throws
  {
    for sentence in sentences {
      for (index, fields) in sentence.fields.enumerated()
      where fields.count < 2 || (featureCount > 0 && fields.count != 2 + featureCount) {
        let layout =
          featureCount == 0
          ? "a token and a label"
          : "the token, the \(featureCount) feature column(s) and the label, as "
            + "readLabelledCoNLL(path:featureColumns:) picks them from a file's columns"
        throw TrellisError(
          file: file, line: sentence.firstLine + index,
          "has \(fields.count) field(s); a model reads \(layout)")
      }
      // From a file no label can be one; from a program's sentences it could, and the model
      // trained on it would then be refused at every load (`ModelFile`).
      for (index, fields) in sentence.fields.enumerated() where !fitsAColumn(fields.last!) {
        throw TrellisError(
          file: file, line: sentence.firstLine + index,
          "has the label \(RawJSON.string(fields.last!)), which no CoNLL column can hold")
      }
    }
  }

  /// Whether `label` can be a CoNLL column: not empty, without a column separator (space,
  /// tab) or a line end. Labels are written into CoNLL lines, where another would add
  /// columns or lines to every output.
  static func fitsAColumn(_ label: String) -> Bool {
    !label.isEmpty && !label.utf8.contains { isColumnSeparator($0) || $0 == 0x0A || $0 == 0x0D }
  }

  /// Throws a `TrellisError` at the first line of `file` whose label training with
  /// `configuration` would erase: one that is not a chunk label (`isChunkLabel`), which
  /// converting to its `trainingScheme` (`--scheme`) reads as "O". Nothing to check when the
  /// sentences' scheme (`detectScheme`) is already that one, as nothing is converted.
  public static func checkConvertibleLabels(
    of sentences: [Sentence], file: String, configuration: TaggerConfiguration
  ) throws {
    var configuration = configuration
    configuration.detectSchemes(in: sentences.map(\.labels))
    guard let trainingScheme = configuration.convertedScheme else { return }
    for sentence in sentences {
      for (index, fields) in sentence.fields.enumerated() where !isChunkLabel(fields.last!) {
        throw TrellisError(
          file: file, line: sentence.firstLine + index,
          "label \(jsonString(fields.last!)) is not a chunk label (O, B-X, I-X, E-X, S-X), so "
            + "training in \(trainingScheme.rawValue) would read it as O; leave out --scheme")
      }
    }
  }

  /// Throws a `TrellisError` at the first BILOU label of `file` (U-X, a chunk of one token;
  /// L-X, a chunk's last) where its other labels are chunk labels (a B-X or I-X among them):
  /// no scheme of Trellis's reads them, so the model, whose constrained decoding allows no
  /// label outside its scheme, never predicted them, and was trained and scored as nonsense
  /// without a word. They are BIOES's S-X and E-X by other names.
  static func checkBILOULabels(of sentences: [Sentence], file: String) throws {
    func prefix(_ label: String) -> UInt8? {
      let bytes = Array(label.utf8.prefix(3))
      return bytes.count == 3 && bytes[1] == UInt8(ascii: "-") ? bytes[0] : nil
    }
    let (begin, inside) = (UInt8(ascii: "B"), UInt8(ascii: "I"))
    guard
      sentences.contains(where: { $0.labels.contains { [begin, inside].contains(prefix($0)) } })
    else { return }
    for sentence in sentences {
      for (index, label) in sentence.labels.enumerated()
      where [UInt8(ascii: "U"), UInt8(ascii: "L")].contains(prefix(label)) {
        throw TrellisError(
          file: file, line: sentence.firstLine + index,
          "label \(jsonString(label)) is BILOU's (U- a one-token chunk, L- a chunk's last "
            + "token), which Trellis reads as BIOES's S- and E-: convert the labels first, e.g. "
            + "sed -E 's/([[:space:]])U-([^[:space:]]+)([[:space:]]*)$/\\1S-\\2\\3/; "
            + "s/([[:space:]])L-([^[:space:]]+)([[:space:]]*)$/\\1E-\\2\\3/' (labels last)")
      }
    }
  }

  /// Throws a `TrellisError` at the line of `file` whose label is the first past
  /// `labelLimit` distinct ones; `sentences` are laid out as `readLabelledCoNLL` reads them
  /// (the label last). The labels counted are the model's: in `configuration`'s training
  /// scheme (`--scheme bioes` makes up to four of each B- label), where it converts them.
  /// Returns their count.
  @discardableResult public static func checkLabelCount(
    of sentences: [Sentence], file: String, configuration: TaggerConfiguration
  ) throws -> Int {
    var configuration = configuration
    configuration.detectSchemes(in: sentences.map(\.labels))
    let modelScheme = configuration.convertedScheme
    var labels = Set<ExactString>()
    for sentence in sentences {
      let modelLabels =
        modelScheme.map { convert(sentence.labels, from: configuration.scheme, to: $0) }
        ?? sentence.labels
      for (index, label) in modelLabels.enumerated() {
        guard labels.insert(ExactString(label)).inserted, labels.count > labelLimit else {
          continue
        }
        let dataLabel = jsonString(sentence.labels[index])
        throw TrellisError(
          file: file, line: sentence.firstLine + index,
          modelScheme.map {
            "label \(dataLabel), read as \(jsonString(label)) in \($0.rawValue) (--scheme), "
              + "makes \(labels.count) distinct labels, more than the \(labelLimit) a model may "
              + "have"
          }
            ?? "label \(dataLabel) makes \(labels.count) distinct labels, more than the "
            + "\(labelLimit) a model may have; is --label-column right?")
      }
    }
    return labels.count
  }

  /// Every check of training data before a model is built: each line's fields
  /// (`checkLayout`), BILOU labels (`checkBILOULabels`), labels a conversion would erase
  /// (`checkConvertibleLabels`), the label
  /// limit (`checkLabelCount`), and sentences, dev's too,
  /// longer than a model of those labels takes (`TaggerModel.checkSentenceLengths`: training
  /// holds several (tokens, labels) arrays a sentence, as tagging does).
  public static func check(
    train: [Sentence], file trainFile: String, dev: [Sentence], file devFile: String,
    configuration: TaggerConfiguration
  ) throws {
    guard !train.isEmpty else { throw TrellisError(file: trainFile, "contains no sentences") }
    // Sentences of no tokens (`Sentence(fields: [])`, which no file gives) leave no labels.
    guard train.contains(where: { $0.count > 0 }) else {
      throw TrellisError(file: trainFile, "contains no tokens")
    }
    let featureCount = configuration.featureColumns.count
    try checkLayout(of: train, file: trainFile, featureCount: featureCount)
    try checkLayout(of: dev, file: devFile, featureCount: featureCount)
    try checkBILOULabels(of: train, file: trainFile)
    try checkConvertibleLabels(of: train, file: trainFile, configuration: configuration)
    let labelCount = try checkLabelCount(of: train, file: trainFile, configuration: configuration)
    try TaggerModel.checkSentenceLengths(of: train, file: trainFile, labelCount: labelCount)
    try TaggerModel.checkSentenceLengths(of: dev, file: devFile, labelCount: labelCount)
  }

  /// Throws an `OptionError` when `train` is missing, a path is empty or holds a NUL, a column
  /// is outside `1...columnLimit`, or the label column is the token column.
  public func validate() throws {
    guard !train.isEmpty else {
      throw OptionError("train", "is required (a flag or the configuration file)")
    }
    // A NUL ends the name that open(2) is given, so the run would read another file than the
    // one its provenance names (a configuration file's "t.conll\u0000x" read t.conll); no
    // file's name holds one, and no argument can.
    let paths: [(option: String, path: String?)] = [
      ("train", train), ("dev", dev), ("test", test), ("embeddings", embeddings),
    ]
    for (option, path) in paths where path == "" {
      throw OptionError.emptyPath(option)
    }
    for (option, path) in paths where path?.utf8.contains(0) == true {
      throw OptionError(option, "names a path with a NUL character, which no file name can hold")
    }
    try Self.validateColumns(token: tokenColumn, label: labelColumn)
  }

  /// Throws an `OptionError` when a column is outside `1...columnLimit` or the label column is
  /// the token column: the rule of every command that reads labelled CoNLL.
  public static func validateColumns(token tokenColumn: Int, label labelColumn: Int?) throws {
    try require(tokenColumn, in: 1...columnLimit, "token-column")
    if let labelColumn {
      try require(labelColumn, in: 1...columnLimit, "label-column")
      guard labelColumn != tokenColumn else {
        throw OptionError("label-column", "must differ from --token-column (both \(labelColumn))")
      }
    }
  }

  /// Missing fields keep their defaults.
  public init(from decoder: any Swift.Decoder) throws {
    self.init()
    let container = try decoder.container(keyedBy: CodingKeys.self)
    train = try container.decodeIfPresent(String.self, forKey: .train) ?? train
    dev = try container.decodeIfPresent(String.self, forKey: .dev)
    embeddings = try container.decodeIfPresent(String.self, forKey: .embeddings)
    embeddingsScope =
      try container.decodeIfPresent(EmbeddingScope.self, forKey: .embeddingsScope)
      ?? embeddingsScope
    test = try container.decodeIfPresent(String.self, forKey: .test)
    tokenColumn = try container.decodeIfPresent(Int.self, forKey: .tokenColumn) ?? tokenColumn
    labelColumn = try container.decodeIfPresent(Int.self, forKey: .labelColumn)
  }
}
