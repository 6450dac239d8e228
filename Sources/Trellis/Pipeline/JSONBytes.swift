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

  /// Appends `value` as a JSON string literal: quotes, backslashes and control characters
  /// escaped, every other character written as itself (UTF-8).
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
      for index in utf8.indices {
        let byte = utf8[index]
        guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else {
          continue
        }
        append(UnsafeBufferPointer(rebasing: utf8[runStart..<index]))
        appendEscape(byte)
        runStart = index + 1
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

/// `value` as a JSON string literal: quotes, backslashes and control characters escaped, every
/// other character written as itself (UTF-8).
package func jsonString(_ value: String) -> String {
  var json = JSONBytes(capacity: value.utf8.count + 2)
  json.append(jsonString: value)
  return json.string()
}
