import Foundation

// `error.localizedDescription`, the usual way a Swift program prints an error, gave Foundation's
// "The operation could not be completed. (Trellis.TrellisError error 1.)" on Linux for these
// errors, which carry their message as `description`. ConllEval's error says the same in its
// own module.

extension TrellisError: LocalizedError {
  /// The message, as `description` gives it.
  public var errorDescription: String? { description }
}

extension OptionError: LocalizedError {
  /// The message, as `description` gives it.
  public var errorDescription: String? { description }
}

extension JSONLineError: LocalizedError {
  /// The message, as `description` gives it.
  public var errorDescription: String? { description }
}

extension FeatureColumnsMissing: LocalizedError {
  /// The message, as `description` gives it.
  public var errorDescription: String? { description }
}

extension TrainingFailure: LocalizedError {
  /// The message, as `description` gives it.
  public var errorDescription: String? { description }
}

extension BLASUnavailable: LocalizedError {
  /// The message, as `description` gives it.
  public var errorDescription: String? { description }
}
