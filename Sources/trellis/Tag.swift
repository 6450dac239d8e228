import ArgumentParser
import ConllEval
import Foundation
import Trellis

/// Input formats of `trellis tag`.
enum InputFormat: String, ExpressibleByArgument, CaseIterable {
  /// One token per line, columns separated by whitespace, blank line between sentences.
  case conll
  /// One tokenised sentence per line, tokens separated by whitespace.
  case text
  /// One JSON request per line (`TaggingRequest`): `{"id": …, "tokens": […]}` or `{"text": …}`.
  case jsonl
}

/// Output formats of `trellis tag`.
enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
  /// The input lines with the predicted label (and confidence) appended as columns.
  case conll
  /// One sentence per line as `token/LABEL` pairs.
  case text
  /// One JSON object per sentence: tokens, labels, spans, confidences, n-best.
  case json
}

/// What `tag --input jsonl` does with a line that is not a valid request.
enum BadLinePolicy: String, ExpressibleByArgument, CaseIterable {
  /// Stop with `Error: FILE:LINE: what` and exit 1, after answering the lines before it.
  case fail
  /// Answer `{"id": …, "error": "…"}` for that line and go on.
  case skip
}

struct Tag: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "tag",
    abstract: "Tag CoNLL, plain text or JSON lines (a file or standard input), streaming.",
    discussion: """
      CoNLL output is the input lines, their columns separated by tabs (conlleval.pl reads \
      them with -d '\\t'; trellis score with either), with the predicted label appended as a \
      new last column (and its probability after it with --confidence). --nbest prints \
      scores, so it needs --format json or text. JSON-lines input is answered in JSON lines, one answer per line; \
      the README's "JSON lines" section gives the schema. A sentence is answered as soon as \
      it is complete when no more input is waiting, and sentences read together are tagged \
      together, up to \(Tag.batchesReadAhead) x --batch-size at a time.
      """)

  @Option(help: "The model file.") var model: String
  @Argument(help: "Input file; '-' or nothing reads standard input.") var file: String = "-"
  @Option(
    help:
      "Input format: conll; text, a tokenised sentence a line, tokens split at whitespace (with --tokenize, raw text); jsonl, requests whose \"text\" the tokenizer splits."
  ) var input: InputFormat = .conll
  @Flag(
    help:
      "Text input: split each line into tokens as a JSON request's \"text\" is split (punctuation apart from words: 'Denver,' is 'Denver' ','), not at whitespace alone."
  )
  var tokenize = false
  @Option(help: "Output format (default: conll for CoNLL input, text for text, json for jsonl).")
  var format: OutputFormat?
  @Option(
    parsing: .unconditional,
    help:
      "CoNLL input: the column holding the token (1-based; default: the model's training column, else \(TrainingData.defaultTokenColumn))."
  )
  var tokenColumn: Int?
  @Flag(help: "Decode without the tag scheme's transition constraints.") var noConstraints = false
  @Flag(
    help:
      "Add each token's marginal probability, and in JSON the sentence's probability (CRF, softmax)."
  )
  var confidence = false
  @Option(
    parsing: .unconditional,
    help: """
      Also print the K best label sequences with scores and probabilities (K at most \
      \(TaggingOptions.nbestLimit); a sentence of T tokens gets at most \
      \(TaggingOptions.nbestEntryLimit) / (T x labels) of them).
      """)
  var nbest = 0
  @Option(
    parsing: .unconditional,
    help: """
      The most sentences per forward pass, and fewer when they are long: at most \
      \(TaggerModel.batchTokenStepLimit) sentences x tokens of the longest, unless one \
      sentence has more (input that arrives a sentence at a time is still answered a \
      sentence at a time).
      """)
  var batchSize = TaggingOptions().batchSize
  @Option(
    help: """
      JSON lines input: what a line that is not a valid request does (fail: stop with \
      FILE:LINE; skip: answer {"id": ..., "error": ...} and go on).
      """)
  var onError: BadLinePolicy = .fail
  @Option(
    parsing: .unconditional,
    help: """
      The most threads to tag on; 1 keeps to one core, as a Spark task that owns one core \
      should. The default is the number of cores this process may use (then the next group \
      of sentences starts while the last is tagged, on up to twice as many threads). The \
      output does not depend on it. With \(Tag.batchesReadAhead) batches tagged at a time, \
      more threads than that add nothing.
      """)
  var threads = TaggingOptions.activeCores

  var outputFormat: OutputFormat {
    if let format { return format }
    switch input {
    case .conll: return .conll
    case .text: return .text
    case .jsonl: return .json
    }
  }

  var taggingOptions: TaggingOptions {
    TaggingOptions(
      constrained: !noConstraints, confidence: confidence, nbest: nbest, batchSize: batchSize,
      threads: threads)
  }

  func validate() throws {
    if let tokenColumn {
      try validated { try TrainingData.validateColumns(token: tokenColumn, label: nil) }
    }
    try validated(taggingOptions.validate)
    guard nbest == 0 || outputFormat != .conll else {
      throw ValidationError(
        "--nbest prints scores, which CoNLL columns cannot hold: add --format json"
          + (confidence ? "" : " (or text)"))
    }
    guard input != .jsonl || outputFormat == .json else {
      throw ValidationError(
        "--input jsonl answers in JSON lines: leave out --format (or give json)")
    }
    guard tokenColumn == nil || input == .conll else {
      throw ValidationError("--token-column applies to --input conll")
    }
    guard !tokenize || input == .text else {
      throw ValidationError(
        "--tokenize applies to --input text (a JSON-lines request's \"text\" is tokenized)")
    }
    guard onError == .fail || input == .jsonl else {
      throw ValidationError("--on-error applies to --input jsonl")
    }
    guard !confidence || outputFormat != .text else {
      throw ValidationError(
        "--confidence prints a number per token, which text answers cannot hold: add --format "
          + (nbest > 0 ? "json" : "json or conll"))
    }
  }

  /// Whether --threads leaves every core to this process, so the next group may start while
  /// the last is tagged (`OverlappedTagging`): a smaller --threads is a cap the user chose.
  var usesEveryCore: Bool { threads >= TaggingOptions.activeCores }

  /// Batches read before tagging when input keeps coming (a file): sorting that many sentences
  /// by length pads little (training pools 20 batches for the same reason), and the workers
  /// that share them (`OverlappedTagging`, one core also reading and writing) seldom wait for
  /// the last batch of a group. Memory stays bounded by three groups (two tagged, one read),
  /// not the file; interactive input is tagged sooner, whenever the reader would wait. On ATIS
  /// test x40 (paired runs, same output), 16 rather than 2 batches made `tag` 21% faster, and
  /// 64 rather than 16 another 10% once reading and writing overlapped tagging (peak memory
  /// 56 -> 63 MB).
  static let batchesReadAhead = 64

  /// Sentences read before tagging when input keeps coming. It does not depend on --threads,
  /// so neither do the batches.
  var readAhead: Int { Self.batchesReadAhead * batchSize }

  /// The most bytes of input a group holds, whatever `readAhead`: 2,048 lines of thousands of
  /// tokens (or JSON requests carrying large fields) made each group hundreds of megabytes,
  /// where the three in flight now hold a few. Groups of 2,048 sentences reach it only at
  /// 1 KB a sentence; ATIS's hold 300 KB.
  static let bytesReadAhead = 1 << 21

  func run() throws {
    try FileRoles(inputs: [("--model", model), ("FILE", file)]).check()
    // With more than one thread the model loads, and is prepared for tagging, while the first
    // group is read: loading it was serial work at the start of every run (a quarter of the
    // instructions of tagging one sentence with an ATIS model).
    let model = ModelLoading(path: self.model, threads: threads, prepare: checkInput)
    let output = StandardOutput()
    do {
      try input == .jsonl ? tagJSONLines(model, output) : tagSentences(model, output)
    } catch {
      // The answers to the input before the error are written; the error is what is reported.
      try? output.flush()
      throw error
    }
    try output.flush()
  }

  /// Refuses input the model cannot read, and notes confidences it cannot give and a token
  /// column taken from the model's training (`InputTokenColumn`).
  func checkInput(for tagger: TaggerModel) throws {
    if input != .conll { try tagger.checkReadsTokensAlone(file: model) }
    let tokenColumn = InputTokenColumn(
      given: self.tokenColumn, of: tagger, at: model, readsColumns: input == .conll)
    try refuseFeatureAtTokenColumn(tokenColumn.column, of: tagger, at: model)
    if input == .conll { tokenColumn.note() }
    if confidence && !tagger.definesProbabilities {
      printError(
        "note: the \(tagger.configuration.head.rawValue) head ranks label sequences but defines no "
          + "probabilities; confidences are left out ('-' in CoNLL, absent from JSON)")
    }
  }

  /// Streams CoNLL or text input: tags each `readAhead` sentences (overlapped with reading
  /// and writing, `OverlappedTagging`), and answers whatever has been read whenever the reader
  /// would wait for more.
  func tagSentences(_ model: ModelLoading, _ output: StandardOutput) throws {
    let fileName = LineReader.displayName(of: file)
    let overlap = OverlappedTagging(threads: threads, nextGroupEarly: usesEveryCore)
    let options = taggingOptions
    // CoNLL and text output print labels (and confidences, n-best lists) but never spans: with
    // labels alone, `tag` skips building spans and their texts (8% of a run on a large file).
    let labelsOnly = outputFormat != .json && !confidence && nbest == 0
    func analyses(of inputs: [TokenInput], _ tagger: TaggerModel) -> [Analysis] {
      guard labelsOnly else { return tagger.analyze(inputs, options: options) }
      return zip(inputs, tagger.tag(inputs, options: options)).map {
        Analysis(tokens: $0.tokens, labels: $1, spans: [])
      }
    }
    let tokenColumns = TokenLineColumns()
    let groups = InputGroups<SentenceLines>(
      model: model, overlap: overlap, size: readAhead, budget: Self.bytesReadAhead,
      cost: { $0.text.count },
      submit: { sentences, tagger in
        // The sentences before one the model refuses are answered, then the run stops there.
        let read = tokenInputs(sentences, tagger, fileName)
        let answered = Array(sentences.prefix(read.sentenceCount))
        try overlap.submit(
          { analyses(of: read.inputs, tagger) },
          write: {
            try self.write(
              answered, $0, to: output, fileName: fileName, tokenColumns: tokenColumns)
          })
        if let refusal = read.refusal {
          try overlap.drain()
          throw refusal
        }
      })
    if input == .conll {
      let reader = try CoNLLReader(path: file)
      reader.keepsDocumentMarkers = true
      reader.beforeWaiting = groups.beforeWaiting(writingTo: output)
      // Markers before any token line are written once the input has ended, as they are.
      defer { for marker in tokenColumns.heldMarkers { writeMarker(marker, to: output) } }
      try groups.readAll { try reader.nextLines() }
    } else {
      let reader = try LineReader(path: file)
      reader.beforeWaiting = groups.beforeWaiting(writingTo: output)
      let tokenize = self.tokenize  // read once, not through its wrapper a line
      try groups.readAll {
        try reader.nextLine { line in
          try Self.textSentence(
            line, lineNumber: reader.lineNumber, tokenize: tokenize, fileName: fileName)
        }
      }
    }
  }

  /// One line of text input as a sentence: its tokens split at whitespace, or by the
  /// tokenizer (`tokenize`); refused beyond `Sentence.tokenLimit` tokens.
  static func textSentence(
    _ line: UnsafeBufferPointer<UInt8>, lineNumber: Int, tokenize: Bool, fileName: String
  ) throws -> SentenceLines {
    let (sentence, tokenCount): (SentenceLines, Int)
    if tokenize {
      (sentence, tokenCount) = SentenceLines.tokenizing(
        line, lineNumber: lineNumber, keepingAtMost: Sentence.tokenLimit)
    } else {
      sentence = SentenceLines(tokensOf: line, lineNumber: lineNumber)
      tokenCount = sentence.count
    }
    if let refusal = Sentence.tokenLimitError(count: tokenCount) {
      throw TrellisError(file: fileName, line: lineNumber, refusal)
    }
    return sentence
  }

  /// The tagger's inputs (the token column and the model's feature columns) of `sentences`
  /// up to the first the model cannot read, how many sentences that is (document markers
  /// included, which have no input), and why the next is refused: too few columns, or more
  /// tokens than the model takes (`TaggerModel.tokenLimitError(count:)`).
  func tokenInputs(_ sentences: [SentenceLines], _ tagger: TaggerModel, _ fileName: String)
    -> (inputs: [TokenInput], sentenceCount: Int, refusal: TrellisError?)
  {
    // Option values are read once: each read of an ArgumentParser property goes through its
    // generic wrapper, which was 1% of a run when done per line.
    let tokenColumn = InputTokenColumn(
      given: self.tokenColumn, of: tagger, at: model, readsColumns: input == .conll)
    let featureColumns = tagger.configuration.featureColumns.map(\.column)
    var inputs: [TokenInput] = []
    inputs.reserveCapacity(sentences.count)
    for (index, sentence) in sentences.enumerated() where !sentence.isDocumentMarker {
      if let missing = missingColumn(
        fieldCount: sentence.fieldsPerLine, tokenColumn: tokenColumn,
        featureColumns: featureColumns)
      {
        return (inputs, index, TrellisError(file: fileName, line: sentence.firstLine, missing))
      }
      if let refusal = tagger.tokenLimitError(count: sentence.count) {
        return (inputs, index, TrellisError(file: fileName, line: sentence.firstLine, refusal))
      }
      let lines = 0..<sentence.count
      inputs.append(
        TokenInput(
          tokens: lines.map { sentence.field(tokenColumn.column - 1, ofLine: $0) },
          features: featureColumns.map { column in
            lines.map { sentence.field(column - 1, ofLine: $0) }
          }))
    }
    return (inputs, sentences.count, nil)
  }

  /// Streams JSON-lines input through `TaggerModel.tagJSONLines`, the function the HTTP
  /// service and the C ABI call too.
  func tagJSONLines(_ model: ModelLoading, _ output: StandardOutput) throws {
    let reader = try LineReader(path: file, ends: .lfOrCRLF)
    let fileName = reader.fileName
    let overlap = OverlappedTagging(threads: threads, nextGroupEarly: usesEveryCore)
    let options = taggingOptions
    var refused = 0
    // A line too long to read (`LineReader.lineLimit`) is a bad line too: under skip it is
    // passed over and answered with an error, nil in place of its text.
    let tooLong: (() -> (line: String?, number: Int))? =
      onError == .skip ? { (nil, reader.lineNumber) } : nil
    func write(_ answers: [JSONLineAnswer], _ lines: [(line: String?, number: Int)]) throws {
      for (answer, (_, number)) in zip(answers, lines) {
        if let error = answer.error {
          guard onError == .skip else {
            try output.flush()
            throw TrellisError(file: fileName, line: number, error)
          }
          refused += 1
        }
        output.write(answer.line)
        output.write("\n")
      }
      try output.endBatch()
    }
    let groups = InputGroups<(line: String?, number: Int)>(
      model: model, overlap: overlap, size: readAhead, budget: Self.bytesReadAhead,
      cost: { $0.line?.utf8.count ?? 0 },
      submit: { lines, tagger in
        try overlap.submit(
          { Result { try tagger.tagJSONLines(lines.map(\.line), options: options) } },
          write: { try write($0.get(), lines) })
      })
    reader.beforeWaiting = groups.beforeWaiting(writingTo: output)
    try groups.readAll {
      try reader.nextLine(
        { (String(decoding: $0, as: UTF8.self), reader.lineNumber) }, tooLong: tooLong)
    }
    if refused > 0 {
      printError("note: \(refused) line(s) were not valid requests; their answers hold \"error\"")
    }
  }
}
