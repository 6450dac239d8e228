/// A problem with an input or model file, located as precisely as possible.
public struct TrellisError: Error, CustomStringConvertible, Equatable {
  /// The file as the user named it (`<stdin>` for standard input).
  public var file: String
  /// The 1-based line, when the problem is on one line.
  public var line: Int?
  /// What is wrong, as a sentence fragment without the location.
  public var message: String

  /// An error about `file` (at `line`, if given).
  public init(file: String, line: Int? = nil, _ message: String) {
    self.file = file
    self.line = line
    self.message = message
  }

  /// `FILE:LINE: message`, the form compilers use, so editors can jump to it; control
  /// characters in the file's name written as escapes (`visibleControlCharacters`), and an
  /// empty name as `""` (a program's empty path gave `: no such file`).
  public var description: String {
    let file = file.isEmpty ? "\"\"" : visibleControlCharacters(file)
    if let line { return "\(file):\(line): \(message)" }
    return "\(file): \(message)"
  }
}
