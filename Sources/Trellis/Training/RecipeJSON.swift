import Foundation

// How `TrainingRecipe.read` finds what is wrong in a configuration file and names it by its
// field: keys no setting has, numbers beyond their types, nulls, repeated keys, syntax errors.

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
    guard let json = object[key] as? NSNumber else { continue }
    let number = json.doubleValue
    switch type(of: child) {
    case is Int.Type, is Int?.Type:
      // A Double rounds -2⁶³ − 1 to Int.min; JSONSerialization keeps such a number exact as a
      // decimal.
      if Int(exactly: number) == nil || json.decimalValue < Decimal(Int.min) {
        return (prefix + key, true)
      }
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

/// The Double of the JSON scalar `text` when it is a number (±∞ beyond a Double's range, 0
/// below it); nil for a string, a Boolean or null.
private func numberValue(_ text: String) -> Double? {
  text.first == "-" || text.first?.isNumber == true ? Double(text) : nil
}

/// Whether the JSON scalar `text` is a number beyond a Double's range, which JSONSerialization
/// refuses.
func isBeyondDouble(_ text: String) -> Bool { numberValue(text)?.isFinite == false }

/// Whether the JSON scalar `text` is a number other than 0 too small for a Double (1e-400),
/// which JSONSerialization reads as 0, silently.
func isBelowDouble(_ text: String) -> Bool {
  numberValue(text) == 0 && isNonzeroNumeral(text)
}

/// Whether the numeral `text` (decimal, or hexadecimal after `0x`) names a number other than
/// 0: a digit other than 0 before its exponent. Such a numeral that reads as 0 is too small
/// for its type, and is refused where it is given rather than read as 0.
package func isNonzeroNumeral(_ text: String) -> Bool {
  let unsigned = text.drop { $0 == "-" || $0 == "+" }
  if unsigned.lowercased().hasPrefix("0x") {
    return unsigned.dropFirst(2).prefix { $0 != "p" && $0 != "P" }.contains {
      $0.isHexDigit && $0 != "0"
    }
  }
  return unsigned.prefix { $0 != "e" && $0 != "E" }.contains { $0.isNumber && $0 != "0" }
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
