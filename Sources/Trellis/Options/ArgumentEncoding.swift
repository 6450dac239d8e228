import Foundation

extension CommandLine {
  /// Why an argument of this process cannot be read, naming the first that is not valid UTF-8;
  /// nil when every one is. `CommandLine.arguments` puts U+FFFD in place of invalid bytes, so a
  /// path written in Latin-1 was looked for under another name and reported missing, of a file
  /// that is there. `trellis` and `trellis-serve` refuse such an argument before any work, as
  /// a usage error (status 64).
  package static var argumentNotUTF8: String? {
    for position in stride(from: 1, to: Int(argc), by: 1) {
      guard let argument = unsafeArgv[position] else { break }
      let encoded = bytes(ofCString: argument)
      guard String(validating: encoded, as: UTF8.self) == nil else { continue }
      // The arguments before it are valid, so `arguments` holds them as given.
      let previous = arguments[position - 1]
      let option = position > 1 && previous.hasPrefix("-") ? ", after \(previous)" : ""
      return "argument \(position) (\"\(escapingInvalidUTF8(encoded))\"\(option)) is not valid "
        + "UTF-8 (each invalid byte shown as \\xHH); every argument is read as UTF-8"
    }
    return nil
  }
}

/// The bytes of a NUL-terminated C string, without the NUL (valid while `text` is).
package func bytes(ofCString text: UnsafePointer<CChar>) -> UnsafeBufferPointer<UInt8> {
  UnsafeBufferPointer(
    start: UnsafeRawPointer(text).assumingMemoryBound(to: UInt8.self), count: strlen(text))
}

/// `bytes` as text for a message: valid UTF-8 as it is, and each byte of an invalid sequence
/// as `\xHH`, so that a name that is not UTF-8 shows which bytes it holds (U+FFFD, which
/// `String(decoding:as:)` puts in their place, hides them).
package func escapingInvalidUTF8(_ bytes: some Collection<UInt8>) -> String {
  var text = ""
  var parser = Unicode.UTF8.ForwardParser()
  var iterator = bytes.makeIterator()
  // Where the next scalar starts in `bytes`: the parser reads ahead of it.
  var start = bytes.startIndex
  while true {
    switch parser.parseScalar(from: &iterator) {
    case .valid(let encoded):
      text.unicodeScalars.append(Unicode.UTF8.decode(encoded))
      start = bytes.index(start, offsetBy: encoded.count)
    case .error(let length):
      let end = bytes.index(start, offsetBy: length)
      // Bytes of an invalid sequence are never ASCII, so each is two hex digits.
      for byte in bytes[start..<end] { text += "\\x" + String(byte, radix: 16, uppercase: true) }
      start = end
    case .emptyInput:
      return text
    }
  }
}
