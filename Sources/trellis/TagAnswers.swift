import Foundation
import Trellis

extension Tag {
  /// Writes the answers to `sentences` (document markers included, which have no analysis).
  func write(
    _ sentences: [SentenceLines], _ analyses: [Analysis], to output: StandardOutput,
    fileName: String, tokenColumns: TokenLineColumns
  ) throws {
    let (format, confidence) = (outputFormat, self.confidence)  // once per group (`tokenInputs`)
    if let tokens = sentences.first(where: { !$0.isDocumentMarker }) {
      tokenColumns.count = tokens.fieldsPerLine
    }
    var analyses = analyses.makeIterator()
    // The markers held for the column count come first, without copying the group to join them.
    if let columns = tokenColumns.count, !tokenColumns.heldMarkers.isEmpty {
      for marker in tokenColumns.heldMarkers { writeMarker(marker, columns: columns, to: output) }
      tokenColumns.heldMarkers = []
    }
    for sentence in sentences {
      if sentence.isDocumentMarker {
        if format == .conll {
          guard tokenColumns.count != nil else {
            tokenColumns.heldMarkers.append(sentence)
            continue
          }
          writeMarker(sentence, columns: tokenColumns.count, to: output)
        }
      } else if let analysis = analyses.next() {
        try write(
          sentence, analysis, format: format, confidence: confidence, to: output,
          fileName: fileName)
      }
    }
    try output.endBatch()
  }

  /// Writes a `-DOCSTART-` line. conlleval reads one as a token labelled O, and refuses a file
  /// whose lines' column counts differ: copied when its columns are the token lines' (`columns`;
  /// nil: none read), otherwise written as -DOCSTART- and O in each of their other columns.
  func writeMarker(_ marker: SentenceLines, columns: Int? = nil, to output: StandardOutput) {
    let confidence = self.confidence
    output.append { bytes in
      if let columns, columns != marker.fieldsPerLine {
        bytes += "-DOCSTART-\t".utf8
        for _ in 1..<columns { bytes += "O\t".utf8 }
      } else {
        bytes += marker.text
      }
      bytes += (confidence ? "O\t-\n\n" : "O\n\n").utf8
    }
  }

  /// Writes one sentence's answer in `format`: CoNLL lines (each input line, its label and
  /// with `confidence` its marginal), a text line, or a JSON line.
  func write(
    _ sentence: SentenceLines, _ analysis: Analysis, format: OutputFormat, confidence: Bool,
    to output: StandardOutput, fileName: String
  ) throws {
    // A damaged model's scores can leave numbers that are not finite; JSON cannot hold them,
    // and CoNLL and text answers refuse them alike rather than print "nan".
    // Checked without building an array: this runs for every sentence tagged.
    let isFinite =
      (analysis.tokenConfidences?.allSatisfy(\.isFinite) ?? true)
      && (analysis.sequenceProbability?.isFinite ?? true)
      && analysis.alternatives.allSatisfy { $0.score.isFinite && $0.probability?.isFinite != false }
    guard isFinite else {
      throw TrellisError(
        file: fileName, line: sentence.firstLine,
        "cannot write the answer: the model's scores give a number that is not finite "
          + "(a damaged model?)")
    }
    switch format {
    case .conll:
      /// Line `t`'s label (and confidence) and its end.
      func appendAnswer(line t: Int, to bytes: inout [UInt8]) {
        withUTF8Bytes(of: analysis.labels[t]) { bytes.append(contentsOf: $0) }
        if confidence {
          bytes.append(UInt8(ascii: "\t"))
          bytes.append(
            contentsOf: (analysis.tokenConfidences.map { String(format: "%.4f", $0[t]) } ?? "-")
              .utf8)
        }
        bytes.append(UInt8(ascii: "\n"))
      }
      // Each line's bytes as read, then its answer, the whole sentence in one access to the
      // output buffer and one to the lines (a slice of them per line updated a reference count).
      output.append { bytes in
        sentence.text.withUnsafeBufferPointer { text in
          for t in 0..<sentence.count {
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: text[sentence.lineBytes(t)]))
            appendAnswer(line: t, to: &bytes)
          }
        }
        bytes.append(UInt8(ascii: "\n"))
      }
    case .text:
      writeText(analysis, to: output)
    case .json:
      // The JSON-lines answer to the same tokens, so both inputs share one schema.
      let response = TaggingResponse(
        request: TaggingRequest(tokens: analysis.tokens), analysis: analysis)
      do {
        output.write(try response.jsonLine() + "\n")
      } catch {
        throw TrellisError(
          file: fileName, line: sentence.firstLine, "cannot write the answer: \(error)")
      }
    }
  }

  /// A text answer: `token/LABEL` pairs on one line, or with `--nbest` a line per alternative
  /// (score, probability, pairs) and a blank line.
  func writeText(_ analysis: Analysis, to output: StandardOutput) {
    // The pairs and their line, byte by byte into the buffer as CoNLL answers are: an
    // interpolated string per token, then their join, was most of writing a text answer.
    func appendLine(_ labels: [String], to bytes: inout [UInt8]) {
      for (t, (token, label)) in zip(analysis.tokens, labels).enumerated() {
        if t > 0 { bytes.append(UInt8(ascii: " ")) }
        withUTF8Bytes(of: token) { bytes.append(contentsOf: $0) }
        bytes.append(UInt8(ascii: "/"))
        withUTF8Bytes(of: label) { bytes.append(contentsOf: $0) }
      }
      bytes.append(UInt8(ascii: "\n"))
    }
    output.append { bytes in
      guard !analysis.alternatives.isEmpty else { return appendLine(analysis.labels, to: &bytes) }
      for alternative in analysis.alternatives {
        let probability = alternative.probability.map { String(format: "%.6f", $0) } ?? "-"
        bytes += (String(format: "%.4f", alternative.score) + "\t\(probability)\t").utf8
        appendLine(alternative.labels, to: &bytes)
      }
      bytes.append(UInt8(ascii: "\n"))
    }
  }
}

/// The column count of a CoNLL input's token lines (one for the whole file), once `tag` has
/// read one: the columns its copies of `-DOCSTART-` lines take. Nil before the first.
final class TokenLineColumns {
  var count: Int?
  /// The `-DOCSTART-` lines read before the first token line, written once `count` is known:
  /// one answered alone was copied as it was, and `score` refused the output's column counts.
  var heldMarkers: [SentenceLines] = []
}
