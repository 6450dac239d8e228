import Trellis

// `trellis_tag_tokens`: tokenised sentences in, label ids, spans and confidences out, through
// arrays, so that a caller building its own result objects (the Python package) skips writing
// and parsing JSON. Tagging is `TaggerModel.analyze`, as for the JSON lines of
// `trellis_tag_jsonl`, so labels, spans and confidences are the same.

@_cdecl("trellis_tag_tokens")
public func trellis_tag_tokens(
  _ handle: UnsafeRawPointer?, _ tokens: UnsafePointer<CChar>?, _ tokensSize: Int,
  _ lengths: UnsafePointer<Int32>?, _ sentenceCount: Int, _ batchSize: Int32, _ flags: Int32,
  _ labels: UnsafeMutablePointer<Int32>?, _ spanCounts: UnsafeMutablePointer<Int32>?,
  _ spans: UnsafeMutablePointer<Int32>?, _ confidences: UnsafeMutablePointer<Double>?,
  _ probabilities: UnsafeMutablePointer<Double>?,
  _ error: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
) -> Int32 {
  let tagged = reportingErrors(to: error) { () -> Bool in
    let loaded = try loadedModel(handle)
    try loaded.model.checkReadsTokensAlone()
    let options = try TokenBatch.options(batchSize: batchSize, flags: flags)
    let sentences = try TokenBatch.sentences(
      tokens, size: tokensSize, lengths: lengths, count: sentenceCount,
      tokenLimitError: loaded.model.tokenLimitError)
    let tokenCount = sentences.reduce(0) { $0 + $1.count }
    let outputs = try TokenBatch.Outputs(
      labels: labels, spanCounts: spanCounts, spans: spans, confidences: confidences,
      probabilities: probabilities, tokenCount: tokenCount, sentenceCount: sentenceCount,
      writesConfidences: options.confidence)
    try outputs.write(loaded.model.analyze(sentences, options: options), table: loaded.labelTable)
    return true
  }
  return tagged == nil ? -1 : 0
}

/// The tables that turn output labels into ids and back (`trellis_model_info`'s "outputLabels"
/// and "spanLabels").
struct LabelTable {
  /// `TaggerModel.outputLabels`.
  let outputLabels: [String]
  /// `TaggerModel.spanLabels`.
  let spanLabels: [String]
  /// Ids of `outputLabels`, keyed by bytes: labels that differ only in Unicode normalisation
  /// are two labels (`Vocabulary`'s rule).
  let ids: [ExactString: Int32]

  init(_ model: TaggerModel) {
    (outputLabels, spanLabels) = (model.outputLabels, model.spanLabels)
    ids = Dictionary(
      outputLabels.enumerated().map { (ExactString($0.element), Int32($0.offset)) },
      uniquingKeysWith: { first, _ in first })
  }

  func id(of label: String) throws -> Int32 {
    guard let id = ids[ExactString(label)] else {
      throw CallError("the model answered \(jsonString(label)), which is not in outputLabels")
    }
    return id
  }
}

/// Reading the arguments of `trellis_tag_tokens` and writing its answers.
enum TokenBatch {
  static let confidence: Int32 = 1
  static let unconstrained: Int32 = 2
  /// `TRELLIS_THREADS(n)` is n shifted left by this: the flags from this bit up are the most
  /// threads, 0 for the default (`TaggingOptions.activeCores`).
  static let threadsShift: Int32 = 8

  static func options(batchSize: Int32, flags: Int32) throws -> TaggingOptions {
    let threads = flags >> threadsShift
    guard flags >= 0 else {
      throw CallError(
        "flags: \(flags) is negative: TRELLIS_THREADS(n) takes n in "
          + "1...\(TaggingOptions.threadsLimit), and gives -1 for an n the flags cannot hold")
    }
    guard flags & ((1 << threadsShift) - 1) & ~(confidence | unconstrained) == 0 else {
      throw CallError(
        "flags: \(flags) has bits other than TRELLIS_CONFIDENCE (1), TRELLIS_UNCONSTRAINED (2) "
          + "and TRELLIS_THREADS(n)")
    }
    var options = TaggingOptions()
    options.batchSize = Int(batchSize)
    options.confidence = flags & confidence != 0
    options.constrained = flags & unconstrained == 0
    if threads > 0 { options.threads = Int(threads) }
    do {
      try options.validate()
    } catch let error as OptionError {
      let argument = error.option == "threads" ? "TRELLIS_THREADS(n): n" : "\"batch_size\""
      throw CallError("\(argument) \(error.message)")
    }
    return options
  }

