import Foundation
import XCTest

@testable import Trellis

/// OpenBLAS is opened only by what calls it (`OpenBLAS`): reading and tagging a model never
/// do; the first call opens it with one thread and its pool shut down; and a caller's
/// `setBLASThreadCount(_:)` wins.
final class OpenBLASTests: XCTestCase {
  private static let childVariable = "TRELLIS_BLAS_THREAD_CHILD"

  /// Whether OpenBLAS was opened depends on the tests run before, so the check runs in a fresh
  /// copy of this test process.
  func testOpenedOnlyByItsCallersWithOneThread() throws {
    if ProcessInfo.processInfo.environment[Self.childVariable] != nil {
      try checkFreshProcess()
      return
    }
    let child = Process()
    child.executableURL = URL(fileURLWithPath: ProcessInfo.processInfo.arguments[0])
    child.arguments = ["TrellisTests.OpenBLASTests/testOpenedOnlyByItsCallersWithOneThread"]
    child.environment = ProcessInfo.processInfo.environment.merging(
      [Self.childVariable: "1", "OPENBLAS_NUM_THREADS": "2"]) { $1 }
    let output = Pipe()
    child.standardOutput = output
    child.standardError = output
    try child.run()
    let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    child.waitUntilExit()
    XCTAssertEqual(child.terminationStatus, 0, text)
    XCTAssertTrue(text.contains("Executed 1 test, with 0 failures"), text)
  }

  /// In a process where nothing has called OpenBLAS: a model made without initialisation,
  /// written, read back and tagged leaves it unopened; a randomly initialised one (QR through
  /// LAPACKE) opens it, with one thread although the environment asks for two, with the
  /// pool's worker threads shut down (OpenBLAS's `blas_server_avail`, read rather than the
  /// process's threads, which the test runner may add to), and without adding its symbols to
  /// the process's global namespace.
  private func checkFreshProcess() throws {
    XCTAssertFalse(isOpen("libopenblas"), "opened before any call")
    let zero = try TaggerModel(
      configuration: TaggerConfiguration(), words: Vocabulary(["<pad>", "<unk>", "a"]),
      labels: Vocabulary(["O", "B-x", "I-x"]), characters: Vocabulary(["<pad>", "<unk>", "a"]))
    let file = FileManager.default.temporaryDirectory.appendingPathComponent(
      "blas-\(UUID().uuidString).model"
    ).path
    defer { try? FileManager.default.removeItem(atPath: file) }
    try ModelFile.write(zero, to: file)
    let tagged = try ModelFile.read(from: file).tag([["a", "b"]])
    XCTAssertEqual(tagged.map(\.count), [2])
    XCTAssertFalse(isOpen("libopenblas"), "reading or tagging a model opened OpenBLAS")
    XCTAssertFalse(isOpen("liblapacke"), "reading or tagging a model opened LAPACKE")

    _ = makeModel()
    XCTAssertTrue(isOpen("libopenblas") && isOpen("liblapacke"), "initialisation calls LAPACKE")
    XCTAssertEqual(try threadCount(), 1, "OPENBLAS_NUM_THREADS=2 in the environment")
    let blas = try XCTUnwrap(dlopen("libopenblas.so.0", RTLD_NOW | RTLD_NOLOAD))
    let serverAvailable = try XCTUnwrap(dlsym(blas, "blas_server_avail"))
    XCTAssertEqual(serverAvailable.load(as: Int32.self), 0, "OpenBLAS's pool is shut down")
    XCTAssertNil(dlsym(dlopen(nil, RTLD_NOW), "cblas_sgemm"), "OpenBLAS's symbols made global")
  }

  /// Whether a library whose file name starts with `name` is mapped into this process.
  private func isOpen(_ name: String) -> Bool {
    let maps = (try? String(contentsOfFile: "/proc/self/maps", encoding: .utf8)) ?? ""
    return maps.split(separator: "\n").contains {
      $0.split(separator: "/").last?.hasPrefix(name) == true
    }
  }

  /// OpenBLAS's own count of its threads (`openblas_get_num_threads`), from the library this
  /// process has already opened.
  private func threadCount() throws -> Int32 {
    let blas = try XCTUnwrap(dlopen("libopenblas.so.0", RTLD_NOW | RTLD_NOLOAD), "not opened")
    defer { dlclose(blas) }
    let count = try XCTUnwrap(dlsym(blas, "openblas_get_num_threads"))
    return unsafeBitCast(count, to: (@convention(c) () -> Int32).self)()
  }

  func testCallersThreadCountOutlivesModelCreation() throws {
    try setBLASThreadCount(2)
    defer { try? setBLASThreadCount(1) }
    _ = makeModel()
    XCTAssertEqual(try threadCount(), 2)
  }

  /// A library that cannot be opened is reported by name, with how to install the two.
  func testAMissingLibraryIsReported() {
    let missing = "libtrellis-test-missing.so.0"
    guard case .failure(let error) = OpenBLAS.open(blas: missing, lapacke: "liblapacke.so.3")
    else { return XCTFail("\(missing) opened") }
    XCTAssertTrue(error.description.contains(missing), error.description)
    XCTAssertTrue(error.description.contains("apt-get install libopenblas0 liblapacke"))
  }

  /// The QR through LAPACKE gives orthonormal columns (a tall block) or rows (a wide one), so
  /// the declared signatures of `LAPACKE_dgeqrf` and `LAPACKE_dorgqr` match the library's.
  func testOrthogonalBlocksAreOrthonormal() {
    for (rows, columns) in [(8, 3), (3, 8), (5, 5)] {
      var values = [Float](repeating: 0, count: rows * columns)
      var rng = SplitMix64(seed: 3)
      fillOrthogonal(&values, rows: rows, columns: columns, rng: &rng)
      // Vector i of the shorter side, element t: a column when tall, a row when wide.
      let tall = rows >= columns
      let (vectors, length) = tall ? (columns, rows) : (rows, columns)
      func element(_ i: Int, _ t: Int) -> Double {
        Double(tall ? values[t * columns + i] : values[i * columns + t])
      }
      for i in 0..<vectors {
        for j in 0..<vectors {
          let dot = (0..<length).reduce(0.0) { $0 + element(i, $1) * element(j, $1) }
          XCTAssertEqual(dot, i == j ? 1 : 0, accuracy: 1e-5, "\(rows)x\(columns): \(i)·\(j)")
        }
      }
    }
  }

  /// The sgemm reference multiplies as a plain loop does, so the declared C signature matches
  /// the library's (argument order, transposition, leading dimensions).
  func testSGEMMThroughTheOpenedLibraryMatchesAPlainProduct() {
    let n = 3
    let a: [Float] = (0..<n * n).map { Float($0 % 5) - 2 }
    var c = [Float](repeating: 0, count: n * n)
    OpenBLAS.functions.sgemm(
      OpenBLAS.rowMajor, OpenBLAS.noTranspose, OpenBLAS.transpose, Int32(n), Int32(n), Int32(n),
      1, a, Int32(n), a, Int32(n), 0, &c, Int32(n))
    for i in 0..<n {
      for j in 0..<n {
        let expected = (0..<n).reduce(Float(0)) { $0 + a[i * n + $1] * a[j * n + $1] }
        XCTAssertEqual(c[i * n + j], expected, "C[\(i)][\(j)] = (A·Aᵀ)[\(i)][\(j)]")
      }
    }
  }
}
