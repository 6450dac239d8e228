/// conlleval's `-d DELIM`: every line is split as Perl's `split(/DELIM/, $line)` splits it.
///
/// The delimiter is a Perl regular expression, as in conlleval: `-d '\t'` splits at every tab,
/// `-d ' '` at every single space (conlleval's default; without `-d` Trellis splits at runs of
/// spaces and tabs instead). Perl's `split` rules hold: a match at the start of the line gives an
/// empty first field, empty fields at the end are dropped (so a line without fields is a sentence
/// boundary), and each capture group adds its text as a field (an empty one when it took no part).
///
/// A delimiter without regular-expression syntax, after Perl's escapes `\t`, `\n`, `\r`, `\f`,
/// `\e`, `\a` and a backslash before punctuation, is matched as bytes, exactly as Perl does. Any
/// other pattern is compiled by Swift's `Regex`, which reads Perl's syntax but matches Unicode
/// scalars where Perl, reading conlleval's input as bytes, matches bytes. Its character classes
/// (`\s`, `\d`, `\w`, and POSIX classes through `perlVariablePattern`) are held to ASCII, as
/// Perl's are on bytes: a no-break space is no `\s` to conlleval. They still differ for
/// patterns that can match part of a multi-byte character (`.`, `[^,]`, `\W`, which match one
/// scalar in Swift and one byte in Perl: `\W` finds one delimiter in "é" in Swift, two in
/// Perl). After an empty match Swift searches on from the next scalar, where Perl may still
/// take a non-empty match at the same place (`x*|a` on "ab"); patterns that cannot match the
/// empty string are not affected. `\b` and `\B` take digits for non-word characters (Swift's
/// simple word boundaries; its default ones also fall between two non-word characters), where
/// Perl's `\w` holds them.
/// Swift's `Regex` backtracks without Perl's optimisations: nested repeats (`(a+)+b`) can take
/// time exponential in a line's length, where Perl takes milliseconds.
public struct FieldDelimiter: Sendable {
  /// The `-d` argument.
  public let pattern: String
  private let matcher: Matcher

  private enum Matcher {
    case bytes([UInt8])
    case regex(Regex<AnyRegexOutput>)
  }

  /// Compiles `pattern`; throws Swift's regular-expression error when it cannot.
  public init(_ pattern: String) throws {
    self.pattern = pattern
    if let literal = perlLiteral(pattern), !literal.isEmpty {
      matcher = .bytes(literal)
    } else {
      matcher = .regex(
        // Perl's \b: between a word character and a non-word one (Unicode's default word
        // boundaries also fall between two non-word characters, as in "- ").
        try Regex(perlVariablePattern(pattern)).matchingSemantics(.unicodeScalar)
          .asciiOnlyCharacterClasses()
          .wordBoundaryKind(.simple))
    }
  }

  /// Whether a NUL separates fields (`-d '\0'`): the input's NULs are then no sign of UTF-16.
  public var separatesAtNUL: Bool { fields(of: "a\u{0}b").count > 1 }

  /// The fields of `line`, slices of it.
  public func fields(of line: Substring) -> [Substring] {
    var fields: [Substring]
    switch matcher {
    case .bytes(let delimiter): fields = split(line, atBytes: delimiter)
    case .regex(let regex): fields = split(line, at: regex)
    }
    while fields.last?.isEmpty == true { fields.removeLast() }
    return fields
  }

  /// Fields between non-overlapping occurrences of `delimiter`, left to right, with the rest of
  /// the line as the last field. A valid UTF-8 sequence found in valid UTF-8 starts and ends on
  /// scalar boundaries, so every field is valid text.
  private func split(_ line: Substring, atBytes delimiter: [UInt8]) -> [Substring] {
    let bytes = line.utf8
    var fields: [Substring] = []
    var fieldStart = bytes.startIndex
    var index = fieldStart
    while index < bytes.endIndex {
      if bytes[index...].starts(with: delimiter) {
        fields.append(Substring(bytes[fieldStart..<index]))
        index = bytes.index(index, offsetBy: delimiter.count)
        fieldStart = index
      } else {
        index = bytes.index(after: index)
      }
    }
    fields.append(Substring(bytes[fieldStart...]))
    return fields
  }

  /// Perl's split loop over the matches in the whole line (so anchors see the line): a match must
  /// end after the start of the field it ends (Perl's `minend` of 1), so an empty match right at
  /// a field's start is passed over.
  private func split(_ line: Substring, at regex: Regex<AnyRegexOutput>) -> [Substring] {
    var fields: [Substring] = []
    var fieldStart = line.startIndex
    for match in line.matches(of: regex) {
      guard fieldStart < line.endIndex else { break }
      if match.range.upperBound == fieldStart { continue }
      fields.append(line[fieldStart..<match.range.lowerBound])
      for group in match.output.dropFirst() { fields.append(group.substring ?? "") }
      fieldStart = match.range.upperBound
    }
    fields.append(line[fieldStart...])
    return fields
  }
}

