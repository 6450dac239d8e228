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

/// Variational dropout (Gal & Ghahramani 2016) over time-major rows `t·B + b` of `width`
/// values: one mask per sentence, drawn for step 0 and applied at every step, so a dropped
/// unit stays dropped for the whole sentence (Reimers & Gurevych 2017 found this better than
/// a fresh mask per token on every sequence-labelling task they measured). `mask` (T·B, width)
/// holds the mask repeated at every step, so the backward pass is `applyDropoutMask`'s.
func applySentenceDropout(
  _ values: UnsafeMutablePointer<Float>, mask: UnsafeMutablePointer<Float>, steps T: Int,
  batch B: Int, width: Int, rate p: Float, rng: inout SplitMix64
) {
  let block = B * width
  guard T > 0, block > 0 else { return }
  applyDropout(values, mask: mask, count: block, rate: p, rng: &rng)
  for s in 1..<T {
    let stepMask = mask + s * block
    let stepValues = values + s * block
    stepMask.update(from: mask, count: block)
    for k in 0..<block { stepValues[k] *= stepMask[k] }
  }
}

/// `gradient[k] *= mask[k]`: the backward pass of `applyDropout`.
func applyDropoutMask(
  _ mask: UnsafePointer<Float>, to gradient: UnsafeMutablePointer<Float>, count: Int
) {
  for k in 0..<count { gradient[k] *= mask[k] }
}
