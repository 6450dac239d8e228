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
    // A native string (every string on Linux) is read in place; `withUTF8`, mutating because
    // a bridged string may first be made contiguous, needs a copy, whose reference count was
    // an atomic increment and decrement at every word lookup.
    let hashed: Void? = string.utf8.withContiguousStorageIfAvailable {
      hasher.combine(bytes: UnsafeRawBufferPointer($0))
    }
    if hashed == nil {
      var bytes = string
      bytes.withUTF8 { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
    }
  }
}

/// True when two UTF-8 views hold the same bytes (no Unicode normalisation).
func sameBytes<A: Collection<UInt8>, B: Collection<UInt8>>(_ a: A, _ b: B) -> Bool {
  a.count == b.count && a.elementsEqual(b)
}

/// `sameBytes` of two strings, compared as two buffers when both have them (native strings do;
/// a word lookup compares its key with the entry's): the views' element-by-element walk cost
/// several times more.
func sameBytes(_ a: String.UTF8View, _ b: String.UTF8View) -> Bool {
  let compared = a.withContiguousStorageIfAvailable { a in
    b.withContiguousStorageIfAvailable { b in a.count == b.count && a.elementsEqual(b) }
  }
  return compared.flatMap { $0 } ?? (a.count == b.count && a.elementsEqual(b))
}
