/// A string that equals, hashes and sorts by its UTF-8 bytes (equivalently, its Unicode scalars),
/// as Perl and so conlleval compare strings.
///
/// Swift's `String ==` uses Unicode canonical equivalence: "B-é" with U+00E9 and "B-e" + U+0301
/// are equal Swift strings but two labels for conlleval. Label and vocabulary keys use this type
/// so that what conlleval counts as two stays two.
public struct ExactString: Hashable, Comparable, Sendable, ExpressibleByStringLiteral,
  CustomStringConvertible
{
  /// The string, unchanged.
  public let string: String

  /// Wraps `string` as it is (no normalisation).
  public init(_ string: String) { self.string = string }
  /// Wraps a copy of `text` as it is (no normalisation).
  public init(_ text: Substring) { string = String(text) }
  public init(stringLiteral string: String) { self.string = string }

  public var description: String { string }

  public static func == (a: ExactString, b: ExactString) -> Bool {
    // As two buffers (a word lookup compares its key with the entry's): the UTF-8 views'
    // element-by-element walk cost several times more.
    withUTF8Bytes(of: a.string) { a in
      withUTF8Bytes(of: b.string) { b in a.count == b.count && a.elementsEqual(b) }
    }
  }

  /// Byte order, as Perl's default `sort`.
  public static func < (a: ExactString, b: ExactString) -> Bool {
    a.string.utf8.lexicographicallyPrecedes(b.string.utf8)
  }

  public func hash(into hasher: inout Hasher) {
    withUTF8Bytes(of: string) { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
  }
}

/// True when two UTF-8 views hold the same bytes (no Unicode normalisation).
func sameBytes<A: Collection<UInt8>, B: Collection<UInt8>>(_ a: A, _ b: B) -> Bool {
  a.count == b.count && a.elementsEqual(b)
}

/// Calls `body` with `string`'s UTF-8 bytes: a native string's own (every string on Linux),
/// read in place. `withUTF8` would need a mutable copy first (it may make a bridged string
/// contiguous), and that copy's reference count is an atomic increment and decrement, once per
/// token in a word lookup or a JSON answer; only a string without contiguous bytes takes it.
@inlinable package func withUTF8Bytes<R>(
  of string: String, _ body: (UnsafeBufferPointer<UInt8>) throws -> R
) rethrows -> R {
  if let result = try string.utf8.withContiguousStorageIfAvailable(body) { return result }
  var copy = string
  return try copy.withUTF8(body)
}
