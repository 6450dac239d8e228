import ConllEval
import Dispatch
import Foundation
import Trellis

extension Bench {
  /// The figures of `trellis bench --model`, printed as one JSON object.
  struct TaggingFigures: Codable {
    var model: String
    var test: String
    var sentences: Int
    var tokens: Int
    var batchSize: Int
    var blasCore: String
    /// Each run's tokens/s, in order.
    var runs: [Double]
    var medianTokensPerSecond: Double
    /// `TaggerModel.tagJSONLines` on the same sentences as requests of tokens: tokens/s of
    /// each run and their median.
    var jsonLinesRuns: [Double]
    var jsonLinesMedianTokensPerSecond: Double
  }

  /// `--model`: tokens/s of `TaggerModel.tag` (labels only, the library's own call) on the
  /// sentences of `--test`, the Swift figure other front ends (the Python package,
  /// `make python-bench`) are compared with; then of `TaggerModel.tagJSONLines` on them as
  /// requests of tokens (parsing, tagging and answers with spans: `tag --input jsonl`'s work
  /// in-process). One untimed run of each first fills the workspaces.
  func measureTaggingOnly(model path: String) throws {
    let model = try ModelFile.read(from: path)
    let file = testFile
    let reader = try CoNLLReader(path: file)
    let read = try reader.readAll()
    try TaggerModel.checkSentenceLengths(
      of: read, file: reader.fileName, labelCount: model.labels.count)
    let sentences = read.map(\.tokens)
    let tokens = sentences.reduce(0) { $0 + $1.count }
    let options = TaggingOptions(batchSize: batchSize)
    let requests = sentences.map { "{\"tokens\":[\($0.map(jsonString).joined(separator: ","))]}" }
    let runs = tokensPerSecond(tokens) { _ = model.tag(sentences, options: options) }
    let jsonLinesRuns = try tokensPerSecond(tokens) {
      _ = try model.tagJSONLines(requests, options: options)
    }
    let figures = TaggingFigures(
      model: path, test: file, sentences: sentences.count, tokens: tokens, batchSize: batchSize,
      blasCore: blasCoreName(), runs: runs, medianTokensPerSecond: median(runs),
      jsonLinesRuns: jsonLinesRuns, jsonLinesMedianTokensPerSecond: median(jsonLinesRuns))
    print(
      "TaggerModel.tag: \(sentences.count) sentences, \(tokens) tokens of \(file), batch size "
        + "\(batchSize), OpenBLAS core \(figures.blasCore)")
    for (label, median, runs) in [
      ("tokens/s  ", figures.medianTokensPerSecond, runs),
      ("JSON lines", figures.jsonLinesMedianTokensPerSecond, jsonLinesRuns),
    ] {
      print(
        String(
          format: "%@   median %.0f   runs %@", label, median,
          runs.map { String(format: "%.0f", $0) }.joined(separator: " ")))
    }
    try report(figures)
  }

  /// Tokens/s of each of `repetitions` timed calls of `work` over `tokens` tokens, after one
  /// untimed call.
  private func tokensPerSecond(_ tokens: Int, _ work: () throws -> Void) rethrows -> [Double] {
    try work()
    return try (0..<repetitions).map { _ in
      let started = DispatchTime.now().uptimeNanoseconds
      try work()
      let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) * 1e-9
      return Double(tokens) / seconds
    }
  }
}
