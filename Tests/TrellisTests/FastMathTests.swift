import Foundation
import XCTest

@testable import Trellis

/// The vectorised exp, σ and tanh (TrellisKernels, at this CPU's level; KernelLevelTests shows
/// every level equal) against Foundation's Double versions over their whole useful range,
/// including saturation and the tail (a count that is not a multiple of 16).
final class FastMathTests: XCTestCase {
  func testAgainstDoublePrecisionReference() {
    let n = 10_007
    let x = (0..<n).map { Float($0) / Float(n) * 200 - 100 }
    var y = [Float](repeating: 0, count: n)
    x.withUnsafeBufferPointer { x in
      y.withUnsafeMutableBufferPointer { sigmoid(x.baseAddress!, into: $0.baseAddress!, count: n) }
    }
    for (input, output) in zip(x, y) {
      XCTAssertEqual(
        Double(output), 1 / (1 + Foundation.exp(-Double(input))), accuracy: 3e-7, "σ(\(input))")
    }
    x.withUnsafeBufferPointer { x in
      y.withUnsafeMutableBufferPointer { tanh(x.baseAddress!, into: $0.baseAddress!, count: n) }
    }
    for (input, output) in zip(x, y) {
      XCTAssertEqual(
        Double(output), Foundation.tanh(Double(input)), accuracy: 3e-7, "tanh(\(input))")
    }
    let moderate = (0..<n).map { Float($0) / Float(n) * 170 - 85 }
    moderate.withUnsafeBufferPointer { x in
      y.withUnsafeMutableBufferPointer {
        kernels.exp(x.baseAddress!, $0.baseAddress!, n)
      }
    }
    for (input, output) in zip(moderate, y) {
      XCTAssertEqual(
        Double(output) / Foundation.exp(Double(input)), 1, accuracy: 3e-7, "exp(\(input))")
    }
  }
}

/// SHA-256 against the FIPS 180-4 examples and a multi-block input.
final class SHA256Tests: XCTestCase {
  func digest(_ text: String, chunk: Int = 7) -> String {
    var hash = SHA256()
    let bytes = Array(text.utf8)
    for start in stride(from: 0, to: bytes.count, by: chunk) {
      hash.update(bytes[start..<min(start + chunk, bytes.count)])
    }
    return hash.hexDigest()
  }

  func testKnownDigests() {
    XCTAssertEqual(digest(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    XCTAssertEqual(
      digest("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    XCTAssertEqual(
      digest("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
      "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    XCTAssertEqual(
      digest(String(repeating: "a", count: 1_000_000), chunk: 4093),
      "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
  }
}
