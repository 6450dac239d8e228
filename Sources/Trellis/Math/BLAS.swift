import COpenBLAS
import Foundation

/// Sets the number of threads OpenBLAS uses for each product.
///
/// Trellis sets one thread itself, once per process, when the first model is created or loaded.
/// Its own products are its kernels' (`packedProduct`), not OpenBLAS's: OpenBLAS only runs the
/// QR factorisations that make the recurrent weights orthogonal when a model is initialised
/// (`fillOrthogonal`) and `trellis bench`'s sgemm reference, so its threads would only sit in
/// the process, spinning after each call, beside the cores Trellis keeps busy. Call this,
/// before or after loading a model, to choose another count for other BLAS work in the same
/// process: it always wins over the default.
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
