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
    try validateFeatureColumns()
    if let idle = Self.idleSetting(configuration, options) { throw idle }
    try locating(in: "options") { try options.validateFreezing(hasVectors: data.embeddings != nil) }
    if data.embeddings == nil && data.embeddingsScope == .all {
      throw OptionError(
        "embeddings-scope", "needs --embeddings, the file whose every vector it keeps",
        field: "data.embeddingsScope", part: "all")
    }
  }

  /// The refusal of the first setting that acts only on something the run does not have (the
  /// SSVM head, annealing, the character CNN, dropout, chain decoding) and is set away from its
  /// default: it would do nothing, silently, and the model would record it (its provenance's
  /// recipe then refused by `validate()`). `Trainer` refuses it as the recipe does.
  static func idleSetting(_ configuration: TaggerConfiguration, _ options: TrainingOptions)
    -> OptionError?
  {
    let defaults = TrainingRecipe()
    let head = configuration.headOptions
    let settings: [(isIdle: Bool, option: String, message: String, field: String)] = [
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
      (
        configuration.head == .softmax && !configuration.constrainedDecoding, "no-constraints",
        "acts on the chain heads' decoding; the softmax head labels each token on its own",
        "configuration.constrainedDecoding"
      ),
    ]
    return settings.first(where: \.isIdle).map {
      OptionError($0.option, $0.message, field: $0.field)
    }
  }

  /// Throws when a feature column is the token or label column: known from the options alone,
  /// so refused before any work (the data's reader refused it once it had read the file, with
  /// status 1). A last label column is the data's, and checked there.
  private func validateFeatureColumns() throws {
    for (index, feature) in configuration.featureColumns.enumerated()
    where [data.tokenColumn, data.labelColumn].contains(feature.column) {
      let reason =
        feature.column == data.tokenColumn
        ? "the token column, which the model reads already"
        : "the label column: a feature of the labels would hand the model its gold label"
      throw OptionError(
        "feature-column",
        "must differ from the token and label columns (got \(feature.column), \(reason))",
        field: "configuration.featureColumns[\(index)].column", part: "N")
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
    // Empty, it would read as not given (`validate()`'s "is required"); a model's recipe may
    // hold it so (a program's provenance), and is read elsewhere.
    if (object["data"] as? [String: Any])?["train"] as? String == "" {
      throw OptionError.emptyPath("train", field: "data.train")
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

  /// Decodes a recipe leniently, as a model's or checkpoint's embedded one is read: a field
  /// left out or null takes its default, and an unknown one is ignored. A file a person wrote
  /// should go through `read(from:)`, which refuses each of those and names the field.
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
