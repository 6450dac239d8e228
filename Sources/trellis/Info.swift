import ArgumentParser
import Foundation
import Trellis

struct Info: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "info",
    abstract:
      "Show what a model file records: how it was trained, from which data, and how good it was.")

  @Argument(help: "The model file.") var model: String
  @Flag(help: "Print the same as one JSON object.") var json = false
  @Flag(
    help:
      "Print the training recipe as a --config file: 'trellis train --config FILE' retrains the model from the same data files."
  )
  var config = false

  func validate() throws {
    guard !(json && config) else { throw ValidationError("give --json or --config, not both") }
  }

  func run() throws {
    try FileRoles(inputs: [("MODEL", model)]).check()
    let trained = try ModelFile.read(from: model)
    if config {
      guard let provenance = trained.provenance else {
        throw TrellisError(
          file: model, "records no training recipe (format 1, written before provenance)")
      }
      return print(try provenance.configFile.json())
    }
    let report = ModelDescription(model: trained, file: model)
    if json {
      let encoder = JSONEncoder()
      encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
      print(String(decoding: try encoder.encode(report), as: UTF8.self))
    } else {
      print(text(report), terminator: "")
    }
  }

  func text(_ report: ModelDescription) -> String {
    var lines = [
      "model       \(report.file) (\(report.fileBytes) bytes, format \(report.formatVersion))",
      "parameters  \(report.parameters)",
      "encoder     \(report.configuration.encoder), head \(report.configuration.head), embeddings "
        + "\(report.configuration.embeddingSize), hidden \(report.configuration.hiddenSize), window "
        + "\(report.configuration.window), character filters \(report.configuration.characterFilters)"
        + (report.configuration.layers > 1 ? ", \(report.configuration.layers) layers" : ""),
      TaggerModel.areRaw(report.labels)
        ? "scheme      none: no label has a chunk prefix, each is a one-token chunk (conlleval -r)"
        : "scheme      \(report.configuration.scheme.rawValue)"
          + (report.configuration.trainingScheme.map { " (trained in \($0.rawValue))" } ?? ""),
      "labels      \(report.labels.count): \(report.labels.joined(separator: " "))",
    ]
    if report.outputLabels != report.labels {
      lines.append(
        "answers in  \(report.outputLabels.count): \(report.outputLabels.joined(separator: " "))")
    }
    if let provenance = report.provenance {
      let built = provenance.buildCommit.map { " (commit \($0))" } ?? ""
      lines.append("trellis     \(provenance.trellisVersion)\(built)")
      let options = provenance.recipe.options
      lines.append(
        "training    seed \(options.seed), \(options.optimizer) lr \(options.initialLearningRate), "
          + "batch \(options.batchSize), dropout \(options.dropout)"
          + (options.variationalDropout ? " (one mask per sentence)" : "")
          + ", epochs \(provenance.training.epochsRun) run of "
          + "\(options.epochs), selected epoch \(provenance.training.selectedEpoch)")
      for input in provenance.inputs {
        let counts = input.sentences.map { ", \($0) sentences, \(input.tokens ?? 0) tokens" } ?? ""
        lines.append(
          "\(input.role.padding(toLength: 12, withPad: " ", startingAt: 0))\(input.path) (\(input.bytes) bytes\(counts))"
        )
        lines.append("            sha256 \(input.sha256)")
      }
      if let dev = provenance.training.dev {
        lines.append(
          String(
            format: "dev score   FB1 %.2f, precision %.2f, recall %.2f, accuracy %.2f", dev.f1,
            dev.precision, dev.recall, dev.accuracy))
        lines.append(
          "dev FB1     "
            + provenance.training.devF1History.map { String(format: "%.2f", $0) }.joined(
              separator: " "))
      }
      if let note = provenance.note { lines.append("note        \(note)") }
      // Every setting of the recipe, as `--json` holds them (the lines above pick the main ones).
      let recipe = provenance.recipe
      for (name, value) in [
        ("data", jsonMembers(of: recipe.data)), ("config", jsonMembers(of: recipe.configuration)),
        ("options", jsonMembers(of: recipe.options)),
      ] {
        let settings = value.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }
        lines += wrapped(settings, first: name.padding(toLength: 12, withPad: " ", startingAt: 0))
      }
    }
    lines += report.missing.map { "missing     \($0)" }
    return lines.map(visibleControlCharacters).joined(separator: "\n") + "\n"
  }

  /// `items` joined by ", " into lines of at most 100 characters where they fit, the first
  /// line starting with `first`, the others indented as far.
  func wrapped(_ items: [String], first: String) -> [String] {
    var lines = [first]
    for (index, item) in items.enumerated() {
      let piece = item + (index + 1 < items.count ? "," : "")
      if lines[lines.count - 1].count > first.count
        && lines[lines.count - 1].count + 1 + piece.count > 100
      {
        lines.append(String(repeating: " ", count: first.count))
      }
      let last = lines[lines.count - 1]
      lines[lines.count - 1] = last + (last.count > first.count ? " " : "") + piece
    }
    return lines
  }
}
