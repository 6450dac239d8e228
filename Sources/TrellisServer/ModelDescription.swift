import Foundation
import Trellis

/// The `GET /v1/model` answer: the fields of `trellis info --json`, with the same names, but for
/// `missing` (`provenance` is left out for a file that predates it).
struct ModelDescription: Encodable {
  var file: String
  var fileBytes: Int
  var formatVersion: UInt32
  var parameters: Int
  var labels: [String]
  var configuration: TaggerConfiguration
  var provenance: Provenance?

  init(model: TaggerModel, file: String) {
    self.file = file
    fileBytes = (try? FileManager.default.attributesOfItem(atPath: file)[.size] as? Int) ?? 0
    formatVersion = model.formatVersion
    parameters = model.store.count
    labels = model.labels.strings
    configuration = model.configuration
    provenance = model.provenance
  }

  /// One line of JSON, keys sorted, and a newline.
  func json() throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    return String(decoding: try encoder.encode(self), as: UTF8.self) + "\n"
  }
}
