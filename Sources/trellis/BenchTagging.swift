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
  }

  /// `--model`: tokens/s of `TaggerModel.tag` (labels only, the library's own call) on the
  /// sentences of `--test`, the Swift figure other front ends (the Python package,
  /// `make python-bench`) are compared with. One untimed run first fills the workspaces.
  func measureTaggingOnly(model path: String) throws {
    let model = try ModelFile.read(from: path)
    let file = test ?? "\(corpus)/test.conll"
    let sentences = try CoNLLReader(path: file).readAll().map(\.tokens)
    let tokens = sentences.reduce(0) { $0 + $1.count }
    let options = TaggingOptions(batchSize: batchSize)
    _ = model.tag(sentences, options: options)
    let runs = (0..<repetitions).map { _ in
      let started = DispatchTime.now().uptimeNanoseconds
      _ = model.tag(sentences, options: options)
      let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) * 1e-9
      return Double(tokens) / seconds
    }
    let figures = TaggingFigures(
      model: path, test: file, sentences: sentences.count, tokens: tokens, batchSize: batchSize,
      blasCore: blasCoreName(), runs: runs, medianTokensPerSecond: median(runs))
    print(
      "TaggerModel.tag: \(sentences.count) sentences, \(tokens) tokens of \(file), batch size "
        + "\(batchSize), OpenBLAS core \(figures.blasCore)")
    print(
      String(
        format: "tokens/s   median %.0f   runs %@", figures.medianTokensPerSecond,
        runs.map { String(format: "%.0f", $0) }.joined(separator: " ")))
    try report(figures)
  }
}
