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

  /// Throws an `OptionError` naming the first setting outside its range, or set to act on
  /// pretrained vectors that the recipe does not give.
  public func validate() throws {
    try locating(in: "data", data.validate)
    try locating(in: "configuration", configuration.validate)
    try locating(in: "options", options.validate)
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

  /// The recipe of a JSON file; missing fields take their defaults, while unknown fields, nulls
  /// and numbers out of range are errors at their field (a misspelt option must not be
  /// silently ignored, nor a null silently read as the default).
  public static func read(from path: String) throws -> TrainingRecipe {
    guard let data = FileManager.default.contents(atPath: path) else {
      throw TrellisError(file: path, "cannot be read")
    }
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
      throw TrellisError(
        file: path, "'\(field)': \(number) is out of range (beyond about 1.8e308 in size)")
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
    switch firstFlaw(in: text, scalar: { $0 == "null" }) {
    case .repeatedKey(let repeated)?:
      // JSONSerialization and JSONDecoder each keep one of two values of a key, silently, and
      // not the same one Python's json or jq keeps: the file would not say what the run does.
      throw TrellisError(file: path, "gives '\(repeated)' twice")
    case .scalar(let field, _)?:
      // JSONDecoder reads a null as a field left out, so its default, silently.
      throw TrellisError(
        file: path, "'\(field)' is null; leave a field out for its default, or give a value")
    case nil: break
    }
    do {
      return try JSONDecoder().decode(TrainingRecipe.self, from: data)
    } catch DecodingError.dataCorrupted(let context) where context.codingPath.isEmpty {
      // JSONDecoder reports a number that its field's integer type cannot hold as invalid JSON
      // without naming the field (the file parsed above).
      guard let (field, isInteger) = numberFieldOutOfRange(in: object, of: TrainingRecipe()) else {
        throw TrellisError(file: path, "holds a number that its field's type cannot hold")
      }
      throw TrellisError(
        file: path,
        "'\(field)': "
          + (isInteger
            ? "must be a whole number in the option's range"
            : "must be a number that single precision holds (about 1.4e-45 to 3.4e38 in size, or 0)")
      )
    } catch let DecodingError.keyNotFound(key, context) {
      throw TrellisError(
        file: path,
        "'\(fieldName(context.codingPath))' lacks '\(key.stringValue)', which has no default")
    } catch let DecodingError.typeMismatch(_, context), let DecodingError.dataCorrupted(context),
      let DecodingError.valueNotFound(_, context)
    {
      throw TrellisError(
        file: path, "'\(fieldName(context.codingPath))': \(context.debugDescription)")
    }
  }

  /// The recipe as `--print-config` prints it: pretty JSON, sorted keys, every field.
  public func json() -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    return String(decoding: try! encoder.encode(self), as: UTF8.self)
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

  /// Throws a `TrellisError` at the first line of `file` whose label training with
  /// `configuration` would erase: one that is not a chunk label (`isChunkLabel`), which
  /// converting to its `trainingScheme` (`--scheme`) reads as "O". Nothing to check when the
  /// sentences' scheme (`detectScheme`) is already that one, as nothing is converted.
  public static func checkConvertibleLabels(
    of sentences: [Sentence], file: String, configuration: TaggerConfiguration
  ) throws {
    var configuration = configuration
    configuration.scheme = detectScheme(sentences.map(\.labels))
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
    configuration.scheme = detectScheme(sentences.map(\.labels))
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

  /// Every check of training data before a model is built: labels a conversion would erase
  /// (`checkConvertibleLabels`), the label limit (`checkLabelCount`), and sentences, dev's too,
  /// longer than a model of those labels takes (`TaggerModel.checkSentenceLengths`: training
  /// holds several (tokens, labels) arrays a sentence, as tagging does).
  public static func check(
    train: [Sentence], file trainFile: String, dev: [Sentence], file devFile: String,
    configuration: TaggerConfiguration
  ) throws {
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
    try require(tokenColumn, in: 1...Self.columnLimit, "token-column")
    if let labelColumn {
      try require(labelColumn, in: 1...Self.columnLimit, "label-column")
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

/// Keys of `object` (recursively, as dotted paths) that name no stored property of `value`.
func unknownKeys(in object: [String: Any], of value: Any, prefix: String = "") -> [String] {
  let children = fields(of: value)
  return object.keys.sorted().flatMap { key -> [String] in
    guard let child = children[key] else { return [prefix + key] }
    return nestedObjects(object[key], of: child, path: prefix + key).flatMap {
      unknownKeys(in: $0.object, of: $0.value, prefix: $0.prefix)
    }
  }
}

/// The JSON objects `json` holds for the field `child` at `path`: the object of a nested struct,
/// or each object of `featureColumns` (`path[i]`), the recipe's one array of objects, for
/// which a default column stands (the default array is empty, so `Mirror` has no element of it
/// to read); with the value each stands for and the prefix of its fields' paths.
private func nestedObjects(_ json: Any?, of child: Any, path: String)
  -> [(object: [String: Any], value: Any, prefix: String)]
{
  if let nested = json as? [String: Any], Mirror(reflecting: child).displayStyle == .struct {
    return [(nested, child, path + ".")]
  }
  guard let elements = json as? [Any], child is [FeatureColumn] else { return [] }
  return elements.enumerated().compactMap { index, element in
    (element as? [String: Any]).map { ($0, FeatureColumn(column: 1), "\(path)[\(index)].") }
  }
}

/// A decoding error's coding path named as the recipe's fields are: `options.seed`,
/// `configuration.featureColumns[0]`.
func fieldName(_ codingPath: [any CodingKey]) -> String {
  codingPath.reduce("") { name, key in
    if let index = key.intValue { return "\(name)[\(index)]" }
    return name.isEmpty ? key.stringValue : "\(name).\(key.stringValue)"
  }
}

/// `value`'s stored properties by name (`Mirror`), each the name of its field in a recipe's
/// JSON; all but the data's scheme (`TaggerConfiguration.scheme`, stored as `detectedScheme`),
/// which a recipe holds only once training has detected it, and no configuration file gives.
private func fields(of value: Any) -> [String: Any] {
  var fields = Dictionary(
    Mirror(reflecting: value).children.compactMap { child in child.label.map { ($0, child.value) }
    },
    uniquingKeysWith: { first, _ in first })
  if value is TaggerConfiguration { fields["detectedScheme"] = nil }
  return fields
}

/// The first field of `object` (as `options.seed`) whose number the type of the same field of
/// `value` cannot hold, and whether that type is an integer: a fraction, a negative seed, 1e30
/// for an integer; 1e39 or 1e-50 for a Float (JSONDecoder refuses a Float that rounds to
/// infinity or to 0).
func numberFieldOutOfRange(in object: [String: Any], of value: Any, prefix: String = "")
  -> (field: String, isInteger: Bool)?
{
  let children = fields(of: value)
  for key in object.keys.sorted() {
    guard let child = children[key] else { continue }
    for nested in nestedObjects(object[key], of: child, path: prefix + key) {
      if let found = numberFieldOutOfRange(
        in: nested.object, of: nested.value, prefix: nested.prefix)
      {
        return found
      }
    }
    guard let number = (object[key] as? NSNumber)?.doubleValue else { continue }
    switch type(of: child) {
    case is Int.Type, is Int?.Type:
      if Int(exactly: number) == nil { return (prefix + key, true) }
    case is UInt64.Type, is UInt64?.Type:
      if UInt64(exactly: number) == nil { return (prefix + key, true) }
    case is Float.Type, is Float?.Type:
      let single = Float(number)
      if !single.isFinite || (single == 0 && number != 0) { return (prefix + key, false) }
    default: continue
    }
  }
  return nil
}

/// Runs a section's `validate`, naming in the `OptionError` it throws the setting's field in a
/// recipe's JSON, under `section`: the option's name in camel case (`hidden-size` is
/// `hiddenSize`) unless the error names another (`clip` is `clipNorm`).
func locating(in section: String, _ validate: () throws -> Void) throws {
  do { try validate() } catch var error as OptionError {
    let field =
      error.field
      ?? error.option.split(separator: "-").enumerated().map { index, word in
        index == 0 ? String(word) : word.prefix(1).uppercased() + word.dropFirst()
      }.joined()
    error.field = section + "." + field
    throw error
  }
}

/// The dotted path of the first key that an object of the JSON `text` gives twice; nil when
/// none does, or `text` is not JSON.
package func firstRepeatedJSONKey(in text: String) -> String? {
  guard case .repeatedKey(let path)? = firstFlaw(in: text, scalar: { _ in false }) else {
    return nil
  }
  return path
}

/// What `JSONScanner.firstFlaw` finds, with the dotted path of its member or item
/// (`options.epochs`, `configuration.featureColumns[0]`).
enum JSONFlaw: Equatable {
  /// A key its object gives twice.
  case repeatedKey(String)
  /// A scalar whose text the caller's test picked.
  case scalar(String, text: String)
}

/// The first flaw of the JSON `text` (`JSONScanner.firstFlaw`); nil when it has none, or is
/// not JSON.
func firstFlaw(in text: String, scalar isFlawed: (String) -> Bool) -> JSONFlaw? {
  (try? JSONScanner.scan(text) { try $0.firstFlaw(scalar: isFlawed) }) ?? nil
}

/// Whether the JSON scalar `text` is a number beyond a Double's range, which JSONSerialization
/// refuses.
private func isBeyondDouble(_ text: String) -> Bool {
  guard text.first == "-" || text.first?.isNumber == true else { return false }
  return Double(text)?.isFinite == false
}

/// The line and column (code points, from 1) where `text` stops being one JSON value, if it
/// does.
func syntaxErrorPosition(in text: String) -> (line: Int, column: Int)? {
  JSONScanner.scan(text) { scanner in
    do {
      _ = try scanner.readRawValue()
      scanner.skipWhitespace()
      if scanner.isAtEnd { return nil }
    } catch {}
    let before = text.utf8.prefix(scanner.position)
    let lineStart = before.lastIndex(of: 0x0A).map { before.index(after: $0) } ?? before.startIndex
    let line = before.reduce(1) { $0 + ($1 == 0x0A ? 1 : 0) }
    return (line, String(decoding: before[lineStart...], as: UTF8.self).unicodeScalars.count + 1)
  }
}

extension JSONScanner {
  /// The first flaw, in document order, of the value that comes next: a key that its object
  /// repeats, or a scalar (number, string, true, false, null) whose text `isFlawed`; nil when
  /// it has none. `path` is the value's own.
  mutating func firstFlaw(path: String = "", depth: Int = 0, scalar isFlawed: (String) -> Bool)
    throws -> JSONFlaw?
  {
    guard depth < Self.maximumDepth else { throw error("nested too deep") }
    if consume(UInt8(ascii: "{")) {
      if consume(UInt8(ascii: "}")) { return nil }
      var keys = Set<String>()
      repeat {
        let key = try readString()
        let member = path.isEmpty ? key : path + "." + key
        guard keys.insert(key).inserted else { return .repeatedKey(member) }
        try expect(UInt8(ascii: ":"), "':' after a key")
        if let flaw = try firstFlaw(path: member, depth: depth + 1, scalar: isFlawed) {
          return flaw
        }
      } while consume(UInt8(ascii: ","))
      try expect(UInt8(ascii: "}"), "',' or '}'")
    } else if consume(UInt8(ascii: "[")) {
      if consume(UInt8(ascii: "]")) { return nil }
      var index = 0
      repeat {
        let item = "\(path)[\(index)]"
        if let flaw = try firstFlaw(path: item, depth: depth + 1, scalar: isFlawed) {
          return flaw
        }
        index += 1
      } while consume(UInt8(ascii: ","))
      try expect(UInt8(ascii: "]"), "',' or ']'")
    } else {
      let text = try readRawValue().text
      if isFlawed(text) { return .scalar(path, text: text) }
    }
    return nil
  }
}
