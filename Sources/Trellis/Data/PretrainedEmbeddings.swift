import ConllEval

/// Word vectors in word2vec / GloVe text format: an optional header line `count dimension`,
/// then one `word v1 … vD` line per word.
public struct PretrainedEmbeddings: Sendable {
  public let dimension: Int
  /// Normalised key → vector; the first line of a key wins when normalisation merges words.
  public private(set) var vectors: [String: [Float]] = [:]
  /// Keys in file order, so vocabulary extension is deterministic.
  public private(set) var keys: [String] = []

  /// Reads `path`, normalising each word as the model will (`normalization`). Every vector
  /// must have `dimension` values (the model's embedding size).
  public init(path: String, dimension: Int, normalization: TokenNormalization) throws {
    self.dimension = dimension
    let reader = try LineReader(path: path)
    while let line = try reader.next() {
      let fields = splitColumns(line)
      if fields.isEmpty { continue }
      if reader.lineNumber == 1, fields.count == 2, Int(fields[0]) != nil, let headerDimension = Int(fields[1]) {
        guard headerDimension == dimension else {
          throw TrellisError(
            file: path, line: 1,
            "vectors have \(headerDimension) dimensions but --embedding-size is \(dimension)")
        }
        continue
      }
      guard fields.count - 1 == dimension else {
        throw TrellisError(
          file: path, line: reader.lineNumber,
          "expected a word and \(dimension) numbers (--embedding-size), found \(fields.count - 1) numbers")
      }
      var vector = [Float]()
      vector.reserveCapacity(dimension)
      for field in fields.dropFirst() {
        guard let value = Float(field), value.isFinite else {
          throw TrellisError(file: path, line: reader.lineNumber, "'\(field)' is not a finite number")
        }
        vector.append(value)
      }
      let key = normalization.key(for: String(fields[0]))
      if vectors[key] == nil {
        vectors[key] = vector
        keys.append(key)
      }
    }
    guard !keys.isEmpty else { throw TrellisError(file: path, "contains no vectors") }
  }
}
