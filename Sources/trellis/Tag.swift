import ArgumentParser
import Foundation
import Trellis

struct Tag: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Tag a CoNLL file (or standard input): each line gets the predicted label as a new last column.")

  @Option(help: "The model file.") var model: String
  @Argument(help: "CoNLL input, token in the first column; '-' or nothing reads standard input.")
  var file: String = "-"

  func run() throws {
    let tagger = try ModelFile.read(from: model)
    let reader = try CoNLLReader(path: file)
    let output = BufferedOutput()
    // Stream: tag one batch as soon as it is read, so memory holds one batch, not the file.
    var pending: [Sentence] = []
    func flush() {
      let predicted = tagger.tag(pending.map(\.tokens))
      for (sentence, labels) in zip(pending, predicted) {
        for (fields, label) in zip(sentence.fields, labels) {
          output.write((fields + [label]).joined(separator: "\t"))
          output.write("\n")
        }
        output.write("\n")
      }
      pending.removeAll(keepingCapacity: true)
    }
    while let sentence = try reader.next() {
      pending.append(sentence)
      if pending.count == TaggerModel.taggingBatchSize { flush() }
    }
    flush()
    output.flush()
  }
}

/// Collects output into 64 KiB writes to standard output.
final class BufferedOutput {
  private var buffer = Data()

  func write(_ text: String) {
    buffer.append(contentsOf: text.utf8)
    if buffer.count >= 1 << 16 { flush() }
  }

  func flush() {
    FileHandle.standardOutput.write(buffer)
    buffer.removeAll(keepingCapacity: true)
  }
}
