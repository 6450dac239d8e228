import Foundation

// Legend for the recurrent kernels: B rows (the sentences still running) in a step, H hidden
// units, G gate blocks.
// The layer computes both projections (`packedProduct`); a cell is only the elementwise part
// between them:
//   zx_t = x_t · Wxᵀ + bx      (B, G·H)   one product over all steps, before the time loop
//   zh_t = h_{t−1} · Whᵀ + bh  (B, G·H)   one product per step (bh only where a cell needs it)

/// The elementwise part of a recurrent cell, between the input and recurrent projections.
protocol RecurrentCell: Sendable {
  /// Number of gate blocks `G`: `Wx` is `(G·H, inputSize)` and `Wh` is `(G·H, H)`.
  var gateCount: Int { get }
  /// Floats per row and step kept for the backward pass besides `h_t`, in units of `H`.
  var cacheWidth: Int { get }
  /// Floats per row carried backwards through time besides `∂h`, in units of `H` (LSTM: `∂c`).
  var carryWidth: Int { get }
  /// Whether the recurrent projection has its own bias (GRU's `b_hn` sits inside `r ⊙ (·)`).
  var usesRecurrentBias: Bool { get }
  /// Whether `∂zx = ∂zh` (true unless the recurrent projection is gated separately, as in GRU).
  var sharesPreactivationGradient: Bool { get }

  /// One step: reads `zx` (a G·H row per row), `zh` (rows, G·H) and the previous step's `h`
  /// and cache; writes the step's `h` and cache.
  func forward(_ step: CellStep, zx: StepInput, zh: UnsafePointer<Float>)

  /// One step backwards over what `forward` left in `step` for the same rows; see
  /// `CellGradients` for what it reads and writes.
  func backward(_ step: CellStep, _ gradients: CellGradients)
}

/// Where a step's input projections are, a row of `width` (G·H) floats per row b: `base + b ·
/// width`, or, with `words` (inference from `InputProjectionTables`), the table row of word
/// `words[b]`, read in place rather than copied into a (T·B, G·H) buffer first (that copy was
/// 2.75% of a tagging profile).
struct StepInput {
  let base: UnsafePointer<Float>
  let width: Int
  let words: UnsafePointer<Int32>?

  @inline(__always) func row(_ b: Int) -> UnsafePointer<Float> {
    base + (words.map { Int($0[b]) } ?? b) * width
  }
}

/// One step's activations for `rows` rows of `hidden` units each, as `forward` writes them and
/// `backward` reads them back: `h` (rows, H) and `cache` (rows, cacheWidth·H) of this step, and
/// the previous step's (nil at the first step), of `previousRows` rows whose first `rows` are
/// this step's sentences (`PackedSteps`).
struct CellStep {
  let rows: Int
  let previousRows: Int
  let hidden: Int
  let h: UnsafeMutablePointer<Float>
  let cache: UnsafeMutablePointer<Float>
  let hPrevious: UnsafePointer<Float>?
  let cachePrevious: UnsafePointer<Float>?
}

/// One step's gradients. `dh` (rows, H) is the full ∂loss/∂h_t; `carry` (rows, carryWidth·H)
/// holds the cell's own carried gradient for step t on entry and for step t−1 on exit. A step
/// writes ∂zx and ∂zh (rows, G·H; the same buffer when `sharesPreactivationGradient`), and
/// overwrites `dhPreviousDirect` (rows, H) with the part of ∂h_{t−1} that does not pass
/// through `Wh`. `work` (rows, H) is the cell's to overwrite (LSTM: tanh(c_t) recomputed).
struct CellGradients {
  let dh: UnsafePointer<Float>
  let carry: UnsafeMutablePointer<Float>
  let dzx: UnsafeMutablePointer<Float>
  let dzh: UnsafeMutablePointer<Float>
  let dhPreviousDirect: UnsafeMutablePointer<Float>
  let work: UnsafeMutablePointer<Float>
}

/// The LSTM cell (Hochreiter & Schmidhuber 1997, with forget gate), gate blocks in order i, f, g, o:
///   i = σ(z_i), f = σ(z_f), g = tanh(z_g), o = σ(z_o),  z = zx + zh
///   c_t = f ⊙ c_{t−1} + i ⊙ g,   h_t = o ⊙ tanh(c_t)
/// Step cache: gates (B, 4H) after their nonlinearities, then c (B, H). The backward pass
/// recomputes tanh(c) (the tanh kernel's function, `tanh16`, which `lstm_forward` applies too,
/// on the same values: the same bits) rather than keep it, a sixth of the cache, the largest
/// buffer of training.
/// The additive path through `c` is what keeps gradients from vanishing over long spans.
struct LSTMCell: RecurrentCell {
  var gateCount: Int { 4 }
  var cacheWidth: Int { 5 }
  var carryWidth: Int { 1 }
  var usesRecurrentBias: Bool { false }
  var sharesPreactivationGradient: Bool { true }

  /// One row at a time through the vector kernel `lstm_forward` (the expressions above, with
  /// tanh(z) = 2σ(2z) − 1 for the g block).
  func forward(_ step: CellStep, zx: StepInput, zh: UnsafePointer<Float>) {
    let (B, H, h, cache) = (step.rows, step.hidden, step.h, step.cache)
    let gates = cache
    let c = cache + B * 4 * H
    // c_{t−1} = 0 at the first step: the kernel then forms c = i·g.
    let cPrevious = step.cachePrevious.map { $0 + step.previousRows * 4 * H }
    for b in 0..<B {
      kernels.lstm_forward(
        zx.row(b), zh + b * 4 * H, cPrevious.map { $0 + b * H }, gates + b * 4 * H, c + b * H,
        h + b * H, H)
    }
  }

