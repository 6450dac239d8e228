import ConllEval
import Foundation

/// Everything that decides which model a training run produces: the data, the architecture and
/// the training options. `trellis train --config FILE` reads it as JSON (any field but a
/// feature column's `column` may be missing and takes its default; the data's scheme,
/// `configuration.scheme`, is detected, not given), `--print-config` writes it, and flags
/// override its fields; the same recipe and seed give the same model bytes.
/// Output paths (model, checkpoint, log) are not part of it: they say where a run writes, not
/// what it learns.
public struct TrainingRecipe: Codable, Equatable, Sendable {
  /// What the run is for, in words (configuration files; kept in the model's provenance).
  public var description: String?
  /// A free-text note on this run (`--note`: a date, a ticket), which the model's provenance
  /// keeps as its `note`.
  public var note: String?
  /// The files read and their columns.
  public var data = TrainingData()
  /// The architecture.
  public var configuration = TaggerConfiguration()
  /// How the model is trained, the seed included.
  public var options = TrainingOptions()

  /// The defaults of `trellis train`, with no training file yet (`validate()` asks for one).
  public init() {}

  /// Throws an `OptionError` naming the first setting outside its range, or set away from its
  /// default to act on something the recipe does not have (pretrained vectors, the SSVM head,
  /// annealing, the character CNN, dropout): such a setting would do nothing, silently.
  public func validate() throws {
    try locating(in: "data", data.validate)
    try locating(in: "configuration", configuration.validate)
    try locating(in: "options", options.validate)
    let defaults = TrainingRecipe()
    let (head, options) = (configuration.headOptions, self.options)
    let idle: [(isIdle: Bool, option: String, message: String, field: String)] = [
      (
        configuration.head != .ssvm
          && head.costWeight != defaults.configuration.headOptions.costWeight,
        "cost-weight", "acts on the SSVM head alone (--head ssvm)",
        "configuration.headOptions.costWeight"
      ),
      (
        configuration.head != .ssvm && head.l2 != defaults.configuration.headOptions.l2, "l2",
        "acts on the SSVM head alone (--head ssvm)", "configuration.headOptions.l2"
      ),
      (
        options.annealFactor == 1 && options.annealPatience != defaults.options.annealPatience,
        "anneal-patience", "acts on annealing, which --anneal-factor 1 (the default) turns off",
        "options.annealPatience"
      ),
      (
        configuration.characterFilters == 0
          && configuration.characterEmbeddingSize != defaults.configuration.characterEmbeddingSize,
        "character-embedding-size",
        "acts on the character CNN, which --character-filters 0 turns off",
        "configuration.characterEmbeddingSize"
      ),
      (
        configuration.characterFilters == 0
          && configuration.lowercaseCharacters != defaults.configuration.lowercaseCharacters,
        "lowercase-characters", "acts on the character CNN, which --character-filters 0 turns off",
        "configuration.lowercaseCharacters"
      ),
      (
        options.dropout == 0 && options.variationalDropout, "variational-dropout",
        "acts on dropout, which --dropout 0 turns off", "options.variationalDropout"
      ),
    ]
    if let setting = idle.first(where: \.isIdle) {
      throw OptionError(setting.option, setting.message, field: setting.field)
    }
    guard data.embeddings == nil else { return }
    if options.freezeEmbeddings {
      throw OptionError(
        "freeze-embeddings", "needs --embeddings, the vectors it keeps fixed",
        field: "options.freezeEmbeddings")
    }
    if data.embeddingsScope == .all {
      throw OptionError(
        "embeddings-scope", "needs --embeddings, the file whose every vector it keeps",
        field: "data.embeddingsScope", part: "all")
    }
  }

  /// The most bytes a configuration file may hold: a recipe is a few kilobytes, and a path
  /// such as /dev/zero must not be read to the end of memory.
  public static let fileByteLimit = 1 << 20

  /// Every byte of `path`, read through one handle, so that a pipe (`--config <(jq …)`,
  /// /dev/stdin) is read as a file is.
  private static func contents(of path: String) throws -> Data {
    let handle = try openForReading(path)
    defer { try? handle.close() }
    var data = Data()
    do {
      while data.count <= fileByteLimit,
        let chunk = try handle.read(upToCount: fileByteLimit + 1 - data.count), !chunk.isEmpty
      {
        data.append(chunk)
      }
    } catch {
      throw TrellisError(file: path, "cannot be read (\(error.localizedDescription))")
    }
    guard data.count <= fileByteLimit else {
      throw TrellisError(
        file: path, "holds more than \(fileByteLimit) bytes, far more than any recipe")
    }
    return data
  }

