import Foundation
import XCTest

@testable import Trellis

/// Clipping against exploding gradients (`TrainingRun.update`): a step whose gradients have a
/// global norm above `clipNorm` moves the parameters along the gradients scaled to norm
/// `clipNorm`, and a step at or below it, or with clipping off (`clipNorm` 0), along the
/// gradients as they are.
final class GradientClippingTests: XCTestCase {
  let train = [
    Sentence(tokens: ["show", "flights", "to", "boston"], labels: ["O", "O", "O", "B-city"]),
    Sentence(tokens: ["fares", "to", "denver"], labels: ["O", "O", "B-city"]),
  ]

  /// A fresh run of a small BiLSTM-CRF with clipping at `clipNorm`; the same seed gives every
  /// call the same parameters.
  func run(clipNorm: Double) -> TrainingRun {
    var options = TrainingOptions()
    options.clipNorm = clipNorm
    return smallRun(on: train, options: options)
  }

  /// Writes `gradient` times `factor` (each a rounded Float product, as the optimiser's step
  /// scales) into the run's updated ranges, in order.
  func write(_ gradient: [Float], times factor: Float = 1, into run: TrainingRun) {
    let g = run.model.store.gradients
    var next = 0
    for range in run.updatedRanges {
      for k in range {
        g[k] = gradient[next] * factor
        next += 1
      }
    }
  }

  func values(of run: TrainingRun) -> [UInt32] {
    (0..<run.model.store.count).map { run.model.store.values[$0].bitPattern }
  }

  /// For gradient norms on both sides of `clipNorm` (5, the default), and close to it: the
  /// step's parameters have the bits of an unclipped step along the gradients scaled by
  /// min(1, clipNorm / norm) beforehand, which differs from the unscaled step's exactly when
  /// the norm is above `clipNorm`.
  func testAStepIsClippedExactlyWhenTheNormIsAboveClipNorm() {
    let clipNorm = 5.0
    let size = run(clipNorm: clipNorm).updatedRanges.reduce(0) { $0 + $1.count }
    var rng = SplitMix64(seed: 12)
    let direction = (0..<size).map { _ in rng.nextUnitFloat() * 2 - 1 }
    for wanted in [0.5, 0.999, 1.001, 1.5, 3.0].map({ $0 * clipNorm }) {
      let clipped = run(clipNorm: clipNorm)
      write(direction, into: clipped)
      let unitNorm = clipped.model.store.gradientNorm(over: clipped.updatedRanges)
      // The norm is the Euclidean one, summed here in Double on its own.
      let euclidean = direction.map { Double($0) * Double($0) }.reduce(0, +).squareRoot()
      XCTAssertEqual(unitNorm, euclidean, accuracy: 1e-9 * euclidean)
      write(direction, times: Float(wanted / unitNorm), into: clipped)
      let norm = clipped.model.store.gradientNorm(over: clipped.updatedRanges)
      let gradient = (0..<size).map { direction[$0] * Float(wanted / unitNorm) }

      let reference = run(clipNorm: clipNorm)
      write(gradient, times: norm > clipNorm ? Float(clipNorm / norm) : 1, into: reference)
      let unscaled = run(clipNorm: clipNorm)
      write(gradient, into: unscaled)

      clipped.update(gradientNorm: norm, learningRate: 0.01)
      // A norm of 0 is never above clipNorm: these two steps are unscaled.
      reference.update(gradientNorm: 0, learningRate: 0.01)
      unscaled.update(gradientNorm: 0, learningRate: 0.01)
      XCTAssertEqual(values(of: clipped), values(of: reference), "norm \(norm)")
      if norm > clipNorm {
        XCTAssertNotEqual(values(of: clipped), values(of: unscaled), "norm \(norm) not clipped")
      } else {
        XCTAssertEqual(values(of: clipped), values(of: unscaled), "norm \(norm) clipped")
      }
    }
  }

  /// With `clipNorm` 0 (`--clip 0`) no step is clipped, however large its gradients.
  func testClipNormZeroTurnsClippingOff() {
    var rng = SplitMix64(seed: 13)
    let size = run(clipNorm: 0).updatedRanges.reduce(0) { $0 + $1.count }
    let gradient = (0..<size).map { _ in (rng.nextUnitFloat() * 2 - 1) * 1000 }
    let off = run(clipNorm: 0)
    let unscaled = run(clipNorm: 0)
    write(gradient, into: off)
    write(gradient, into: unscaled)
    off.update(
      gradientNorm: off.model.store.gradientNorm(over: off.updatedRanges), learningRate: 0.01)
    unscaled.update(gradientNorm: 0, learningRate: 0.01)
    XCTAssertEqual(values(of: off), values(of: unscaled))
  }
}