  // ∂o = ∂h ⊙ tanh(c);  ∂c ← carry + ∂h ⊙ o ⊙ (1 − tanh²c)
  // ∂i = ∂c ⊙ g;  ∂g = ∂c ⊙ i;  ∂f = ∂c ⊙ c_{t−1};  carry ← ∂c ⊙ f
  // ∂z = ∂gate ⊙ σ' or tanh':  σ' = s(1 − s),  tanh' = 1 − g²
  // (the vector kernel `lstm_backward`, which gives its expressions' order).
  func backward(_ step: CellStep, _ gradients: CellGradients) {
    let (B, H, cache) = (step.rows, step.hidden, UnsafePointer(step.cache))
    gradients.dhPreviousDirect.update(repeating: 0, count: B * H)
    let tanhC = gradients.work
    tanh(cache + B * 4 * H, into: tanhC, count: B * H)
    kernels.lstm_backward(
      cache, tanhC, step.cachePrevious.map { $0 + step.previousRows * 4 * H }, gradients.dh,
      gradients.carry, gradients.dzx, B, H)
  }
}

/// The GRU cell (Cho et al. 2014) in PyTorch's form, gate blocks in order r, z, n:
///   r = σ(zx_r + zh_r),  u = σ(zx_z + zh_z),  n = tanh(zx_n + r ⊙ zh_n)
///   h_t = (1 − u) ⊙ n + u ⊙ h_{t−1}
/// `zh` carries its own bias because `r` gates it. Step cache: [r, u, n] (B, 3H), then zh_n (B, H).
struct GRUCell: RecurrentCell {
  var gateCount: Int { 3 }
  var cacheWidth: Int { 4 }
  var carryWidth: Int { 0 }
  var usesRecurrentBias: Bool { true }
  var sharesPreactivationGradient: Bool { false }

  func forward(_ step: CellStep, zx: StepInput, zh: UnsafePointer<Float>) {
    let (B, H, h, cache) = (step.rows, step.hidden, step.h, step.cache)
    let hPrevious = step.hPrevious
    let gates = cache
    let zhN = cache + B * 3 * H
    for b in 0..<B {
      let row = gates + b * 3 * H
      let zxRow = zx.row(b)
      let zhRow = zh + b * 3 * H
      for j in 0..<2 * H { row[j] = zxRow[j] + zhRow[j] }
    }
    sigmoid(gates, into: gates, count: B * 3 * H)  // the n block is overwritten below
    for b in 0..<B {
      let row = gates + b * 3 * H
      let zxRow = zx.row(b)
      let zhRow = zh + b * 3 * H
      for j in 0..<H {
        zhN[b * H + j] = zhRow[2 * H + j]
        row[2 * H + j] = zxRow[2 * H + j] + row[j] * zhRow[2 * H + j]
      }
      tanh(row + 2 * H, into: row + 2 * H, count: H)
      for j in 0..<H {
        let u = row[H + j]
        h[b * H + j] = (1 - u) * row[2 * H + j] + u * (hPrevious?[b * H + j] ?? 0)
      }
    }
  }

  // ∂n = ∂h ⊙ (1 − u);  ∂u = ∂h ⊙ (h_{t−1} − n);  ∂h_{t−1} (direct) = ∂h ⊙ u
  // ∂a_n = ∂n ⊙ (1 − n²):  ∂zx_n = ∂a_n,  ∂zh_n = ∂a_n ⊙ r,  ∂r = ∂a_n ⊙ zh_n
  // ∂zx_r = ∂zh_r = ∂r ⊙ r(1 − r);  ∂zx_z = ∂zh_z = ∂u ⊙ u(1 − u)
  // (the vector kernel `gru_backward`, which gives its expressions' order).
  func backward(_ step: CellStep, _ gradients: CellGradients) {
    let (B, H, cache) = (step.rows, step.hidden, UnsafePointer(step.cache))
    kernels.gru_backward(
      cache, cache + B * 3 * H, step.hPrevious, gradients.dh, gradients.dhPreviousDirect,
      gradients.dzx, gradients.dzh, B, H)
  }
}

/// The Elman cell (Elman 1990): `h_t = tanh(zx + zh)`. Its only path back through time is
/// `Wh` times `tanh'`, so gradients shrink or blow up geometrically with distance: the baseline
/// that gradient clipping and LSTM gates are measured against. No cache beyond `h_t`.
struct ElmanCell: RecurrentCell {
  var gateCount: Int { 1 }
  var cacheWidth: Int { 0 }
  var carryWidth: Int { 0 }
  var usesRecurrentBias: Bool { false }
  var sharesPreactivationGradient: Bool { true }

  func forward(_ step: CellStep, zx: StepInput, zh: UnsafePointer<Float>) {
    let (B, H, h) = (step.rows, step.hidden, step.h)
    for b in 0..<B {
      let (row, zxRow, zhRow) = (h + b * H, zx.row(b), zh + b * H)
      for j in 0..<H { row[j] = zxRow[j] + zhRow[j] }
    }
    tanh(h, into: h, count: B * H)
  }

  // ∂z = ∂h ⊙ (1 − h²)
  func backward(_ step: CellStep, _ gradients: CellGradients) {
    let (B, H, h) = (step.rows, step.hidden, UnsafePointer(step.h))
    let (dh, dzx) = (gradients.dh, gradients.dzx)
    let dhPreviousDirect = gradients.dhPreviousDirect
    dhPreviousDirect.update(repeating: 0, count: B * H)
    for k in 0..<B * H { dzx[k] = dh[k] * (1 - h[k] * h[k]) }
  }
}