  /// The recipe of a JSON file; a field left out takes its default. A value its field cannot
  /// take (a null, which must not read as the default, a string for a number, `1.5` or `1e20`
  /// epochs, a name that is no choice) is an `OptionError` at its `field`, as `validate()`
  /// throws for one out of the option's range: a flag's mistake, a usage error in the CLI. A
  /// file that is no recipe (unreadable, not JSON or an object, a field unknown, given twice
  /// or lacking a part) is a `TrellisError`.
  public static func read(from path: String) throws -> TrainingRecipe {
    let data = try contents(of: path)
    var text = String(decoding: data, as: UTF8.self)
    if text.hasPrefix("\u{FEFF}") { text.removeFirst() }  // a byte-order mark, as everywhere
    // Checked by the strict scanner first: JSONSerialization accepts a trailing comma, and
    // says of a syntax error only that there is one.
    if let (line, column) = syntaxErrorPosition(in: text) {
      throw TrellisError(file: path, line: line, "is not valid JSON (column \(column))")
    }
    guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
      // The text is JSON: JSONSerialization refuses it for a number beyond a Double's range
      // (1e400), or for not being an object.
      guard case .scalar(let field, let number)? = firstFlaw(in: text, scalar: isBeyondDouble)
      else { throw TrellisError(file: path, "is not a JSON object") }
      throw valueError(field, "is out of range (got \(number), beyond about 1.8e308 in size)")
    }
    if let unknown = unknownKeys(in: object, of: TrainingRecipe()).first {
      // The data's scheme, which a run's records hold, is detected, not set: a file giving it
      // most likely means the scheme to train in.
      throw TrellisError(
        file: path,
        unknown == "configuration.scheme"
          ? "'configuration.scheme' is the scheme of the training data's labels, which training "
            + "detects; to train in another scheme, give 'configuration.trainingScheme' (--scheme)"
          : "has no option '\(unknown)'")
    }
    if case .scalar(let field, let number)? = firstFlaw(in: text, scalar: isBelowDouble) {
      throw valueError(
        field, "is out of range (got \(number), below about 4.9e-324 in size: it would read as 0)")
    }
    switch firstFlaw(in: text, scalar: { $0 == "null" }) {
    case .repeatedKey(let repeated)?:
      // JSONSerialization and JSONDecoder each keep one of two values of a key, silently, and
      // not the same one Python's json or jq keeps: the file would not say what the run does.
      throw TrellisError(file: path, "gives '\(repeated)' twice")
    case .scalar(let field, _)?:
      // JSONDecoder reads a null as a field left out, so its default, silently.
      throw valueError(field, "is null; leave a field out for its default, or give a value")
    case nil: break
    }
    return try decoded(from: data, object: object, path: path)
  }

  /// `read`'s last step: the recipe of `data` (`object` once parsed), its decoding errors
  /// named by the recipe's fields.
  private static func decoded(from data: Data, object: [String: Any], path: String) throws
    -> TrainingRecipe
  {
    do {
      return try JSONDecoder().decode(TrainingRecipe.self, from: data)
    } catch DecodingError.dataCorrupted(let context) where context.codingPath.isEmpty {
      // JSONDecoder reports a number that its field's integer type cannot hold as invalid JSON
      // without naming the field (the file parsed above).
      guard let (field, isInteger) = numberFieldOutOfRange(in: object, of: TrainingRecipe()) else {
        throw TrellisError(file: path, "holds a number that its field's type cannot hold")
      }
      throw valueError(
        field,
        isInteger
          ? "must be a whole number in the option's range"
          : "must be a number that single precision holds (about 1.4e-45 to 3.4e38 in size, or 0)")
    } catch let DecodingError.keyNotFound(key, context) {
      throw TrellisError(
        file: path,
        "'\(fieldName(context.codingPath))' lacks '\(key.stringValue)', which has no default")
    } catch let DecodingError.typeMismatch(type, context) {
      throw valueError(fieldName(context.codingPath), "must be \(expectedJSON(for: type))")
    } catch let DecodingError.dataCorrupted(context), let DecodingError.valueNotFound(_, context) {
      // `NamedChoice`'s "must be one of …", at its field.
      throw valueError(fieldName(context.codingPath), context.debugDescription)
    }
  }

  /// A value that `field` (dotted, `configuration.hiddenSize`) cannot take, as the option's
  /// error (`hidden-size`, a usage error in the CLI) at the field.
  private static func valueError(_ field: String, _ message: String) -> OptionError {
    let name = field.split(separator: ".").last.map(String.init) ?? field
    return OptionError(
      name.reduce(into: "") { $0 += $1.isUppercase ? "-" + $1.lowercased() : String($1) },
      message, field: field)
  }

  /// The recipe as `--print-config` prints it: pretty JSON, sorted keys, every field. Throws
  /// `EncodingError` for a number JSON cannot hold (NaN or an infinity), which `validate()`
  /// refuses first.
  public func json() throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    return String(decoding: try encoder.encode(self), as: UTF8.self)
  }

  public init(from decoder: any Swift.Decoder) throws {
    let container = try decoder.container(keyedBy: CodingKeys.self)
    description = try container.decodeIfPresent(String.self, forKey: .description)
    note = try container.decodeIfPresent(String.self, forKey: .note)
    data = try container.decodeIfPresent(TrainingData.self, forKey: .data) ?? TrainingData()
    configuration =
      try container.decodeIfPresent(TaggerConfiguration.self, forKey: .configuration) ?? .init()
    options = try container.decodeIfPresent(TrainingOptions.self, forKey: .options) ?? .init()
  }
}

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
  /// else at least a label. A model takes a line's features by position, not by
  /// `FeatureColumn.column`, so sentences read with all their columns would give it other
  /// columns, or the gold label itself, as features.
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
    }
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
  /// (`checkLayout`), labels a conversion would erase (`checkConvertibleLabels`), the label
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
    try checkConvertibleLabels(of: train, file: trainFile, configuration: configuration)
    let labelCount = try checkLabelCount(of: train, file: trainFile, configuration: configuration)
    try TaggerModel.checkSentenceLengths(of: train, file: trainFile, labelCount: labelCount)
    try TaggerModel.checkSentenceLengths(of: dev, file: devFile, labelCount: labelCount)
  }

  /// Throws an `OptionError` when `train` is missing, a column is outside `1...columnLimit`,
  /// or the label column is the token column.
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
