import Foundation
import Trellis
import XCTest

/// Runs the README's library example, and checks that every line of the README's Swift block
/// appears in `runExample()` below, so the two cannot drift apart.
final class ReadmeExampleTests: XCTestCase {
  func runExample() throws -> (labels: [String], spans: [Chunk]) {
    let model = try ModelFile.read(from: "models/synthetic.model")
    let labels = model.tag([["show", "me", "flights", "from", "boston", "to", "denver"]])[0]
    let spans = chunks(in: labels)  // [Chunk(type: "fromloc.city_name", start: 4, end: 5), ...]
    return (labels, spans)
  }

  func testReadmeExampleRunsAndIsQuotedVerbatim() throws {
    let readme = try String(
      contentsOf: packageRoot.appendingPathComponent("README.md"), encoding: .utf8)
    let block = try XCTUnwrap(
      readme.components(separatedBy: "```swift\n").dropFirst().first?
        .components(separatedBy: "```").first)
    let source = try String(contentsOfFile: #filePath, encoding: .utf8)
    for line in block.split(separator: "\n") where !line.hasPrefix("import") {
      XCTAssertTrue(source.contains(line), "README line not in the tested example: \(line)")
    }

    // A model trained on the shipped corpus's training split, where the README expects it.
    let directory = temporaryPath("readme")
    try FileManager.default.createDirectory(
      atPath: directory + "/models", withIntermediateDirectories: true)
    var options = TrainingOptions()
    options.epochs = 3
    var configuration = TaggerConfiguration()
    configuration.embeddingSize = 32
    configuration.hiddenSize = 32
    let train = try readLabelledCoNLL(
      path: packageRoot.appendingPathComponent("Corpora/tiny/train.conll").path)
    let model = try Trainer(configuration: configuration, options: options).train(
      train: train, dev: [])
    try ModelFile.write(model, to: directory + "/models/synthetic.model")
    let previous = FileManager.default.currentDirectoryPath
    XCTAssertTrue(FileManager.default.changeCurrentDirectoryPath(directory))
    defer { _ = FileManager.default.changeCurrentDirectoryPath(previous) }

    let (labels, spans) = try runExample()
    XCTAssertEqual(labels.count, 7)
    XCTAssertTrue(labels.allSatisfy { model.labels.id(for: $0) != nil })
    XCTAssertEqual(spans, chunks(in: labels))
  }
}