/// The bytes `pattern` matches when it is a plain string in Perl's regular-expression syntax, or
/// nil when it uses any other syntax (metacharacters, classes such as `\s`, backreferences).
private func perlLiteral(_ pattern: String) -> [UInt8]? {
  let escapes: [Unicode.Scalar: UInt8] = [
    "t": 0x09, "n": 0x0A, "r": 0x0D, "f": 0x0C, "e": 0x1B, "a": 0x07,
  ]
  var bytes: [UInt8] = []
  var scalars = pattern.unicodeScalars.makeIterator()
  while let scalar = scalars.next() {
    switch scalar {
    case "^", "$", ".", "|", "?", "*", "+", "(", ")", "[", "{":
      return nil
    case "\\":
      guard let escaped = scalars.next() else { return nil }
      if let byte = escapes[escaped] {
        bytes.append(byte)
      } else if isPerlWordCharacter(escaped) {
        return nil  // \s, \d, \1, \x41, ...: a class, a reference or a code
      } else {
        bytes += String(escaped).utf8
      }
    default:
      bytes += String(scalar).utf8
    }
  }
  return bytes
}

/// `pattern` rewritten so that Swift's `Regex` reads it as Perl reads a pattern from a
/// variable (conlleval's `split(/$delimiter/)`) on bytes:
/// - a POSIX class in brackets (`[[:space:]]`, `[[:^digit:]]`) becomes its ASCII members:
///   `asciiOnlyCharacterClasses` holds `\s`, `\d` and `\w` to ASCII but not these, which
///   took a no-break space for `[[:space:]]`;
/// - `\Q` and `\E` become the letters Q and E: they quote only when a literal is
///   interpolated, and Perl's regular expressions pass them through as letters;
/// - a `]` or `:` first in brackets is a member (escaped), as in Perl: `[]a]`, `[:x]`.
private func perlVariablePattern(_ pattern: String) -> String {
  let scalars = Array(pattern.unicodeScalars)
  var result = String.UnicodeScalarView()
  var index = 0
  var inBrackets = false
  func append(_ text: String) { result.append(contentsOf: text.unicodeScalars) }
  while index < scalars.count {
    let scalar = scalars[index]
    if scalar == "\\", index + 1 < scalars.count {
      let escaped = scalars[index + 1]
      if escaped == "Q" || escaped == "E" { result.append(escaped) } else { append("\\\(escaped)") }
      index += 2
    } else if !inBrackets && scalar == "[" {
      inBrackets = true
      append("[")
      index += 1
      if index < scalars.count, scalars[index] == "^" {
        append("^")
        index += 1
      }
      if index < scalars.count, scalars[index] == "]" || scalars[index] == ":" {
        append("\\\(scalars[index])")
        index += 1
      }
    } else if inBrackets, scalar == "[", let (members, end) = posixClass(in: scalars, at: index) {
      append(members)
      index = end
    } else {
      if scalar == "]" { inBrackets = false }
      result.append(scalar)
      index += 1
    }
  }
  return String(result)
}

/// The ASCII members of the POSIX class `[:name:]` or `[:^name:]` starting at `start` in a
/// bracket expression, as Perl matches them on bytes (for `^`, a nested negated class), and
/// where the class ends; nil when none starts there.
private func posixClass(in scalars: [Unicode.Scalar], at start: Int) -> (String, Int)? {
  let members = [
    "alpha": "A-Za-z", "digit": "0-9", "alnum": "0-9A-Za-z", "upper": "A-Z", "lower": "a-z",
    "space": "\\t\\n\\x0B\\f\\r ", "blank": "\\t ", "punct": "!-/:-@\\[-`{-~",
    "cntrl": "\\x00-\\x1F\\x7F", "print": "\\x20-\\x7E", "graph": "\\x21-\\x7E",
    "xdigit": "0-9A-Fa-f", "word": "0-9A-Za-z_", "ascii": "\\x00-\\x7F",
  ]
  guard start + 1 < scalars.count, scalars[start + 1] == ":" else { return nil }
  var end = start + 2
  while end + 1 < scalars.count, !(scalars[end] == ":" && scalars[end + 1] == "]") { end += 1 }
  guard end + 1 < scalars.count else { return nil }
  var name = String(String.UnicodeScalarView(scalars[(start + 2)..<end]))
  let negated = name.hasPrefix("^")
  if negated { name.removeFirst() }
  guard let ascii = members[name] else { return nil }
  return (negated ? "[^\(ascii)]" : ascii, end + 2)
}

/// Perl's `\w` on bytes: an ASCII letter, digit or underscore.
private func isPerlWordCharacter(_ scalar: Unicode.Scalar) -> Bool {
  ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) || ("0"..."9").contains(scalar)
    || scalar == "_"
}
