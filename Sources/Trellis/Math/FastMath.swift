// Vectorised exp, σ and tanh for the recurrent cells. glibc's expf/tanhf are scalar calls and
// took a third of training time once the products ran on AVX-512 kernels; these process 16
// lanes at a time with one polynomial, so the compiler emits straight-line SIMD code.
//
// exp is Cephes' expf (Moshier 1984): x = n·ln2 + r with |r| ≤ ln2/2, ln2 split into a short
// and a long part so n·ln2 is exact, e^r by a degree-6 minimax polynomial, 2^n by building the
// exponent bits. Relative error ≤ 2 ulp on the clamped range [−87.3, 88.3], where 2^n stays a
// normal Float; outside it the results saturate (e^−87.3 ≈ 1e−38, e^88.3 ≈ 2e38), which σ and
// tanh turn into exact 0/1 and ±1.

typealias Lanes = SIMD16<Float>

@inline(__always) func exp(_ x: Lanes) -> Lanes {
  // Clamp with masks: SIMD `clamped`/`pointwiseMin` go lane by lane (NaN rules), ~70x slower.
  let low = Lanes(repeating: -87.3)
  let high = Lanes(repeating: 88.3)
  let x = x.replacing(with: low, where: x .< low).replacing(with: high, where: x .> high)
  // n = round(x·log2 e) without a float→int conversion (which Swift does lane by lane): adding
  // 1.5·2^23 makes the FPU round to an integer, held in the low mantissa bits of `shifted`.
  let magic = Lanes(repeating: 12_582_912)
  let shifted = x * 1.442_695_04 + magic
  let n = shifted - magic
  let r = x - n * 0.693_359_375 + n * 2.121_944_40e-4
  var p = Lanes(repeating: 1.987_569_150_0e-4)
  p = p * r + 1.398_199_950_7e-3
  p = p * r + 8.333_451_907_3e-3
  p = p * r + 4.166_579_589_4e-2
  p = p * r + 1.666_666_545_9e-1
  p = p * r + 5.000_000_120_1e-1
  p = p * (r * r) + r + 1
  let integerN =
    unsafeBitCast(shifted, to: SIMD16<Int32>.self) &- unsafeBitCast(magic, to: SIMD16<Int32>.self)
  let exponent = (integerN &+ 127) &<< 23
  return p * unsafeBitCast(exponent, to: Lanes.self)
}

/// σ(x) = 1 / (1 + e^{−x}); saturates cleanly to 0 and 1.
@inline(__always) func sigmoid(_ x: Lanes) -> Lanes { 1 / (1 + exp(-x)) }

/// tanh(x) = 1 − 2 / (e^{2x} + 1); absolute error ~1e−7 everywhere, saturates to ±1.
@inline(__always) func tanh(_ x: Lanes) -> Lanes { 1 - 2 / (exp(2 * x) + 1) }

/// Applies `f` to `count` Floats from `x` into `y` (which may equal `x`), 16 at a time; the tail
/// goes through the same vector code so every element gets bit-identical treatment.
@inline(__always) func apply(
  _ f: (Lanes) -> Lanes, _ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, count: Int
) {
  var k = 0
  while k + 16 <= count {
    UnsafeMutableRawPointer(y + k).storeBytes(
      of: f(UnsafeRawPointer(x + k).loadUnaligned(as: Lanes.self)), as: Lanes.self)
    k += 16
  }
  if k < count {
    var lanes = Lanes()
    for j in 0..<(count - k) { lanes[j] = x[k + j] }
    let result = f(lanes)
    for j in 0..<(count - k) { y[k + j] = result[j] }
  }
}

func sigmoid(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, count: Int) {
  apply(sigmoid, x, into: y, count: count)
}

func tanh(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, count: Int) {
  apply(tanh, x, into: y, count: count)
}
