import Foundation

/// What a model file records, as `trellis info --json`, the HTTP service's `GET /v1/model` and
/// the tools built on them show it: one definition for all of them.
public struct ModelDescription: Codable, Equatable, Sendable {
  /// The model file's path as given.
  public var file: String
  /// The file's size in bytes, through symbolic links; 0 when it cannot be read.
  public var fileBytes: Int
  /// The format version of the file (`TaggerModel.formatVersion`).
  public var formatVersion: UInt32
  /// The number of trainable parameters (`TaggerModel.parameterCount`).
  public var parameters: Int
  /// The labels the model assigns, in id order.
  public var labels: [String]
  /// The labels answers can hold (`TaggerModel.outputLabels`): `labels`, or for a model
  /// trained in another scheme than its data's, the data's.
  public var outputLabels: [String]
  /// The label of a span that starts with each of `outputLabels` (`TaggerModel.spanLabels`).
  public var spanLabels: [String]
  /// Whether the head defines p(labels | x), so answers can have confidences and n-best
  /// probabilities (the CRF and softmax heads).
  public var definesProbabilities: Bool
  /// The architecture the model was built with.
  public var configuration: TaggerConfiguration
  /// Where the model came from; nil when the file records none (`missing` says why).
  public var provenance: Provenance?
  /// What a file of an older format lacks.
  public var missing: [String]

  /// Describes `model`, read from `file`.
  public init(model: TaggerModel, file: String) {
    self.file = file
    // stat(2) follows a symbolic link to the file that was read (Foundation's attributes are
    // lstat(2)'s: a link's own few bytes).
    var info = stat()
    fileBytes = stat(file, &info) == 0 ? Int(info.st_size) : 0
    formatVersion = model.formatVersion
    parameters = model.parameterCount
    labels = model.labels.strings
    outputLabels = model.outputLabels
    spanLabels = model.spanLabels
    definesProbabilities = model.definesProbabilities
    configuration = model.configuration
    provenance = model.provenance
    missing =
      model.provenance == nil
      ? [
        "provenance (Trellis version, training settings, data files and checksums, dev scores): "
          + "the file predates format version 2 or was written by a program, not trellis train"
      ] : []
  }

  /// One line of JSON, keys sorted, and a newline.
  public func jsonLine() throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    return String(decoding: try encoder.encode(self), as: UTF8.self) + "\n"
  }
}
