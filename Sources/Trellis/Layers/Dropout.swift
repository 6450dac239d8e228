/// Inverted dropout in place: keeps each of `count` values with probability 1 − p, scaled by
/// 1/(1 − p), so tagging needs no rescaling; `mask` (count) keeps the factors (0 or 1/(1 − p))
/// for the backward pass, which multiplies the incoming gradient by the same mask.
func applyDropout(
  _ values: UnsafeMutablePointer<Float>, mask: UnsafeMutablePointer<Float>, count: Int,
  rate p: Float,
  rng: inout SplitMix64
) {
  let scale = 1 / (1 - p)
  for k in 0..<count {
    mask[k] = rng.nextUnitFloat() < p ? 0 : scale
    values[k] *= mask[k]
  }
}

/// `gradient[k] *= mask[k]`: the backward pass of `applyDropout`.
func applyDropoutMask(
  _ mask: UnsafePointer<Float>, to gradient: UnsafeMutablePointer<Float>, count: Int
) {
  for k in 0..<count { gradient[k] *= mask[k] }
}
