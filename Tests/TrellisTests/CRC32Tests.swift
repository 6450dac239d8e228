import XCTest

@testable import Trellis

/// `crc32`: the slicing-by-8 loop against the one-bit-at-a-time definition of CRC-32 (IEEE).
final class CRC32Tests: XCTestCase {
  /// CRC-32 straight from its definition: reflected polynomial 0xEDB88320, one bit at a time.
  func definition(_ bytes: [UInt8], continuing start: UInt32 = 0) -> UInt32 {
    var crc = ~start
    for byte in bytes {
      crc ^= UInt32(byte)
      for _ in 0..<8 { crc = crc & 1 != 0 ? 0xEDB8_8320 ^ (crc >> 1) : crc >> 1 }
    }
    return ~crc
  }

  func crc(_ bytes: [UInt8], continuing start: UInt32 = 0) -> UInt32 {
    bytes.withUnsafeBytes { crc32($0, continuing: start) }
  }

  /// The standard check value, and every length 0…40 (the 8-byte steps and every tail) and a
  /// long buffer of random bytes, from several starting values.
  func testMatchesTheDefinition() {
    XCTAssertEqual(crc(Array("123456789".utf8)), 0xCBF4_3926)
    var rng = SplitMix64(seed: 3)
    let random = (0..<5_000).map { _ in UInt8(truncatingIfNeeded: Int(rng.nextUnitFloat() * 256)) }
    for start: UInt32 in [0, 1, 0xCBF4_3926, 0xFFFF_FFFF] {
      for length in Array(0...40) + [4_999, 5_000] {
        let bytes = Array(random.prefix(length))
        XCTAssertEqual(
          crc(bytes, continuing: start), definition(bytes, continuing: start),
          "length \(length), start \(start)")
      }
    }
  }

  /// Checksumming in pieces (as checkpoints are written) equals checksumming the whole.
  func testPiecesContinueTheWhole() {
    let bytes = (0..<1_000).map { UInt8($0 % 251) }
    for cut in [0, 1, 7, 8, 9, 500, 999, 1_000] {
      XCTAssertEqual(
        crc(Array(bytes[cut...]), continuing: crc(Array(bytes[..<cut]))), crc(bytes), "cut \(cut)")
    }
  }
}
