/// A setting outside the range the code can serve. `option` is its name as the command line
/// and configuration files spell it (`hidden-size`), so one message serves both.
public struct OptionError: Error, CustomStringConvertible, Equatable {
  /// The setting's name without dashes, e.g. `hidden-size`.
  public var option: String
  /// What is wrong with the value, and the value given: `must be in LOW...HIGH (got VALUE)`.
  public var message: String
  /// The setting's field in a training recipe's JSON, as a configuration file names it
  /// (`configuration.hiddenSize`). A check sets it where the field is not `option` in camel
  /// case (`featureColumns[0].column`), and `TrainingRecipe.validate()` sets it or puts its
  /// section in front; nil for settings outside a recipe.
  public var field: String?
  /// The part of the option's value that `message` is about, as the command line spells it,
  /// where the field is only that part (`N` of `--feature-column N:DIM`).
  public var part: String?

  /// An error for setting `option`; `message` completes a sentence that starts with its name
  /// (and `part`). `field` is needed only where a recipe's name for it is not `option` in
  /// camel case.
  public init(_ option: String, _ message: String, field: String? = nil, part: String? = nil) {
    self.option = option
    self.message = message
    self.field = field
    self.part = part
  }

  /// `--option` and the message; without dashes, a command's argument (`FILE`, `MODEL`),
  /// named in capitals as its usage names it, and a Swift argument that no flag sets
  /// (`featureCount`, `bestModel`), named in camel case as Swift spells it.
  public var description: String {
    let isFlag = !option.contains(where: \.isUppercase)
    return (isFlag ? "--" : "") + option + " " + (part.map { $0 + " " } ?? "") + message
  }

  /// The error for a path given as "" to `option`: no file has an empty name, and the
  /// system's "no such file" named none (`Error: : no such file`).
  public static func emptyPath(_ option: String, field: String? = nil) -> OptionError {
    OptionError(option, "is empty; it takes a file's path", field: field)
  }
}

/// Throws unless `range` contains `value` (a NaN is in no range). Package-wide, so that the
/// HTTP service's options are worded as the library's.
package func require<Value: Comparable>(
  _ value: Value, in range: ClosedRange<Value>, _ option: String, field: String? = nil
) throws {
  guard range.contains(value) else {
    throw OptionError(option, "must be in \(range) (got \(value))", field: field)
  }
}

/// Throws unless `range` contains `value`.
func require<Value: Comparable>(_ value: Value, in range: Range<Value>, _ option: String) throws {
  guard range.contains(value) else {
    throw OptionError(
      option, "must be in [\(range.lowerBound), \(range.upperBound)) (got \(value))")
  }
}

extension KeyedDecodingContainer {
  /// Decodes `key` into `field` when present, leaving `field` (its default) when absent: how
  /// settings read from files written before a setting existed, or written by hand.
  func decode<Value: Decodable>(_ field: inout Value, _ key: Key) throws {
    field = try decodeIfPresent(Value.self, forKey: key) ?? field
  }

  /// As `decode(_:_:)` for a configuration file; a model file (`readsModelFile`) must hold
  /// `key`: for a field that every model file has written, a missing one means a damaged or
  /// hand-edited header, which is refused rather than read with today's default.
  func decode<Value: Decodable>(
    _ field: inout Value, _ key: Key, writtenByEveryModel decoder: any Decoder
  ) throws {
    if decoder.userInfo[.readsModelFile] as? Bool == true {
      field = try decode(Value.self, forKey: key)
    } else {
      try decode(&field, key)
    }
  }
}
