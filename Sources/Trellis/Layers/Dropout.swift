/// Inverted dropout in place: keeps each of `count` values with probability 1 − p, scaled by
/// 1/(1 − p), so tagging needs no rescaling; `mask` (count) keeps the factors (0 or 1/(1 − p))
/// for the backward pass, which multiplies the incoming gradient by the same mask. Value k is
/// dropped when the k-th `rng.nextUnitFloat()` is below p (the dropout kernel draws them, 8 at
/// a time, and advances `rng` past them).
func applyDropout(
  _ values: UnsafeMutablePointer<Float>, mask: UnsafeMutablePointer<Float>, count: Int,
  rate p: Float,
  rng: inout SplitMix64
) {
  var state = rng.state
  kernels.dropout(values, mask, count, p, 1 / (1 - p), &state)
  rng = SplitMix64(seed: state)
}

/// `gradient[k] *= mask[k]`: the backward pass of `applyDropout`.
func applyDropoutMask(
  _ mask: UnsafePointer<Float>, to gradient: UnsafeMutablePointer<Float>, count: Int
) {
  for k in 0..<count { gradient[k] *= mask[k] }
}
