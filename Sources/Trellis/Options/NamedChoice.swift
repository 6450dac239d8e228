/// A setting whose JSON form is the name of one of its cases (the encoder, the head, the
/// optimiser, a tag scheme, an embeddings scope): another name, in a configuration file or a
/// model's header, is refused naming the choices. Decoded as a raw value, it was refused as
/// "Cannot initialize EncoderKind from invalid String value BILSTM", which names a Swift type
/// and no choice.
protocol NamedChoice: RawRepresentable<String>, CaseIterable, Decodable {}

extension NamedChoice {
  /// The case the JSON string names; another name is refused, naming the choices.
  public init(from decoder: any Decoder) throws {
    let container = try decoder.singleValueContainer()
    let name = try container.decode(String.self)
    guard let choice = Self(rawValue: name) else {
      let names = Self.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ")
      throw DecodingError.dataCorruptedError(
        in: container, debugDescription: "must be one of \(names) (got \"\(name)\")")
    }
    self = choice
  }
}

extension EncoderKind: NamedChoice {}
extension HeadKind: NamedChoice {}
extension OptimizerKind: NamedChoice {}
extension EmbeddingScope: NamedChoice {}
extension TagScheme: NamedChoice {}

/// What a JSON value of Swift type `type` must be, for a field of the wrong type: "a whole
/// number" where JSONDecoder says "Expected to decode Int but found a string instead".
func expectedJSON(for type: Any.Type) -> String {
  switch type {
  case is any BinaryInteger.Type: "a whole number"
  case is any BinaryFloatingPoint.Type: "a number"
  case is String.Type: "a string"
  case is Bool.Type: "true or false"
  case is [Any].Type: "an array"
  default: "an object"
  }
}
