import COpenBLAS
import Foundation

/// Whether a `gemm` operand is used as stored or transposed.
enum Transpose {
  case none, transposed

  var cblas: CBLAS_TRANSPOSE { self == .none ? CblasNoTrans : CblasTrans }
}

/// `C = alpha * op(A) · op(B) + beta * C` on row-major views, through `cblas_sgemm`.
///
/// This file is the only one that talks to OpenBLAS for products, so every OpenBLAS product (the
/// character CNN's; the CRF's pairwise sums in Double below) goes through one checked entry
/// point. The encoder's and output layer's products are `packedProduct`'s (Kernels.swift).
/// Shapes: `op(A)` is `(M, K)`, `op(B)` is `(K, N)`, `C` is `(M, N)`; each view may be strided
/// (`rowStride` = BLAS `lda`/`ldb`/`ldc`).
func gemm(
  _ a: MatrixView, _ transposeA: Transpose, _ b: MatrixView, _ transposeB: Transpose,
  into c: MutableMatrixView, alpha: Float = 1, beta: Float = 0
) {
  let m = transposeA == .none ? a.rows : a.columns
  let k = transposeA == .none ? a.columns : a.rows
  let kB = transposeB == .none ? b.rows : b.columns
  let n = transposeB == .none ? b.columns : b.rows
  precondition(
    k == kB && c.rows == m && c.columns == n,
    "gemm shapes: op(A) \(m)x\(k), op(B) \(kB)x\(n), C \(c.rows)x\(c.columns)")
  if m == 0 || n == 0 { return }
  if k == 0 {
    // BLAS leaves C untouched for K = 0 only when beta = 1; make the empty sum explicit.
    for r in 0..<m { for col in 0..<n { c[r, col] *= beta } }
    return
  }
  if m == 1 {
    // One output row (tagging one sentence, a batch's last step): C = op(B)ᵀ · a is a
    // matrix–vector product, and sgemv reads B in place where sgemm would first pack it.
    // a is row 0 of A (stride 1), or column 0 of a transposed A (stride = its row stride).
    cblas_sgemv(
      CblasRowMajor, transposeB == .none ? CblasTrans : CblasNoTrans, Int32(b.rows),
      Int32(b.columns),
      alpha, b.base, Int32(b.rowStride), a.base, Int32(transposeA == .none ? 1 : a.rowStride), beta,
      c.base, 1)
    return
  }
  cblas_sgemm(
    CblasRowMajor, transposeA.cblas, transposeB.cblas, Int32(m), Int32(n), Int32(k), alpha,
    a.base, Int32(a.rowStride), b.base, Int32(b.rowStride), beta, c.base, Int32(c.rowStride))
}

/// The plain triple loop that `gemm` must agree with; used only by tests (llm.c's naive twin).
func naiveGemm(
  _ a: MatrixView, _ transposeA: Transpose, _ b: MatrixView, _ transposeB: Transpose,
  into c: MutableMatrixView, alpha: Float = 1, beta: Float = 0
) {
  let m = c.rows
  let n = c.columns
  let k = transposeA == .none ? a.columns : a.rows
  for i in 0..<m {
    for j in 0..<n {
      var sum = 0.0
      for p in 0..<k {
        let x = transposeA == .none ? a[i, p] : a[p, i]
        let y = transposeB == .none ? b[p, j] : b[j, p]
        sum += Double(x) * Double(y)
      }
      c[i, j] = alpha * Float(sum) + beta * c[i, j]
    }
  }
}

/// Sets the number of threads OpenBLAS uses for each product.
///
/// Trellis sets one thread itself, once per process, when the first model is created or loaded,
/// so a library user gets the CLI's speed without calling this. OpenBLAS would otherwise start
/// one thread per core for every product; Trellis's OpenBLAS products (the character CNN's, the
/// CRF's) are small and already run one per core (the encoder's two directions and the head's
/// two halves in training, one batch per thread in tagging: `TaggingOptions.threads`), so more
/// OpenBLAS threads only contend with them. Call this, before or after loading a model, to
/// choose another count for other BLAS work in the same process: it always wins over the default.
public func setBLASThreadCount(_ count: Int) {
  BLASThreads.setDefault()
  openblas_set_num_threads(Int32(count))
}

/// The one-thread default of `setBLASThreadCount(_:)`, applied once per process when the first
/// `ParameterStore` (the weights of every model, created or loaded) is made.
enum BLASThreads {
  /// Initialised lazily and exactly once, even with several threads creating models at once.
  private static let applied: Void = {
    openblas_set_num_threads(1)
    // OpenBLAS started its thread pool when it was loaded; with one thread set, the pool's
    // workers still spin (sched_yield) for about 2^28 cycles, a tenth of a second, before they
    // sleep, taking a core from the work the process has just begun (4% of a 1.2 s tagging
    // run, more of a short one). Shutting the pool down ends that; OpenBLAS starts it again if
    // a caller later asks for more threads. Looked up at run time: a serial OpenBLAS has none.
    if let shutdown = dlsym(nil, "blas_thread_shutdown_") {
      _ = unsafeBitCast(shutdown, to: (@convention(c) () -> Int32).self)()
    }
  }()

  /// Applies the default the first time; does nothing after that.
  static func setDefault() { _ = applied }
}

/// The OpenBLAS core type it dispatched to (e.g. "Haswell"), for benchmark reports.
public func blasCoreName() -> String {
  guard let name = openblas_get_corename() else { return "unknown" }
  return String(cString: name)
}

/// `C = op(A) · op(B) + beta · C` for dense row-major Double matrices, through `cblas_dgemm`:
/// `op(A)` is `(m, k)`, `op(B)` is `(k, n)`, `C` is `(m, n)`. The CRF's pairwise marginals, one
/// product over a batch's steps (its per-step products are `packedProduct`'s in Double).
func gemm(
  _ a: UnsafePointer<Double>, _ transposeA: Transpose, _ b: UnsafePointer<Double>,
  _ transposeB: Transpose, m: Int, n: Int, k: Int, into c: UnsafeMutablePointer<Double>,
  beta: Double = 0
) {
  guard m > 0, n > 0, k > 0 else { return }
  cblas_dgemm(
    CblasRowMajor, transposeA.cblas, transposeB.cblas, Int32(m), Int32(n), Int32(k), 1, a,
    Int32(transposeA == .none ? k : m), b, Int32(transposeB == .none ? n : k), beta, c, Int32(n))
}
