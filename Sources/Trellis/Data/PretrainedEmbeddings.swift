/// Which pretrained vectors join a model.
public enum EmbeddingScope: String, Codable, CaseIterable, Sendable {
  /// The vectors of words that occur in the data (training, dev and test files): the embedding
  /// table stays the size of the data's vocabulary (NCRF++, Lample et al. 2016).
  case data
  /// Every vector of the file becomes a row of the embedding table, saved with the model:
  /// GloVe 6B 50d's 400,000 words make a 0.2 M-parameter tagger one of 17.9 M on ATIS (README;
  /// 20 M, an 84 MB file, from a synthetic table of 400,000 keys that lowercasing and digit
  /// normalisation do not merge, Eval/SPEED.md). Training's steps skip the rows of words no training sentence holds
  /// (`TrainingRun.updatedRanges`): on ATIS an epoch's steps ran at 0.77 of the speed with
  /// the data's words alone (Eval/SPEED.md, "Session 29"), but every epoch's checkpoint and
  /// the model file are written in full. Only worth it when the model must tag text whose
  /// words are not known when it is trained.
  case all
}

/// How many distinct words of the data, `<unk>` and `<pad>` aside, have a pretrained vector.
public struct EmbeddingCoverage: Equatable, Sendable {
  /// Words whose normalised key has a vector.
  public var exact = 0
  /// Words that have none, but whose lowercase form does (cased words, lowercased vectors).
  public var lowercased = 0
  /// Words with no vector either way.
  public var missing = 0

  /// The distinct words counted: `exact + lowercased + missing`.
  public var words: Int { exact + lowercased + missing }
}

/// The pretrained vectors a model starts its embeddings from, read from a word2vec, GloVe or
/// fastText file (`VectorFileFormat`) in one streaming pass: with scope `data` only the vectors
/// of the data's words are kept, so a 1 GB file costs one read, not 1 GB of memory.
public struct PretrainedEmbeddings: Sendable {
  /// Values per vector: the model's embedding size, checked on every vector of the file.
  public let dimension: Int
  /// The file's layout, recognised from its content, not its name.
  public let format: VectorFileFormat
  /// Which vectors were kept: those of the data's words, or all.
  public let scope: EmbeddingScope
  /// Vectors in the file, whether kept or not.
  public let fileVectorCount: Int
  /// Vectors passed over because no token can equal their word (`VectorRecordReader`).
  public let skippedVectorCount: Int
  /// The size and SHA-256 of the file, read once (training's provenance, `InputFile`).
  public let fileDigest: ReadDigest

  /// The size and SHA-256 of the file at `path`, read through without parsing it: what a
  /// resumed run records of the vectors it is given, whose rows its checkpoint holds already.
  public static func fileDigest(of path: String) throws -> ReadDigest {
    let reader = try ByteChunkReader(path: path)
    try reader.readToEnd()
    return reader.digest
  }
  /// Of the data's words given to `init`.
  public private(set) var coverage = EmbeddingCoverage()
  /// The words that should have a row of the embedding table, each once: the data's words
  /// that have a vector (data order), then with scope `all` every other key of the file (file
  /// order), so the vocabulary they extend comes out the same on every run.
  public private(set) var keys: [String] = []
  /// Normalised file key → row of `table`. When normalisation merges words ("Apple" and
  /// "apple", "1991" and "0000"), a record whose word is the key itself wins, else the first:
  /// the exact word before its normalised forms, as taggers look vectors up (Lample et al.
  /// 2016: the word, then lowercased, then digits to 0), whatever the file's order.
  private var rows: [String: Int] = [:]
  /// Whether row r's vector is of a record whose word is its key.
  private var rowIsVerbatim: [Bool] = []
  /// The kept vectors, `(rows.count, dimension)` row-major.
  private var table: [Float] = []

  /// Reads `path`, normalising each word as the model will (`normalization`). `dataWords` are
  /// the data's normalised keys (`dataWords(of:normalization:)`); every vector must have
  /// `dimension` values (the model's embedding size). Throws `TrellisError` naming the file
  /// (and line, where there is one) when it cannot be read, is not a vector file, has a
  /// malformed record or a vector of another length, or holds no vectors; an `OptionError`
  /// when `dimension` is outside the embedding size's range, 1...`TaggerConfiguration.sizeLimit`.
  public init(
    path: String, dimension: Int, normalization: TokenNormalization, dataWords: [String],
    scope: EmbeddingScope = .data
  ) throws {
    // An unchecked dimension trapped in the reader (-1 indexed a field, 2⁶⁰ overflowed a
    // line's length limit).
    try require(dimension, in: 1...TaggerConfiguration.sizeLimit, "embedding-size")
    self.dimension = dimension
    self.scope = scope
    let reader = try VectorRecordReader(path: path, dimension: dimension)
    format = reader.format
    let wanted: Set<String>? =
      scope == .all ? nil : Set(dataWords + dataWords.map { $0.lowercased() })
    var fileKeys: [String] = []
    while let word = try reader.nextWord() {
      let key = normalization.key(for: word)
      // `<unk>` and `<pad>` keep their own rows whatever the file holds (`TrainingRun`): their
      // vectors are neither kept nor counted as kept.
      guard wanted?.contains(key) ?? true, !ReservedWord.all.contains(key) else { continue }
      let isVerbatim = word == key
      if let row = rows[key] {
        guard isVerbatim, !rowIsVerbatim[row] else { continue }
        table.replaceSubrange(row * dimension..<(row + 1) * dimension, with: try reader.vector())
        rowIsVerbatim[row] = true
        continue
      }
      rows[key] = fileKeys.count
      fileKeys.append(key)
      rowIsVerbatim.append(isVerbatim)
      table.append(contentsOf: try reader.vector())
    }
    fileVectorCount = reader.recordCount
    skippedVectorCount = reader.skippedCount
    fileDigest = reader.digest
    guard fileVectorCount > 0 else { throw TrellisError(file: path, "contains no vectors") }
    // So a data file that holds `<unk>` or `<pad>` as tokens counts them neither as covered
    // nor as missing.
    var listed = Set(ReservedWord.all)
    for word in dataWords where listed.insert(word).inserted {
      guard let found = match(word) else {
        coverage.missing += 1
        continue
      }
      if found.isExact { coverage.exact += 1 } else { coverage.lowercased += 1 }
      keys.append(word)
    }
    if scope == .all { keys += fileKeys.filter { listed.insert($0).inserted } }
  }

  /// Vectors kept in memory.
  public var keptVectorCount: Int { rows.count }

  /// The vector for vocabulary key `key`: the file's vector of that key, else of its lowercase
  /// form; nil when there is neither (or it was not kept).
  public func vector(for key: String) -> ArraySlice<Float>? {
    guard let row = match(key)?.row else { return nil }
    return table[(row * dimension)..<((row + 1) * dimension)]
  }

  private func match(_ key: String) -> (row: Int, isExact: Bool)? {
    if let row = rows[key] { return (row, true) }
    return rows[key.lowercased()].map { ($0, false) }
  }

  /// The distinct normalised keys of the sentences' tokens, in order of first appearance:
  /// the words whose vectors scope `data` keeps.
  public static func dataWords(of sentences: [Sentence], normalization: TokenNormalization)
    -> [String]
  {
    var seen = Set<String>()
    return sentences.flatMap(\.tokens).map(normalization.key(for:)).filter {
      seen.insert($0).inserted
    }
  }
}
