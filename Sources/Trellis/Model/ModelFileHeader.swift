import Foundation

extension ModelFile {
  /// A model file's JSON header: the configuration, the vocabularies, the parameter layout and
  /// the provenance.
  struct Header: Codable {
    var configuration: TaggerConfiguration
    var words: Vocabulary
    var labels: Vocabulary
    /// The character CNN's characters; absent without one.
    var characters: Vocabulary?
    /// The values of each feature column; absent without feature columns.
    var features: [Vocabulary]?
    var slots: [ParameterSlot]
    var provenance: Provenance?

    /// The members `decode(_:decoder:)` leaves to `JSONDecoder`: all but the vocabularies.
    private struct Settings: Decodable {
      var configuration: TaggerConfiguration
      var slots: [ParameterSlot]
      var provenance: Provenance?
    }

    /// Decodes a header's JSON: the vocabularies (arrays of strings, nearly all of a header's
    /// bytes) with `JSONScanner`, every other member with `decoder`. Through `JSONDecoder`, each
    /// word took about 5,700 instructions: 114 M for a vocabulary of 20,000, most of a model's
    /// loading (Eval/SPEED.md, session 39).
    static func decode(_ bytes: Data, decoder: JSONDecoder) throws -> Header {
      var vocabularies: [String: [String]] = [:]
      var features: [[String]]?
      var settings: [String] = []
      try bytes.withUnsafeBytes { bytes in
        try JSONScanner.scan(bytes: bytes) { scanner in
          try scanner.expect(UInt8(ascii: "{"), "a JSON object")
          if scanner.consume(UInt8(ascii: "}")) { return }
          repeat {
            scanner.skipWhitespace()
            let nameStart = scanner.position
            let name = try scanner.readString()
            let rawName = scanner.text(from: nameStart)
            try scanner.expect(UInt8(ascii: ":"), "':' after a key")
            switch name {
            case "characters" where scanner.consumeNull(), "features" where scanner.consumeNull():
              break  // absent, as `JSONDecoder` reads an optional member's null
            case "words", "labels", "characters":
              vocabularies[name] = try scanner.readStringArray(
                problem: "\(rawName) must be an array of strings")
            case "features":
              try scanner.require(.array) {
                "\(rawName) must be an array of arrays of strings, not \($0)"
              }
              try scanner.expect(UInt8(ascii: "["), "'['")
              var columns: [[String]] = []
              if !scanner.consume(UInt8(ascii: "]")) {
                repeat {
                  columns.append(
                    try scanner.readStringArray(
                      problem: "each column of \(rawName) must be an array of strings"))
                } while scanner.consume(UInt8(ascii: ","))
                try scanner.expect(UInt8(ascii: "]"), "',' or ']'")
              }
              features = columns
            default: settings.append(rawName + ":" + (try scanner.readRawValue()).text)
            }
          } while scanner.consume(UInt8(ascii: ","))
          try scanner.expect(UInt8(ascii: "}"), "',' or '}'")
          scanner.skipWhitespace()
          guard scanner.isAtEnd else { throw scanner.error("unexpected text after the object") }
        }
      }
      let rest = try decoder.decode(
        Settings.self, from: Data(("{" + settings.joined(separator: ",") + "}").utf8))
      func vocabulary(_ name: String) throws -> Vocabulary {
        guard let strings = vocabularies[name] else {
          throw JSONLineError("the header has no \"\(name)\"")
        }
        return Vocabulary(strings)
      }
      return Header(
        configuration: rest.configuration, words: try vocabulary("words"),
        labels: try vocabulary("labels"),
        characters: vocabularies["characters"].map(Vocabulary.init),
        features: features?.map(Vocabulary.init), slots: rest.slots, provenance: rest.provenance)
    }
  }
}
