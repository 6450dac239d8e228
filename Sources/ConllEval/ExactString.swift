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
    sameBytes(a.string.utf8, b.string.utf8)
  }

  /// Byte order, as Perl's default `sort`.
  public static func < (a: ExactString, b: ExactString) -> Bool {
    a.string.utf8.lexicographicallyPrecedes(b.string.utf8)
  }

  public func hash(into hasher: inout Hasher) {
    // `withUTF8` is mutating only because a bridged string may first be made contiguous; a
    // native string (every string on Linux) is read in place.
    var bytes = string
    bytes.withUTF8 { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
  }
}

/// True when two UTF-8 views hold the same bytes (no Unicode normalisation).
func sameBytes<A: Collection<UInt8>, B: Collection<UInt8>>(_ a: A, _ b: B) -> Bool {
  a.count == b.count && a.elementsEqual(b)
}
