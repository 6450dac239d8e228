import Foundation

// `error.localizedDescription`, the usual way a Swift program prints an error, gave Foundation's
// "The operation could not be completed. (Trellis.TrellisError error 1.)" on Linux for these
// errors, which carry their message as `description`. ConllEval's error and the HTTP service's
// say the same in their own modules.

/// An error whose message is its `description`, which `localizedDescription` then gives too.
protocol DescribedError: LocalizedError, CustomStringConvertible {}

extension DescribedError {
  /// The message, as `description` gives it.
  public var errorDescription: String? { description }
}

extension TrellisError: DescribedError {}
extension OptionError: DescribedError {}
extension JSONLineError: DescribedError {}
extension FeatureColumnsMissing: DescribedError {}
extension TrainingFailure: DescribedError {}
extension BLASUnavailable: DescribedError {}
extension NonFiniteNumber: DescribedError {}

/// `text` with every control character written as an escape (`\u{1B}`, `\u{A}`): paths,
/// labels and notes come from whoever named the file or made the model, and an escape
/// sequence in one would otherwise drive the terminal that shows a message, a line feed
/// start a line of its own that reads as another message (`Error: …`).
package func visibleControlCharacters(_ text: String) -> String {
  guard text.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
    return text
  }
  var result = String.UnicodeScalarView()
  for scalar in text.unicodeScalars {
    if scalar.properties.generalCategory == .control {
      result.append(
        contentsOf: "\\u{\(String(scalar.value, radix: 16, uppercase: true))}".unicodeScalars)
    } else {
      result.append(scalar)
    }
  }
  return String(result)
}
