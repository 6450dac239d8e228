import ArgumentParser
import ConllEval
import Foundation
import Trellis

struct Eval: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Tag a labelled CoNLL file and score it against its last column, as conlleval does.")

  @Option(help: "The model file.") var model: String
  @Option(help: "Labelled CoNLL data.") var test: String
  @Flag(help: "Print the scores as JSON instead of conlleval's report.") var json = false

  func run() throws {
    let tagger = try ModelFile.read(from: model)
    let sentences = try readLabelledCoNLL(path: test)
    let counts = tagger.evaluate(sentences)
    print(json ? counts.json() : counts.report(), terminator: "")
  }
}

struct Score: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "conlleval: score lines whose last two columns are the gold and predicted labels.")

  @Argument(help: "Input file; '-' or nothing reads standard input.") var file: String = "-"
  @Flag(help: "Print the scores as JSON.") var json = false

  func run() throws {
    let data: Data
    if file == "-" {
      data = FileHandle.standardInput.readDataToEndOfFile()
    } else {
      var isDirectory: ObjCBool = false
      guard FileManager.default.fileExists(atPath: file, isDirectory: &isDirectory), !isDirectory.boolValue,
        let contents = FileManager.default.contents(atPath: file)
      else { throw TrellisError(file: file, "cannot be read (missing, a directory, or no permission)") }
      data = contents
    }
    guard let text = String(data: data, encoding: .utf8) else {
      throw TrellisError(file: file == "-" ? "<stdin>" : file, "is not valid UTF-8")
    }
    let counts = try scoreConll(text: text, fileName: file == "-" ? "<stdin>" : file)
    print(json ? counts.json() : counts.report(), terminator: "")
  }
}
