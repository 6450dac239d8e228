/// What a diverged run's error advises.
let divergenceAdvice = "lower --learning-rate or keep --clip on"

/// The error that ends a diverged run: `which` batches of (0-based) `epoch` were non-finite.
func divergenceError(_ which: String, _ epoch: Int) -> TrainingFailure {
  TrainingFailure(
    "\(which) of epoch \(epoch + 1) gave a non-finite loss or gradient; \(divergenceAdvice)")
}

/// Counts training batches in a row whose loss or gradient norm is non-finite, which are
/// skipped instead of stepped (a NaN step would spoil every parameter), and gives up at
/// `limit` of them: one bad batch is an outlier, twenty in a row a diverged run.
struct ConsecutiveFaults {
  static let limit = 20
  private(set) var count = 0

  /// Whether the batch with this loss and gradient norm may be stepped: both finite. A
  /// finite batch starts the count again; the `limit`-th non-finite one in a row throws.
  mutating func admits(loss: Double, norm: Double, epoch: Int) throws -> Bool {
    guard loss.isFinite, norm.isFinite else {
      count += 1
      if count >= Self.limit { throw divergenceError("\(Self.limit) batches in a row", epoch) }
      return false
    }
    count = 0
    return true
  }
}
