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
