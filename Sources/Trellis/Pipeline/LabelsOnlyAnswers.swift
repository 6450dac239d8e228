import ConllEval

/// The JSON strings of a model's labels and chunk types, escaped once: a labels-only answer
/// copies them instead of escaping a label String per token (`labelsOnlyAnswerLine`).
struct AnswerFragments: Sendable {
  /// Each label's JSON string in id order, then each chunk type's in `typeNames` order.
  private let bytes: [UInt8]
  /// Where entry `n` starts in `bytes`; it ends where entry `n + 1` starts.
  private let starts: [Int]
  private let labelCount: Int

  init(labels: [String], chunks: LabelSetChunks) {
    var bytes = JSONBytes()
    var starts = [0]
    for string in labels + chunks.typeNames {
      bytes.append(jsonString: string)
      starts.append(bytes.count)
    }
    (self.bytes, self.starts, labelCount) = (bytes.array(), starts, labels.count)
  }

  /// Calls `body` with a writer of label and chunk-type strings, reading the table in place
  /// for the whole call (one reference count update for an answer, not one a token).
  func withWriter<R>(_ body: (Writer) -> R) -> R {
    bytes.withUnsafeBufferPointer { bytes in
      starts.withUnsafeBufferPointer { starts in
        body(Writer(bytes: bytes, starts: starts, labelCount: labelCount))
      }
    }
  }

  struct Writer {
    let bytes: UnsafeBufferPointer<UInt8>
    let starts: UnsafeBufferPointer<Int>
    let labelCount: Int

    func appendLabel(_ id: Int, to line: inout JSONBytes) {
      append(entry: id, to: &line)
    }

    func appendChunkType(_ number: Int, to line: inout JSONBytes) {
      append(entry: labelCount + number, to: &line)
    }

    private func append(entry: Int, to line: inout JSONBytes) {
      line.append(UnsafeBufferPointer(rebasing: bytes[starts[entry]..<starts[entry + 1]]))
    }
  }
}

extension TaggerModel {
  /// The answer line to a request of tokens tagged with labels alone, written from the label
  /// ids: byte for byte `TaggingResponse(request:analysis:).jsonLine()` of its analysis
  /// (`AnswerFragmentsTests`), without building the analysis, its spans and their strings
  /// first, which was half of answering a JSON-lines request. Nil when the answer holds more
  /// than labels and spans (confidences, n-best lists), when the request gave text (whose
  /// spans are cut from it), or when the model converts its labels from another scheme.
  func labelsOnlyAnswerLine(to request: TaggingRequest, path: [Int], options: TaggingOptions)
    -> String?
  {
    guard !options.confidence, options.nbest == 0, request.text == nil,
      let chunks = labelChunks, let answerFragments
    else { return nil }
    var line = request.answerLineStart(tokenCount: path.count)
    answerFragments.withWriter { writer in
      line.append(literal: "\"labels\":[")
      for (index, id) in path.enumerated() {
        if index > 0 { line.append(UInt8(ascii: ",")) }
        writer.appendLabel(id, to: &line)
      }
      // Each span as `Span.appendJSON` writes it, located as `TaggingResponse.init` locates it.
      line.append(literal: "],\"spans\":[")
      var first = true
      chunks.forEachChunk(in: path) { type, tokens in
        if !first { line.append(UInt8(ascii: ",")) }
        first = false
        let characters = request.characters(ofTokens: tokens)
        Span.appendJSON(
          start: tokens.lowerBound, end: tokens.upperBound, startChar: characters.lowerBound,
          endChar: characters.upperBound, to: &line,
          label: { writer.appendChunkType(type, to: &$0) },
          text: { text in
            // The tokens joined by spaces, as `analyze` writes a span's text, without
            // building that string first.
            text.append(UInt8(ascii: "\""))
            for token in tokens {
              if token > tokens.lowerBound { text.append(UInt8(ascii: " ")) }
              text.append(jsonStringContents: request.tokens[token])
            }
            text.append(UInt8(ascii: "\""))
          })
      }
      line.append(literal: "],\"tokens\":")
      appendStrings(request.tokens, to: &line)
    }
    line.append(UInt8(ascii: "}"))
    return line.string()
  }
}
