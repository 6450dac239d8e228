/// Why a JSON-lines request could not be read: the message says what was wrong (and at which
/// column, for a syntax error); `id` is the request's id when it had been read by then.
public struct JSONLineError: Error, CustomStringConvertible, Equatable, Sendable {
  /// What was wrong, as the answer's `"error"` field says it.
  public var message: String
  /// The request's `"id"` as written; nil when the line had none or the error came before it
  /// was read.
  public var id: RawJSON?

  /// An error saying `message`, of the request whose id is `id` (when it was read).
  public init(_ message: String, id: RawJSON? = nil) {
    self.message = message
    self.id = id
  }

  public var description: String { message }
}

/// The kinds of JSON value, each named as an error message names what it found.
enum JSONKind: String {
  case object = "an object"
  case array = "an array"
  case string = "a string"
  case boolean = "a boolean"
  case null
  case number = "a number"
}
