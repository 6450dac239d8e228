import Foundation

// Legend for the recurrent kernels: B rows (sentences) in a step, H hidden units, G gate blocks.
// The layer computes both projections with BLAS; a cell is only the elementwise part between them:
//   zx_t = x_t · Wxᵀ + bx      (B, G·H)   one GEMM over all steps, before the time loop
//   zh_t = h_{t−1} · Whᵀ + bh  (B, G·H)   one GEMM per step (bh only where a cell needs it)

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

  /// One step for `rows` rows: reads `zx`, `zh` (rows, G·H), `hPrevious` (rows, H) and
  /// `cachePrevious` (rows, cacheWidth; nil at the first step); writes `h` and `cache`.
  func forward(
    rows: Int, hidden: Int, zx: UnsafePointer<Float>, zh: UnsafePointer<Float>,
    hPrevious: UnsafePointer<Float>?, cachePrevious: UnsafePointer<Float>?,
    h: UnsafeMutablePointer<Float>, cache: UnsafeMutablePointer<Float>)

  /// One step backwards. `dh` (rows, H) is the full ∂loss/∂h_t; `carry` holds the cell's own
  /// carried gradient for step t on entry and for step t−1 on exit. Writes ∂zx and ∂zh
  /// (rows, G·H; the same buffer when `sharesPreactivationGradient`), and overwrites
  /// `dhPreviousDirect` (rows, H) with the part of ∂h_{t−1} that does not pass through `Wh`.
  func backward(
    rows: Int, hidden: Int, dh: UnsafePointer<Float>, h: UnsafePointer<Float>,
    cache: UnsafePointer<Float>, hPrevious: UnsafePointer<Float>?,
    cachePrevious: UnsafePointer<Float>?, carry: UnsafeMutablePointer<Float>,
    dzx: UnsafeMutablePointer<Float>, dzh: UnsafeMutablePointer<Float>,
    dhPreviousDirect: UnsafeMutablePointer<Float>)
}

/// The LSTM cell (Hochreiter & Schmidhuber 1997, with forget gate), gate blocks in order i, f, g, o:
///   i = σ(z_i), f = σ(z_f), g = tanh(z_g), o = σ(z_o),  z = zx + zh
///   c_t = f ⊙ c_{t−1} + i ⊙ g,   h_t = o ⊙ tanh(c_t)
/// Cache per row: [i, f, g, o, c] (5H). The additive path through `c` is what keeps gradients
/// from vanishing over long spans.
struct LSTMCell: RecurrentCell {
  var gateCount: Int { 4 }
  var cacheWidth: Int { 5 }
  var carryWidth: Int { 1 }
  var usesRecurrentBias: Bool { false }
  var sharesPreactivationGradient: Bool { true }

  func forward(
    rows: Int, hidden H: Int, zx: UnsafePointer<Float>, zh: UnsafePointer<Float>,
    hPrevious: UnsafePointer<Float>?, cachePrevious: UnsafePointer<Float>?,
    h: UnsafeMutablePointer<Float>, cache: UnsafeMutablePointer<Float>
  ) {
    for b in 0..<rows {
      let zxRow = zx + b * 4 * H, zhRow = zh + b * 4 * H
      let cacheRow = cache + b * 5 * H, hRow = h + b * H
      let cPrevious = cachePrevious.map { $0 + b * 5 * H + 4 * H }
      for j in 0..<H {
        let i = sigmoid(zxRow[j] + zhRow[j])
        let f = sigmoid(zxRow[H + j] + zhRow[H + j])
        let g = tanh(zxRow[2 * H + j] + zhRow[2 * H + j])
        let o = sigmoid(zxRow[3 * H + j] + zhRow[3 * H + j])
        let c = f * (cPrevious?[j] ?? 0) + i * g
        cacheRow[j] = i
        cacheRow[H + j] = f
        cacheRow[2 * H + j] = g
        cacheRow[3 * H + j] = o
        cacheRow[4 * H + j] = c
        hRow[j] = o * tanh(c)
      }
    }
  }

  // ∂o = ∂h ⊙ tanh(c);  ∂c ← carry + ∂h ⊙ o ⊙ (1 − tanh²c)
  // ∂i = ∂c ⊙ g;  ∂g = ∂c ⊙ i;  ∂f = ∂c ⊙ c_{t−1};  carry ← ∂c ⊙ f
  // ∂z = ∂gate ⊙ σ' or tanh':  σ' = s(1 − s),  tanh' = 1 − g²
  func backward(
    rows: Int, hidden H: Int, dh: UnsafePointer<Float>, h: UnsafePointer<Float>,
    cache: UnsafePointer<Float>, hPrevious: UnsafePointer<Float>?,
    cachePrevious: UnsafePointer<Float>?, carry: UnsafeMutablePointer<Float>,
    dzx: UnsafeMutablePointer<Float>, dzh: UnsafeMutablePointer<Float>,
    dhPreviousDirect: UnsafeMutablePointer<Float>
  ) {
    dhPreviousDirect.update(repeating: 0, count: rows * H)
    for b in 0..<rows {
      let cacheRow = cache + b * 5 * H, dhRow = dh + b * H
      let carryRow = carry + b * H, dz = dzx + b * 4 * H
      let cPrevious = cachePrevious.map { $0 + b * 5 * H + 4 * H }
      for j in 0..<H {
        let i = cacheRow[j], f = cacheRow[H + j], g = cacheRow[2 * H + j]
        let o = cacheRow[3 * H + j], c = cacheRow[4 * H + j]
        let tc = tanh(c)
        let dOut = dhRow[j] * tc
        let dc = carryRow[j] + dhRow[j] * o * (1 - tc * tc)
        dz[j] = dc * g * i * (1 - i)
        dz[H + j] = dc * (cPrevious?[j] ?? 0) * f * (1 - f)
        dz[2 * H + j] = dc * i * (1 - g * g)
        dz[3 * H + j] = dOut * o * (1 - o)
        carryRow[j] = dc * f
      }
    }
  }
}

