import Foundation
import TrellisKernels

/// SplitMix64 (Steele, Lea & Flood 2014): a 64-bit state, full period, passes BigCrush.
///
/// One seeded generator is threaded through initialisation, shuffling, word dropout and dropout
/// masks, so the same seed and data give the same model byte for byte.
struct SplitMix64: RandomNumberGenerator, Codable, Sendable {
  /// The whole generator: a checkpoint that stores it resumes the same sequence.
  private(set) var state: UInt64

  /// A generator whose sequence is fixed by `seed` (`--seed`).
  init(seed: UInt64) { state = seed }

  /// What each draw adds to the state, the dropout kernel's constant too (trellis_kernels.h).
  /// Draw n after a state s is the output mix of s + n·γ alone, so the generator can jump
  /// ahead (`advanced(by:)`), and the kernel draws eight at once that way.
  static let gamma = UInt64(TRELLIS_SPLITMIX_GAMMA)

  /// The generator after `count` more draws, without drawing them.
  func advanced(by count: Int) -> SplitMix64 {
    SplitMix64(seed: state &+ UInt64(count) &* Self.gamma)
  }

  /// The next 64 random bits.
  mutating func next() -> UInt64 {
    state &+= Self.gamma
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }

  /// A uniform Float in [0, 1) from the top 24 bits (every value exactly representable).
  mutating func nextUnitFloat() -> Float { Float(next() >> 40) * 0x1p-24 }

  /// A uniform Double in [0, 1) from the top 53 bits.
  mutating func nextUnitDouble() -> Double { Double(next() >> 11) * 0x1p-53 }

  /// A standard normal sample by Box–Muller (one of the pair; simplicity over speed at init time).
  mutating func nextGaussian() -> Double {
    let u1 = max(nextUnitDouble(), 0x1p-53)
    let u2 = nextUnitDouble()
    return (-2 * Foundation.log(u1)).squareRoot() * Foundation.cos(2 * Double.pi * u2)
  }
}