  /// The sentences of the `tokens` buffer: `size` bytes of NUL-terminated UTF-8 tokens, as
  /// many as `lengths` (`count` of them) add up to, each within the model's tokens a sentence
  /// (`tokenLimitError`, `TaggerModel.tokenLimitError(count:)`).
  static func sentences(
    _ tokens: UnsafePointer<CChar>?, size: Int, lengths: UnsafePointer<Int32>?, count: Int,
    tokenLimitError: (Int) -> String?
  ) throws -> [[String]] {
    // size_t arguments, read as Int: a negative one was 2^63 or more (a negative number
    // passed as a size_t).
    guard size >= 0, count >= 0 else {
      throw CallError("tokens_size or sentence_count is 2^63 or more (a negative number?)")
    }
    let lengths = try buffer(lengths, count: count, "lengths")
    let bytes = try buffer(
      tokens.map { UnsafeRawPointer($0).assumingMemoryBound(to: UInt8.self) }, count: size,
      "tokens")
    var sentences: [[String]] = []
    sentences.reserveCapacity(count)
    var start = 0
    for (index, length) in lengths.enumerated() {
      guard length >= 0 else { throw CallError("lengths[\(index)] is negative (\(length))") }
      if let refusal = tokenLimitError(Int(length)) {
        throw CallError("sentence \(index): \(refusal)")
      }
      var sentence: [String] = []
      sentence.reserveCapacity(Int(length))
      for _ in 0..<length {
        guard let end = bytes[start...].firstIndex(of: 0) else {
          throw CallError(
            "tokens: \(size) bytes end before sentence \(index)'s tokens do (each ends with NUL)")
        }
        guard let token = String(validating: bytes[start..<end], as: UTF8.self) else {
          throw CallError("sentence \(index), token \(sentence.count) is not valid UTF-8")
        }
        sentence.append(token)
        start = end + 1
      }
      sentences.append(sentence)
    }
    guard start == size else {
      throw CallError(
        "tokens: \(size - start) bytes after the last token the lengths count (each ends with NUL)")
    }
    return sentences
  }

  /// The caller's array, or an error when it is NULL and must hold something.
  static func buffer<Element>(_ pointer: UnsafePointer<Element>?, count: Int, _ name: String)
    throws -> UnsafeBufferPointer<Element>
  {
    guard count == 0 || pointer != nil else { throw CallError("\(name) is NULL") }
    return UnsafeBufferPointer(start: count == 0 ? nil : pointer, count: count)
  }

  /// The caller's output arrays, checked against what will be written.
  struct Outputs {
    var labels: UnsafeMutablePointer<Int32>?
    var spanCounts: UnsafeMutablePointer<Int32>?
    var spans: UnsafeMutablePointer<Int32>?
    var confidences: UnsafeMutablePointer<Double>?
    var probabilities: UnsafeMutablePointer<Double>?

    init(
      labels: UnsafeMutablePointer<Int32>?, spanCounts: UnsafeMutablePointer<Int32>?,
      spans: UnsafeMutablePointer<Int32>?, confidences: UnsafeMutablePointer<Double>?,
      probabilities: UnsafeMutablePointer<Double>?, tokenCount: Int, sentenceCount: Int,
      writesConfidences: Bool
    ) throws {
      func require(_ pointer: UnsafeMutableRawPointer?, _ count: Int, _ name: String) throws {
        guard count == 0 || pointer != nil else { throw CallError("\(name) is NULL") }
      }
      try require(labels, tokenCount, "labels")
      if spanCounts != nil || spans != nil {
        try require(spanCounts, sentenceCount, "span_counts (with spans)")
        try require(spans, tokenCount, "spans (with span_counts)")
      }
      if writesConfidences {
        try require(confidences, tokenCount, "confidences (with TRELLIS_CONFIDENCE)")
        try require(probabilities, sentenceCount, "probabilities (with TRELLIS_CONFIDENCE)")
      }
      self.labels = labels
      self.spanCounts = spanCounts
      self.spans = spans
      self.confidences = writesConfidences ? confidences : nil
      self.probabilities = writesConfidences ? probabilities : nil
    }

    /// Writes each analysis's labels, spans and confidences; tokens and spans of a sentence
    /// follow those of the one before.
    func write(_ analyses: [Analysis], table: LabelTable) throws {
      var token = 0
      var span = 0
      for (index, analysis) in analyses.enumerated() {
        for (offset, label) in analysis.labels.enumerated() {
          labels![token + offset] = try table.id(of: label)
        }
        spanCounts?[index] = Int32(analysis.spans.count)
        if let spans {
          for found in analysis.spans {
            (spans[2 * span], spans[2 * span + 1]) = (Int32(found.start), Int32(found.end))
            span += 1
          }
        }
        if let confidences, let tokenConfidences = analysis.tokenConfidences {
          // NaN in `probabilities` means "no confidences", so a damaged model's NaN must not
          // pass for it: refused, as `trellis tag` and JSON answers refuse it.
          guard tokenConfidences.allSatisfy(\.isFinite),
            analysis.sequenceProbability?.isFinite != false
          else {
            throw CallError(
              "sentence \(index): the model's scores give a number that is not finite "
                + "(a damaged model?)")
          }
          (confidences + token).update(from: tokenConfidences, count: tokenConfidences.count)
        }
        probabilities?[index] = analysis.sequenceProbability ?? .nan
        token += analysis.labels.count
      }
    }
  }
}
