/// Inverted dropout in place: keeps each of `count` values with probability 1 − p, scaled by
/// 1/(1 − p), so tagging needs no rescaling; `mask` (count) keeps the factors (0 or 1/(1 − p))
/// for the backward pass, which multiplies the incoming gradient by the same mask. Value k is
/// dropped when the k-th `rng.nextUnitFloat()` is below p (the dropout kernel draws them, 8 at
/// a time), and `rng` ends past all `count` draws.
///
/// `concurrently`: the second half on the pair's second thread, its draws from `rng` advanced
/// past the first half's, so the bits are one pass's. At AVX2 training's calls on one thread
/// took 1.7% of the calling thread's samples (`perf record -g` of a training), with the second
/// thread idle meanwhile.
func applyDropout(
  _ values: UnsafeMutablePointer<Float>, mask: UnsafeMutablePointer<Float>, count: Int,
  rate p: Float, rng: inout SplitMix64, concurrently: Bool = false
) {
  let start = rng
  let minimum = concurrently ? dropoutValuesWorthTwoThreads : Int.max
  ThreadPair.shared.inHalves(of: count, from: minimum) { range in
    var state = start.advanced(by: range.lowerBound).state
    let first = range.lowerBound
    kernels.dropout(values + first, mask + first, range.count, p, 1 / (1 - p), &state)
  }
  rng = start.advanced(by: count)
}

/// Below this many values dropout stays on one thread. Each value costs a SplitMix64 hash (two
/// 64-bit multiplies) besides its load and store, far more than a pass that only moves values,
/// so dropout is split from fewer values than `ParameterStore.countWorthTwoThreads`.
let dropoutValuesWorthTwoThreads = 8192

/// Variational dropout (Gal & Ghahramani 2016) over time-major rows `t·B + b` of `width`
/// values: one mask per sentence, drawn for step 0 and applied at every step, so a dropped
/// unit stays dropped for the whole sentence (Reimers & Gurevych 2017 found this better than
/// a fresh mask per token on every sequence-labelling task they measured). It masks what
/// plain dropout masks, the embeddings and each encoder layer's outputs; the recurrent state
/// h_{t−1} that each direction reads at each step gets a mask of its own, as Gal & Ghahramani
/// (and Keras's `recurrent_dropout`, which Reimers & Gurevych used) drop it too
/// (`RecurrentWorkspace.recurrentMask`). `mask` (T·B, width)
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
/// `concurrently`: in halves on the thread pair, as `ParameterStore.inParts` splits a pass over
/// the parameters (a training batch's masks: T·B rows of 100 or 200 values at the defaults).
func applyDropoutMask(
  _ mask: UnsafePointer<Float>, to gradient: UnsafeMutablePointer<Float>, count: Int,
  concurrently: Bool = false
) {
  let minimum = concurrently ? ParameterStore.countWorthTwoThreads : Int.max
  ThreadPair.shared.inHalves(of: count, from: minimum) { range in
    for k in range { gradient[k] *= mask[k] }
  }
}
