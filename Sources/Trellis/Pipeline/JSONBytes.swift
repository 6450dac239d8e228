import ConllEval

/// A JSON text being written: UTF-8 bytes stored through a pointer into storage that grows by
/// doubling. A JSON-lines answer is a few hundred short pieces (keys, labels, digits, tokens);
/// appended to a `[UInt8]`, each piece checked the array's uniqueness and most went through a
/// generic call (about 90 instructions to append a label, 150 for a span's offset; callgrind),
/// and writing answers was most of the work `--input jsonl` adds to tagging.
struct JSONBytes: ~Copyable {
  private var base: UnsafeMutablePointer<UInt8>
  private var capacity: Int
  /// The bytes written so far.
  private(set) var count = 0

  /// Empty, with room for `capacity` bytes before the first growth.
  init(capacity: Int = 64) {
    self.capacity = Swift.max(capacity, 16)
    base = .allocate(capacity: self.capacity)
  }

  deinit { base.deallocate() }

  /// The bytes written, as a String (one copy; the bytes are valid UTF-8 when every string
  /// appended was).
  consuming func string() -> String {
    String(unsafeUninitializedCapacity: count) { text in
      text.baseAddress!.initialize(from: base, count: count)
      return count
    }
  }

  /// The bytes written, as an array (one copy).
  consuming func array() -> [UInt8] {
    Array(UnsafeBufferPointer(start: base, count: count))
  }

  /// Makes room for `extra` more bytes.
  @inline(__always)
  private mutating func reserve(_ extra: Int) {
    if count + extra > capacity { grow(toHold: count + extra) }
  }

  @inline(never)
  private mutating func grow(toHold needed: Int) {
    let grown = Swift.max(needed, 2 * capacity)
    let storage = UnsafeMutablePointer<UInt8>.allocate(capacity: grown)
    storage.initialize(from: base, count: count)
    base.deallocate()
    (base, capacity) = (storage, grown)
  }

  mutating func append(_ byte: UInt8) {
    reserve(1)
    base[count] = byte
    count += 1
  }

  mutating func append(_ bytes: UnsafeBufferPointer<UInt8>) {
    guard let start = bytes.baseAddress else { return }
    reserve(bytes.count)
    (base + count).initialize(from: start, count: bytes.count)
    count += bytes.count
  }

  /// Appends a literal's UTF-8 bytes (keys, punctuation).
  mutating func append(literal: StaticString) {
    append(UnsafeBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount))
  }

  /// Appends a string's UTF-8 bytes as they are: JSON already (a number's text, a value kept
  /// as written).
  mutating func append(raw text: String) {
    withUTF8Bytes(of: text) { append($0) }
  }

  /// Appends `value` in decimal, as `String(value)` writes it.
  mutating func append(decimal value: Int) {
    // At most 20 digits and a sign; the digits are written from the end of their room.
    reserve(21)
    if value < 0 { append(UInt8(ascii: "-")) }
    var magnitude = value.magnitude  // a UInt, so Int.min has one too
    var digits = 1
    var rest = magnitude / 10
    while rest > 0 { (digits, rest) = (digits + 1, rest / 10) }
    var position = count + digits
    count = position
    repeat {
      position -= 1
      base[position] = UInt8(ascii: "0") + UInt8(magnitude % 10)
      magnitude /= 10
    } while magnitude > 0
  }

  /// Appends `value` as a JSON string literal: quotes, backslashes, control characters and the
  /// Unicode line ends U+0085, U+2028 and U+2029 escaped, every other character written as
  /// itself (UTF-8). JSON allows those three as they are, but a reader that splits lines at
  /// every Unicode line end (Python's `str.splitlines()`) would cut an answer in two.
  mutating func append(jsonString value: String) {
    append(UInt8(ascii: "\""))
    append(jsonStringContents: value)
    append(UInt8(ascii: "\""))
  }

  /// Appends what `append(jsonString:)` writes between the quotes: escaping works byte by
  /// byte, so the contents of strings written one after another are the contents of their
  /// concatenation (a span's text is its tokens' contents joined by spaces).
  mutating func append(jsonStringContents value: String) {
    withUTF8Bytes(of: value) { utf8 in
      // Runs of bytes that need no escape (most tokens and labels are one run) are copied whole.
      var runStart = 0
      var index = 0
      while index < utf8.count {
        let byte = utf8[index]
        let escaped: Int  // the bytes of the character escaped at `index`, 0 for none
        if byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") {
          escaped = 1
        } else if byte == 0xC2, index + 1 < utf8.count, utf8[index + 1] == 0x85 {
          escaped = 2  // U+0085
        } else if byte == 0xE2, index + 2 < utf8.count, utf8[index + 1] == 0x80,
          utf8[index + 2] == 0xA8 || utf8[index + 2] == 0xA9
        {
          escaped = 3  // U+2028, U+2029
        } else {
          escaped = 0
        }
        guard escaped > 0 else {
          index += 1
          continue
        }
        append(UnsafeBufferPointer(rebasing: utf8[runStart..<index]))
        switch escaped {
        case 1: appendEscape(byte)
        case 2: append(literal: "\\u0085")
        default: append(literal: utf8[index + 2] == 0xA8 ? "\\u2028" : "\\u2029")
        }
        index += escaped
        runStart = index
      }
      append(UnsafeBufferPointer(rebasing: utf8[runStart...]))
    }
  }

  /// The escape of a quote, a backslash or a control character.
  private mutating func appendEscape(_ byte: UInt8) {
    append(UInt8(ascii: "\\"))
    switch byte {
    case UInt8(ascii: "\""), UInt8(ascii: "\\"): append(byte)
    case 0x0A: append(UInt8(ascii: "n"))
    case 0x0D: append(UInt8(ascii: "r"))
    case 0x09: append(UInt8(ascii: "t"))
    case 0x08: append(UInt8(ascii: "b"))
    case 0x0C: append(UInt8(ascii: "f"))
    default:  // another control character: \u00XX, lowercase hex as JSONEncoder writes it
      let hexDigits: StaticString = "0123456789abcdef"
      append(literal: "u00")
      append(hexDigits.utf8Start[Int(byte >> 4)])
      append(hexDigits.utf8Start[Int(byte & 0xF)])
    }
  }
}

/// `value` as a JSON string literal, as `JSONBytes.append(jsonString:)` writes it.
package func jsonString(_ value: String) -> String {
  var json = JSONBytes(capacity: value.utf8.count + 2)
  json.append(jsonString: value)
  return json.string()
}