/// The GRU cell (Cho et al. 2014) in PyTorch's form, gate blocks in order r, z, n:
///   r = σ(zx_r + zh_r),  u = σ(zx_z + zh_z),  n = tanh(zx_n + r ⊙ zh_n)
///   h_t = (1 − u) ⊙ n + u ⊙ h_{t−1}
/// `zh` carries its own bias because `r` gates it. Cache per row: [r, u, n, zh_n] (4H).
struct GRUCell: RecurrentCell {
  var gateCount: Int { 3 }
  var cacheWidth: Int { 4 }
  var carryWidth: Int { 0 }
  var usesRecurrentBias: Bool { true }
  var sharesPreactivationGradient: Bool { false }

  func forward(
    rows: Int, hidden H: Int, zx: UnsafePointer<Float>, zh: UnsafePointer<Float>,
    hPrevious: UnsafePointer<Float>?, cachePrevious: UnsafePointer<Float>?,
    h: UnsafeMutablePointer<Float>, cache: UnsafeMutablePointer<Float>
  ) {
    for b in 0..<rows {
      let zxRow = zx + b * 3 * H, zhRow = zh + b * 3 * H
      let cacheRow = cache + b * 4 * H, hRow = h + b * H
      let hPrev = hPrevious.map { $0 + b * H }
      for j in 0..<H {
        let r = sigmoid(zxRow[j] + zhRow[j])
        let u = sigmoid(zxRow[H + j] + zhRow[H + j])
        let n = tanh(zxRow[2 * H + j] + r * zhRow[2 * H + j])
        cacheRow[j] = r
        cacheRow[H + j] = u
        cacheRow[2 * H + j] = n
        cacheRow[3 * H + j] = zhRow[2 * H + j]
        hRow[j] = (1 - u) * n + u * (hPrev?[j] ?? 0)
      }
    }
  }

  // ∂n = ∂h ⊙ (1 − u);  ∂u = ∂h ⊙ (h_{t−1} − n);  ∂h_{t−1} (direct) = ∂h ⊙ u
  // ∂a_n = ∂n ⊙ (1 − n²):  ∂zx_n = ∂a_n,  ∂zh_n = ∂a_n ⊙ r,  ∂r = ∂a_n ⊙ zh_n
  // ∂zx_r = ∂zh_r = ∂r ⊙ r(1 − r);  ∂zx_z = ∂zh_z = ∂u ⊙ u(1 − u)
  func backward(
    rows: Int, hidden H: Int, dh: UnsafePointer<Float>, h: UnsafePointer<Float>,
    cache: UnsafePointer<Float>, hPrevious: UnsafePointer<Float>?,
    cachePrevious: UnsafePointer<Float>?, carry: UnsafeMutablePointer<Float>,
    dzx: UnsafeMutablePointer<Float>, dzh: UnsafeMutablePointer<Float>,
    dhPreviousDirect: UnsafeMutablePointer<Float>
  ) {
    for b in 0..<rows {
      let cacheRow = cache + b * 4 * H, dhRow = dh + b * H
      let hPrev = hPrevious.map { $0 + b * H }
      let dx = dzx + b * 3 * H, dr = dzh + b * 3 * H, direct = dhPreviousDirect + b * H
      for j in 0..<H {
        let r = cacheRow[j], u = cacheRow[H + j], n = cacheRow[2 * H + j]
        let zhN = cacheRow[3 * H + j]
        let previous = hPrev?[j] ?? 0
        let dn = dhRow[j] * (1 - u)
        let du = dhRow[j] * (previous - n)
        direct[j] = dhRow[j] * u
        let dan = dn * (1 - n * n)
        let dar = dan * zhN * r * (1 - r)
        let dau = du * u * (1 - u)
        dx[j] = dar
        dx[H + j] = dau
        dx[2 * H + j] = dan
        dr[j] = dar
        dr[H + j] = dau
        dr[2 * H + j] = dan * r
      }
    }
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

  func forward(
    rows: Int, hidden H: Int, zx: UnsafePointer<Float>, zh: UnsafePointer<Float>,
    hPrevious: UnsafePointer<Float>?, cachePrevious: UnsafePointer<Float>?,
    h: UnsafeMutablePointer<Float>, cache: UnsafeMutablePointer<Float>
  ) {
    for k in 0..<rows * H { h[k] = tanh(zx[k] + zh[k]) }
  }

  // ∂z = ∂h ⊙ (1 − h²)
  func backward(
    rows: Int, hidden H: Int, dh: UnsafePointer<Float>, h: UnsafePointer<Float>,
    cache: UnsafePointer<Float>, hPrevious: UnsafePointer<Float>?,
    cachePrevious: UnsafePointer<Float>?, carry: UnsafeMutablePointer<Float>,
    dzx: UnsafeMutablePointer<Float>, dzh: UnsafeMutablePointer<Float>,
    dhPreviousDirect: UnsafeMutablePointer<Float>
  ) {
    dhPreviousDirect.update(repeating: 0, count: rows * H)
    for k in 0..<rows * H { dzx[k] = dh[k] * (1 - h[k] * h[k]) }
  }
}
