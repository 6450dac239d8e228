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

struct Tag: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Tag CoNLL or plain text (a file or standard input), streaming one batch at a time.",
    discussion: """
      CoNLL output is the input lines with the predicted label appended as a new last column \
      (and its probability after it with --confidence). --nbest prints scores, so it needs \
      --format json or text.
      """)

  @Option(help: "The model file.") var model: String
  @Argument(help: "Input file; '-' or nothing reads standard input.") var file: String = "-"
  @Option(help: "Input format.") var input: InputFormat = .conll
  @Option(help: "Output format (default: conll for CoNLL input, text for text input).") var format: OutputFormat?
  @Option(help: "CoNLL input: the column holding the token (1-based).") var tokenColumn = 1
  @Flag(help: "Decode without the tag scheme's transition constraints.") var noConstraints = false
  @Flag(help: "Add each token's marginal probability and the sentence's probability (CRF, softmax).")
  var confidence = false
  @Option(help: "Also print the K best label sequences with scores and probabilities.") var nbest = 0
  @Option(help: "Sentences per forward pass (1 = lowest latency per sentence).") var batchSize = TaggingOptions().batchSize

  var outputFormat: OutputFormat { format ?? (input == .text ? .text : .conll) }

  var taggingOptions: TaggingOptions {
    TaggingOptions(constrained: !noConstraints, confidence: confidence, nbest: nbest, batchSize: batchSize)
  }

  func validate() throws {
    guard tokenColumn >= 1 else { throw ValidationError("--token-column counts from 1") }
    guard tokenColumn <= TrainingData.columnLimit else {
      throw ValidationError("--token-column must be at most \(TrainingData.columnLimit) (got \(tokenColumn))")
    }
    try validated(taggingOptions.validate)
    guard nbest == 0 || outputFormat != .conll else {
      throw ValidationError("--nbest prints scores, which CoNLL columns cannot hold: add --format json (or text)")
    }
  }

  /// Sentences read before tagging: one batch per core, so both cores get a whole batch to tag,
  /// while memory stays bounded by two batches, not the file.
  var readAhead: Int { 2 * batchSize }

  func run() throws {
    let tagger = try ModelFile.read(from: model)
    if confidence && !tagger.head.definesProbabilities {
      printError(
        "note: the \(tagger.configuration.head.rawValue) head ranks label sequences but defines no "
          + "probabilities; confidences are left out ('-' in CoNLL, null in JSON)")
    }
    let output = BufferedOutput()
    var pending: [Sentence] = []
    // Stream: tag each group of `readAhead` sentences as soon as it is read.
    func flush() throws {
      let tokens = try pending.filter { !$0.isDocumentMarker }.map { sentence in
        try sentence.fields.map { fields in
          guard tokenColumn <= fields.count else {
            throw TrellisError(
              file: file == "-" ? "<stdin>" : file, line: sentence.firstLine,
              "--token-column \(tokenColumn) but the line has \(fields.count) columns")
          }
          return fields[tokenColumn - 1]
        }
      }
      var analyses = tagger.analyze(tokens, options: taggingOptions)
        .makeIterator()
      for sentence in pending {
        if sentence.isDocumentMarker {
          // conlleval reads a -DOCSTART- line as a token: copy it, labelled O like its own.
          if outputFormat == .conll {
            output.write((sentence.fields[0] + ["O"] + (confidence ? ["-"] : [])).joined(separator: "\t") + "\n\n")
          }
        } else if let analysis = analyses.next() {
          write(sentence, analysis, to: output)
        }
      }
      pending.removeAll(keepingCapacity: true)
      try output.flush()
    }
    if input == .conll {
      let reader = try CoNLLReader(path: file)
      reader.keepsDocumentMarkers = true
      while let sentence = try reader.next() {
        pending.append(sentence)
        if pending.count == readAhead { try flush() }
      }
    } else {
      let reader = try LineReader(path: file)
      while let line = try reader.next() {
        let tokens = splitColumns(line).map { [$0] }
        pending.append(Sentence(fields: tokens, firstLine: reader.lineNumber))
        if pending.count == readAhead { try flush() }
      }
    }
    try flush()
  }

  func write(_ sentence: Sentence, _ analysis: Analysis, to output: BufferedOutput) {
    switch outputFormat {
    case .conll:
      for (t, fields) in sentence.fields.enumerated() {
        var columns = fields + [analysis.labels[t]]
        if confidence {
          columns.append(analysis.tokenConfidences.map { String(format: "%.4f", $0[t]) } ?? "-")
        }
        output.write(columns.joined(separator: "\t") + "\n")
      }
      output.write("\n")
    case .text:
      func pairs(_ labels: [String]) -> String {
        zip(analysis.tokens, labels).map { "\($0)/\($1)" }.joined(separator: " ")
      }
      if analysis.alternatives.isEmpty {
        output.write(pairs(analysis.labels) + "\n")
      } else {
        for alternative in analysis.alternatives {
          let probability = alternative.probability.map { String(format: "%.6f", $0) } ?? "-"
          output.write(String(format: "%.4f", alternative.score) + "\t\(probability)\t" + pairs(alternative.labels) + "\n")
        }
        output.write("\n")
      }
    case .json:
      output.write(jsonLine(analysis) + "\n")
    }
  }

  func jsonLine(_ analysis: Analysis) -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    return String(decoding: (try? encoder.encode(analysis)) ?? Data("{}".utf8), as: UTF8.self)
  }
}

/// Collects output into 64 KiB writes to standard output. A failed write is kept and thrown by
/// the next `flush()`, so the tagging loop stops at its next batch.
final class BufferedOutput {
  private var buffer = Data()
  private var failure: Error?

  func write(_ text: String) {
    buffer.append(contentsOf: text.utf8)
    if buffer.count >= 1 << 16 { writeBuffer() }
  }

  func flush() throws {
    writeBuffer()
    if let failure { throw failure }
  }

  private func writeBuffer() {
    guard failure == nil else { return buffer.removeAll(keepingCapacity: true) }
    do { try StandardStreams.write(buffer) } catch { failure = error }
    buffer.removeAll(keepingCapacity: true)
  }
}
