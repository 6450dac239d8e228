import Foundation

/// Fills `count` values with U(-limit, limit).
func fillUniform(
  _ values: UnsafeMutablePointer<Float>, count: Int, limit: Float, rng: inout SplitMix64
) {
  for i in 0..<count { values[i] = (2 * rng.nextUnitFloat() - 1) * limit }
}

/// Writes a `(rows, columns)` row-major matrix with orthonormal columns (rows >= columns) or
/// orthonormal rows (rows < columns): the Q factor of a Gaussian matrix, via LAPACKE.
///
/// Saxe et al. (2014): orthogonal recurrent weights keep the Jacobian's singular values at 1 at
/// the start of training, so gradients through time neither vanish nor explode at first. The
/// signs of Q are fixed by R's diagonal (Mezzadri 2007) so Q is Haar-distributed, and so the
/// result does not depend on LAPACK's sign conventions. Its last bits in Double do depend on
/// the OpenBLAS kernels the CPU gets, and at large sizes a few Float values with them (README,
/// "Reproducible").
func fillOrthogonal(
  _ values: UnsafeMutablePointer<Float>, rows: Int, columns: Int, rng: inout SplitMix64
) {
  // QR factorises a tall matrix: work on the transpose when the block is wide.
  let tall = rows >= columns
  let m = tall ? rows : columns
  let n = tall ? columns : rows
  var a = [Double](repeating: 0, count: m * n)  // (m, n) row-major
  for i in 0..<a.count { a[i] = rng.nextGaussian() }
  var tau = [Double](repeating: 0, count: n)
  let lapack = OpenBLAS.functions
  var info = lapack.dgeqrf(OpenBLAS.rowMajor, Int32(m), Int32(n), &a, Int32(n), &tau)
  precondition(info == 0, "LAPACKE_dgeqrf failed: \(info)")
  let diagonalSigns = (0..<n).map { a[$0 * n + $0] < 0 ? -1.0 : 1.0 }
  info = lapack.dorgqr(OpenBLAS.rowMajor, Int32(m), Int32(n), Int32(n), &a, Int32(n), &tau)
  precondition(info == 0, "LAPACKE_dorgqr failed: \(info)")
  for i in 0..<m {
    for j in 0..<n {
      let q = Float(a[i * n + j] * diagonalSigns[j])
      if tall { values[i * columns + j] = q } else { values[j * columns + i] = q }
    }
  }
}
