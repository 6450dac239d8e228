import Foundation
import Trellis
import XCTest

/// Runs the DocC article's code, and checks that every line of its Swift blocks appears in
/// `runArticle()` below, so the article cannot drift from the API.
final class DocumentationArticleTests: XCTestCase {
  static let article = "Sources/Trellis/Trellis.docc/TrainingTaggingAndSpans.md"

  func runArticle() throws -> (labels: [String], analysis: Analysis, response: TaggingResponse) {
    let train = try readLabelledCoNLL(path: "Corpora/synthetic/train.conll")
    let dev = try readLabelledCoNLL(path: "Corpora/synthetic/dev.conll")

    var configuration = TaggerConfiguration()
    configuration.head = .crf
    var options = TrainingOptions()
    options.epochs = 10
    options.seed = 1
    let trainer = Trainer(configuration: configuration, options: options)
    trainer.onEpoch = { report in print("epoch \(report.epoch): dev F1 \(report.devF1 ?? 0)") }
    let trained = try trainer.train(train: train, dev: dev)
    try FileManager.default.createDirectory(atPath: "models", withIntermediateDirectories: true)
    try ModelFile.write(trained, to: "models/synthetic.model")

    let model = try ModelFile.read(from: "models/synthetic.model")
    let tokens = ["show", "me", "flights", "from", "boston", "to", "denver"]
    let labels = model.tag([tokens])[0]

    let tagging = TaggingOptions(confidence: true, nbest: 3)
    let analysis = model.analyze([tokens], options: tagging)[0]
    for span in analysis.spans {
      print(span.label, span.start..<span.end, span.text)  // e.g. fromloc.city_name 4..<5 boston
    }
    let probability = analysis.sequenceProbability  // nil for the perceptron and SSVM heads
    let runnersUp = analysis.alternatives.dropFirst().map(\.labels)
    XCTAssertNotNil(probability)
    XCTAssertEqual(runnersUp.count, 2)

    let request = TaggingRequest(text: "Flights from Boston to San Francisco, please.")
    let response = model.respond(to: [request], options: TaggingOptions())[0]
    for span in response.analysis.spans {
      print(span.label, span.startChar!, span.endChar!, span.text)
    }

    let test = try readLabelledCoNLL(path: "Corpora/synthetic/test.conll")
    let counts = try model.evaluate(test)
    print("test FB1 \(counts.f1)")
    XCTAssertEqual(counts.tokenCount, test.reduce(0) { $0 + $1.count })
    return (labels, analysis, response)
  }

  /// The article's paths, in a temporary directory that holds the tiny fixtures under the
  /// synthetic corpus's names, so ten epochs take seconds.
  func testArticleRunsAndIsQuotedVerbatim() throws {
    let article = try String(
      contentsOf: packageRoot.appendingPathComponent(Self.article), encoding: .utf8)
    let blocks = article.components(separatedBy: "```swift\n").dropFirst()
      .map { $0.components(separatedBy: "```")[0] }
    XCTAssertEqual(blocks.count, 6)
    let source = try String(contentsOfFile: #filePath, encoding: .utf8)
    for line in blocks.joined().split(separator: "\n") {
      XCTAssertTrue(source.contains(line), "article line not in the tested code: \(line)")
    }

    let directory = temporaryPath("article")
    let corpus = directory + "/Corpora/synthetic"
    try FileManager.default.createDirectory(atPath: corpus, withIntermediateDirectories: true)
    try FileManager.default.createDirectory(
      atPath: directory + "/models", withIntermediateDirectories: true)
    for split in ["train", "dev", "test"] {
      try FileManager.default.copyItem(
        atPath: fixture("\(split).conll"), toPath: "\(corpus)/\(split).conll")
    }
    let previous = FileManager.default.currentDirectoryPath
    XCTAssertTrue(FileManager.default.changeCurrentDirectoryPath(directory))
    defer { _ = FileManager.default.changeCurrentDirectoryPath(previous) }

    let (labels, analysis, response) = try runArticle()
    XCTAssertEqual(labels.count, 7)
    XCTAssertEqual(analysis.labels, labels)
    XCTAssertEqual(analysis.spans.map(\.label), chunks(in: labels).map(\.type))
    let text = Array(try XCTUnwrap(response.request.text).unicodeScalars)
    for span in response.analysis.spans {
      let start = try XCTUnwrap(span.startChar)
      let end = try XCTUnwrap(span.endChar)
      XCTAssertEqual(String(String.UnicodeScalarView(text[start..<end])), span.text)
    }
  }
}
