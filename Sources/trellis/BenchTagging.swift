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
    /// each run and their median; nil (left out) for a model that reads feature columns,
    /// which requests cannot carry.
    var jsonLinesRuns: [Double]?
    var jsonLinesMedianTokensPerSecond: Double?
  }

  /// `--model`: tokens/s of `TaggerModel.tag` (labels only, the library's own call) on the
  /// sentences of `--test` (`readInputs`), the Swift figure other front ends (the Python package,
  /// `make python-bench`) are compared with; then of `TaggerModel.tagJSONLines` on them as
  /// requests of tokens (parsing, tagging and answers with spans: `tag --input jsonl`'s work
  /// in-process). One untimed run of each first fills the workspaces.
  func measureTaggingOnly(model path: String) throws {
    let model = try ModelFile.read(from: path)
    let file = testFile
    let inputs = try readInputs(for: model, at: path)
    let tokens = inputs.reduce(0) { $0 + $1.tokens.count }
    let options = TaggingOptions(batchSize: batchSize)
    let runs = tokensPerSecond(tokens) { _ = model.tag(inputs, options: options) }
    var jsonLinesRuns: [Double]?
    if model.configuration.featureColumns.isEmpty {
      let requests = inputs.map {
        "{\"tokens\":[\($0.tokens.map(jsonString).joined(separator: ","))]}"
      }
      jsonLinesRuns = try tokensPerSecond(tokens) {
        _ = try model.tagJSONLines(requests, options: options)
      }
    } else {
      printError(
        "note: \(path) reads feature columns, which JSON-lines requests cannot carry; the "
          + "JSON-lines figure is left out")
    }
    let figures = TaggingFigures(
      model: path, test: file, sentences: inputs.count, tokens: tokens, batchSize: batchSize,
      blasCore: blasCoreName(), runs: runs, medianTokensPerSecond: median(runs),
      jsonLinesRuns: jsonLinesRuns, jsonLinesMedianTokensPerSecond: jsonLinesRuns.map(median))
    print(
      "TaggerModel.tag: \(inputs.count) sentences, \(tokens) tokens of \(file), batch size "
        + "\(batchSize), OpenBLAS core \(figures.blasCore)")
    for (label, runs) in [("tokens/s  ", runs), ("JSON lines", jsonLinesRuns)] {
      guard let runs else { continue }
      print(
        String(
          format: "%@   median %.0f   runs %@", label, median(runs),
          runs.map { String(format: "%.0f", $0) }.joined(separator: " ")))
    }
    try report(figures)
  }

  /// The model's inputs in `--test`, as `tag` reads them: the tokens of `--token-column` and
  /// the model's feature columns. Only the first column was read, so a model trained on
  /// another column was timed on the wrong words, and one with feature columns on unknown
  /// features, before its JSON-lines half failed.
  private func readInputs(for model: TaggerModel, at path: String) throws -> [TokenInput] {
    let featureColumns = model.configuration.featureColumns.map(\.column)
    let tokenColumn = InputTokenColumn(
      given: self.tokenColumn, of: model, at: path, readsColumns: true)
    try refuseFeatureAtTokenColumn(tokenColumn.column, of: model, at: path)
    tokenColumn.note()
    let reader = try CoNLLReader(path: testFile)
    let read = try reader.readAll()
    // Every line has the first's columns (the reader checks); refused as `tag` refuses it.
    if let first = read.first,
      let missing = missingColumn(
        fieldCount: first.fields[0].count, tokenColumn: tokenColumn,
        featureColumns: featureColumns)
    {
      throw TrellisError(file: reader.fileName, line: first.firstLine, missing)
    }
    try TaggerModel.checkSentenceLengths(
      of: read, file: reader.fileName, labelCount: model.labels.count)
    return read.map { sentence in
      TokenInput(
        tokens: sentence.fields.map { $0[tokenColumn.column - 1] },
        features: featureColumns.map { column in sentence.fields.map { $0[column - 1] } })
    }
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
