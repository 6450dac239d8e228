import Foundation
import XCTest

@testable import Trellis

/// The vectorised exp, σ and tanh against Foundation's Double versions over their whole useful
/// range, including saturation and the scalar tail (a count that is not a multiple of 16).
final class FastMathTests: XCTestCase {
  func testAgainstDoublePrecisionReference() {
    let n = 10_007
    let x = (0..<n).map { Float($0) / Float(n) * 200 - 100 }
    var y = [Float](repeating: 0, count: n)
    x.withUnsafeBufferPointer { x in
      y.withUnsafeMutableBufferPointer { sigmoid(x.baseAddress!, into: $0.baseAddress!, count: n) }
    }
    for (input, output) in zip(x, y) {
      XCTAssertEqual(Double(output), 1 / (1 + Foundation.exp(-Double(input))), accuracy: 3e-7, "σ(\(input))")
    }
    x.withUnsafeBufferPointer { x in
      y.withUnsafeMutableBufferPointer { tanh(x.baseAddress!, into: $0.baseAddress!, count: n) }
    }
    for (input, output) in zip(x, y) {
      XCTAssertEqual(Double(output), Foundation.tanh(Double(input)), accuracy: 3e-7, "tanh(\(input))")
    }
    let moderate = (0..<n).map { Float($0) / Float(n) * 170 - 85 }
    moderate.withUnsafeBufferPointer { x in
      y.withUnsafeMutableBufferPointer { apply(exp, x.baseAddress!, into: $0.baseAddress!, count: n) }
    }
    for (input, output) in zip(moderate, y) {
      XCTAssertEqual(Double(output) / Foundation.exp(Double(input)), 1, accuracy: 3e-7, "exp(\(input))")
    }
  }
}
