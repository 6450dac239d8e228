import Foundation

/// Debian's OpenBLAS (cblas) and LAPACKE, opened the first time something calls them: training's
/// initialisation (`fillOrthogonal`, a QR factorisation per recurrent block) and `trellis
/// bench`'s sgemm reference. Tagging, serving and reading models never do (every product of
/// theirs is Trellis's own, `packedProduct`), so those processes no longer load them. Linked,
/// they were eight libraries loaded into every process and OpenBLAS's thread pool started and
/// stopped again: about 7 ms of each start, nearly a third of a `trellis tag` of an empty file
/// (Eval/SPEED.md, session 39).
///
/// The libraries are opened by their sonames, the files Debian's `libopenblas0` and `liblapacke`
/// install (`make deps` installs them).
enum OpenBLAS {
  /// The C functions Trellis calls, with the C types of `cblas.h` and `lapacke.h` (LP64:
  /// 32-bit integers).
  struct Functions {
    /// `cblas_sgemm(order, transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc)`.
    typealias SGEMM =
      @convention(c) (
        Int32, Int32, Int32, Int32, Int32, Int32, Float, UnsafePointer<Float>?, Int32,
        UnsafePointer<Float>?, Int32, Float, UnsafeMutablePointer<Float>?, Int32
      ) -> Void
    /// `LAPACKE_dgeqrf(layout, m, n, a, lda, tau)`.
    typealias QR =
      @convention(c) (
        Int32, Int32, Int32, UnsafeMutablePointer<Double>?, Int32, UnsafeMutablePointer<Double>?
      ) -> Int32
    /// `LAPACKE_dorgqr(layout, m, n, k, a, lda, tau)`.
    typealias QFromQR =
      @convention(c) (
        Int32, Int32, Int32, Int32, UnsafeMutablePointer<Double>?, Int32, UnsafePointer<Double>?
      ) -> Int32

    let sgemm: SGEMM
    let setThreadCount: @convention(c) (Int32) -> Void
    let coreName: @convention(c) () -> UnsafeMutablePointer<CChar>?
    let dgeqrf: QR
    let dorgqr: QFromQR
  }

  /// `CBLAS_ORDER`'s and `CBLAS_TRANSPOSE`'s values, and LAPACKE's `LAPACK_ROW_MAJOR`.
  static let rowMajor: Int32 = 101
  static let noTranspose: Int32 = 111
  static let transpose: Int32 = 112

  /// Opened once per process, even with several threads asking at once, from the files
  /// Debian installs.
  static let opened = open(blas: "libopenblas.so.0", lapacke: "liblapacke.so.3")

  /// The functions, opening the libraries on first use. A process without them stops here
  /// with `BLASUnavailable`'s message; `trellis train` and `bench` check first
  /// (`requireBLAS()`), so the command line reports it as an error instead.
  static var functions: Functions {
    switch opened {
    case .success(let functions): return functions
    case .failure(let error): fatalError(error.description)
    }
  }

  /// Opens the two libraries and looks up the functions; the failure says which was missing.
  static func open(blas blasFile: String, lapacke lapackeFile: String)
    -> Result<Functions, BLASUnavailable>
  {
    func library(_ file: String) throws(BLASUnavailable) -> UnsafeMutableRawPointer {
      // RTLD_LOCAL: the symbols stay out of a host process's namespace (a Python pipeline
      // may hold another BLAS); LAPACKE finds its own through its dependencies.
      guard let handle = dlopen(file, RTLD_NOW | RTLD_LOCAL) else {
        throw BLASUnavailable(reason: dlerror().map { String(cString: $0) } ?? file)
      }
      return handle
    }
    func symbol<F>(_ name: String, in handle: UnsafeMutableRawPointer) throws(BLASUnavailable) -> F
    {
      guard let address = dlsym(handle, name) else {
        throw BLASUnavailable(reason: "\(name) is missing from the library")
      }
      return unsafeBitCast(address, to: F.self)
    }
    return Result { () throws(BLASUnavailable) in
      let (blas, lapacke) = (try library(blasFile), try library(lapackeFile))
      let functions = Functions(
        sgemm: try symbol("cblas_sgemm", in: blas),
        setThreadCount: try symbol("openblas_set_num_threads", in: blas),
        coreName: try symbol("openblas_get_corename", in: blas),
        dgeqrf: try symbol("LAPACKE_dgeqrf", in: lapacke),
        dorgqr: try symbol("LAPACKE_dorgqr", in: lapacke))
      // Trellis's own threads run the work (`setBLASThreadCount(_:)`): one thread per product,
      // and the pool OpenBLAS started when it was opened shut down, since its workers spin
      // (sched_yield) for about 2^28 cycles, a tenth of a second, after each call before they
      // sleep. OpenBLAS starts the pool again if a caller later asks for more threads. Looked
      // up on its own: a serial OpenBLAS has no pool.
      functions.setThreadCount(1)
      if let shutdown = dlsym(blas, "blas_thread_shutdown_") {
        _ = unsafeBitCast(shutdown, to: (@convention(c) () -> Int32).self)()
      }
      return functions
    }
  }
}

/// OpenBLAS or LAPACKE could not be opened (`OpenBLAS`): the message says why and how to
/// install them.
public struct BLASUnavailable: Error, CustomStringConvertible, Equatable {
  /// The loader's own words (a missing file, a missing symbol).
  public let reason: String

  public var description: String {
    "training and `trellis bench` need Debian's OpenBLAS and LAPACKE, which could not be opened "
      + "(\(reason)): install them with `sudo apt-get install libopenblas0 liblapacke` "
      + "(`make deps` does)"
  }
}

/// Opens OpenBLAS and LAPACKE now, or throws `BLASUnavailable`: for a program that will train
/// (or measure sgemm) to report a missing library before any work, where the first call would
/// otherwise stop the process.
public func requireBLAS() throws {
  _ = try OpenBLAS.opened.get()
}

/// Sets the number of threads OpenBLAS uses for each product.
///
/// Trellis uses one: its own products are its kernels' (`packedProduct`), not OpenBLAS's, and
/// OpenBLAS only runs the QR factorisations that make the recurrent weights orthogonal when a
/// model is initialised (`fillOrthogonal`) and `trellis bench`'s sgemm reference, so more
/// threads would only spin after each call beside the cores Trellis keeps busy. Call this to
/// choose another count for other BLAS work in the same process; it opens OpenBLAS if no call
/// has yet, and throws `BLASUnavailable` where it cannot, or an `OptionError` for a count
/// outside `1...TaggingOptions.threadsLimit`.
public func setBLASThreadCount(_ count: Int) throws {
  try require(count, in: 1...TaggingOptions.threadsLimit, "threads")
  try OpenBLAS.opened.get().setThreadCount(Int32(count))
}

/// The OpenBLAS core type it dispatched to (e.g. "Haswell"), for benchmark reports; opens
/// OpenBLAS if nothing has yet, and says "unavailable" where it cannot.
public func blasCoreName() -> String {
  guard case .success(let functions) = OpenBLAS.opened else { return "unavailable" }
  guard let name = functions.coreName() else { return "unknown" }
  return String(cString: name)
}
