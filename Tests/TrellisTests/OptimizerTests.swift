import Foundation
import XCTest

@testable import Trellis

/// The optimisers' updates against their papers' formulas, computed in Double.
final class OptimizerTests: XCTestCase {
  /// Five steps of Adam and Nadam on 37 parameters against Kingma & Ba's and Dozat's updates:
  /// m̂ = m/(1−β1^t) for Adam; for Nadam (Dozat 2016's Algorithm 2, as PyTorch's `NAdam` and
  /// Keras write it) m̂ = μ_{t+1}·m/(1 − Π_{i≤t+1} μ_i) + (1 − μ_t)·g/(1 − Π_{i≤t} μ_i) with
  /// μ_t = β1·(1 − ½·0.96^(0.004·t)); θ ← θ − η·m̂/(√v̂ + ε̂) with v̂ = v/(1−β2^t) and
  /// ε̂ = ε/√(1−β2^t) (the ε of the kernels, which fold v̂'s correction into the step).
  /// Steps 6–10 continue after the optimiser's state is moved to a new one, as `--resume`
  /// moves it, which must take the schedule up where it was. Gradients of about 1e-8 too,
  /// where √v̂ is of ε's size and ε̂'s place tells the update from PyTorch's η·m̂/(√v̂ + ε).
  func testAdamAndNadamFollowTheirFormulas() throws {
    for kind in [OptimizerKind.adam, .nadam] {
      for scale in [1.0, 1e-8] {
        try checkAgainstFormulas(kind, gradientScale: scale)
      }
    }
  }

  private func checkAgainstFormulas(_ kind: OptimizerKind, gradientScale: Double) throws {
    let store = ParameterStore()
    _ = store.reserve("w", rows: 37, columns: 1)
    try store.allocate()
    var rng = SplitMix64(seed: 11)
    var θ = (0..<37).map { _ in Double(rng.nextUnitFloat()) - 0.5 }
    for k in 0..<37 { store.values[k] = Float(θ[k]) }
    var m = [Double](repeating: 0, count: 37)
    var v = m
    var optimizer = kind.makeOptimizer(parameterCount: 37)
    let (β1, β2, ε, η) = (0.9, 0.999, 1e-8, 0.01)
    func μ(_ t: Int) -> Double { β1 * (1 - 0.5 * pow(0.96, 0.004 * Double(t))) }
    var product = 1.0  // Π_{i≤t} μ_i
    for t in 1...10 {
      if t == 6 {
        var resumed = kind.makeOptimizer(parameterCount: 37)
        resumed.state = optimizer.state
        optimizer = resumed
      }
      let g = (0..<37).map { _ in (Double(rng.nextUnitFloat()) * 2 - 1) * gradientScale }
      for k in 0..<37 { store.gradients[k] = Float(g[k]) }
      optimizer.step(store, rate: Float(η))
      let (c1, c2) = (1 - pow(β1, Double(t)), 1 - pow(β2, Double(t)))
      product *= μ(t)
      for k in 0..<37 {
        m[k] = β1 * m[k] + (1 - β1) * g[k]
        v[k] = β2 * v[k] + (1 - β2) * g[k] * g[k]
        let mHat =
          kind == .adam
          ? m[k] / c1
          : μ(t + 1) * m[k] / (1 - product * μ(t + 1)) + (1 - μ(t)) * g[k] / (1 - product)
        θ[k] -= η * mHat / ((v[k] / c2).squareRoot() + ε / c2.squareRoot())
      }
    }
    let got = (0..<37).map { Double(store.values[$0]) }
    assertClose(got, θ, absolute: 1e-5, relative: 1e-4, "\(kind), gradients × \(gradientScale)")
  }

  /// Nadam's step differs from Adam's (its look-ahead term is there).
  func testNadamIsNotAdam() {
    func oneStep(_ kind: OptimizerKind) -> Float {
      let store = ParameterStore()
      _ = store.reserve("w", rows: 1, columns: 1)
      try! store.allocate()  // one parameter
      var optimizer = kind.makeOptimizer(parameterCount: 1)
      for _ in 1...2 {
        store.gradients[0] = 0.5
        optimizer.step(store, rate: 0.01)
      }
      return store.values[0]
    }
    XCTAssertNotEqual(oneStep(.adam), oneStep(.nadam))
  }

  /// Two stores of `count` parameters holding the same values, drawn from `rng`, those
  /// values, and a fresh optimiser of `kind` for each store.
  func twoRuns(_ kind: OptimizerKind, count: Int, rng: inout SplitMix64) -> (
    stores: [ParameterStore], initial: [Float], optimizers: [any Optimizer]
  ) {
    let initial = (0..<count).map { _ in rng.nextUnitFloat() - 0.5 }
    let stores = (0..<2).map { _ in
      let store = ParameterStore()
      _ = store.reserve("w", rows: count, columns: 1)
      try! store.allocate()  // a test's few parameters
      for k in 0..<count { store.values[k] = initial[k] }
      return store
    }
    return (stores, initial, stores.map { _ in kind.makeOptimizer(parameterCount: count) })
  }

  /// The two stores' values have the same bits, the two optimisers the same state, and the
  /// first value moved from `initial`'s.
  func assertSameUpdates(
    _ stores: [ParameterStore], _ optimizers: [any Optimizer], initial: [Float],
    _ what: String, file: StaticString = #filePath, line: UInt = #line
  ) {
    let bits = stores.map { store in (0..<store.count).map { store.values[$0].bitPattern } }
    XCTAssertEqual(bits[0], bits[1], what, file: file, line: line)
    XCTAssertEqual(optimizers[0].state, optimizers[1].state, what, file: file, line: line)
    XCTAssertNotEqual(
      bits[0][0], initial[0].bitPattern, "\(what) moved nothing", file: file, line: line)
  }

  /// A step over ranges that leave out parameters whose gradient and state are zero (as
  /// `TrainingRun.updatedRanges` leaves out a pretrained vocabulary's unseen words) gives the
  /// bits of a step over all of them, with every optimiser; on 40,000 parameters, so the
  /// ranges are split over the thread pair.
  func testAStepOverRangesGivesTheBitsOfAFullStep() {
    let count = 40_000
    let skipped = [10_000..<20_003, 39_990..<40_000]
    let ranges = [0..<10_000, 20_003..<39_990]
    for kind in OptimizerKind.allCases {
      var rng = SplitMix64(seed: 4)
      var (stores, initial, optimizers) = twoRuns(kind, count: count, rng: &rng)
      for _ in 1...3 {
        let g = (0..<count).map { _ in rng.nextUnitFloat() * 2 - 1 }
        for store in stores {
          for k in 0..<count { store.gradients[k] = g[k] }
          for range in skipped { for k in range { store.gradients[k] = 0 } }
        }
        optimizers[0].step(stores[0], rate: 0.01)
        optimizers[1].step(stores[1], rate: 0.01, gradientScale: 1, ranges: ranges)
      }
      assertSameUpdates(stores, optimizers, initial: initial, "\(kind)")
    }
  }

  /// A step with a gradient scale (clipping's factor) gives the bits of a step over the
  /// gradients scaled beforehand, each a rounded Float product, with every optimiser, and
  /// leaves the gradients in its ranges zero and the rest as they were.
  func testAScaledStepIsAStepOverScaledGradientsAndLeavesThemZero() {
    let count = 40_000
    let ranges = [0..<10_000, 20_003..<39_990]
    let scale: Float = 0.3711
    for kind in OptimizerKind.allCases {
      var rng = SplitMix64(seed: 8)
      var (stores, initial, optimizers) = twoRuns(kind, count: count, rng: &rng)
      for _ in 1...3 {
        let g = (0..<count).map { _ in rng.nextUnitFloat() * 2 - 1 }
        for k in 0..<count { (stores[0].gradients[k], stores[1].gradients[k]) = (g[k], g[k]) }
        for range in ranges { for k in range { stores[1].gradients[k] *= scale } }
        optimizers[0].step(stores[0], rate: 0.01, gradientScale: scale, ranges: ranges)
        optimizers[1].step(stores[1], rate: 0.01, gradientScale: 1, ranges: ranges)
        for k in 0..<count {
          let kept = ranges.contains { $0.contains(k) } ? 0 : g[k]
          XCTAssertEqual(stores[0].gradients[k], kept, "\(kind) gradient \(k)")
          if stores[0].gradients[k] != kept { return }
        }
      }
      assertSameUpdates(stores, optimizers, initial: initial, "\(kind)")
    }
  }

  /// Averaging on 40,000 parameters (so its update is cut over the thread pair): after each
  /// step the average has the bits of the recurrence avg ← avg + (θ − avg) / n element by
  /// element in Float, and after five steps it is the mean of the five θs to rounding.
  func testAveragingFollowsItsRecurrenceAndIsTheMean() throws {
    let count = 40_000
    let store = ParameterStore()
    _ = store.reserve("w", rows: count, columns: 1)
    try store.allocate()
    var rng = SplitMix64(seed: 9)
    let initial = (0..<count).map { _ in rng.nextUnitFloat() - 0.5 }
    for k in 0..<count { store.values[k] = initial[k] }
    var optimizer = ParameterAveraging(
      OptimizerKind.sgd.makeOptimizer(parameterCount: count), initial: initial)
    var expected = initial
    var sums = [Double](repeating: 0, count: count)
    for n in 1...5 {
      for k in 0..<count { store.gradients[k] = rng.nextUnitFloat() * 2 - 1 }
      optimizer.step(store, rate: 0.1)
      for k in 0..<count {
        expected[k] += (store.values[k] - expected[k]) / Float(n)
        sums[k] += Double(store.values[k])
      }
      XCTAssertEqual(
        optimizer.evaluationParameters!.map(\.bitPattern), expected.map(\.bitPattern), "step \(n)")
    }
    assertClose(
      optimizer.evaluationParameters!.map(Double.init), sums.map { $0 / 5 }, absolute: 1e-6,
      relative: 1e-5, "the mean")
  }

  /// Each optimiser's default learning rate, as documented: Adam's 0.001 (Kingma & Ba 2015's
  /// α), Nadam's 0.002 (Dozat 2016's and Keras's `Nadam` default), plain SGD's 0.1.
  func testDefaultLearningRates() {
    XCTAssertEqual(OptimizerKind.adam.defaultLearningRate, 0.001)
    XCTAssertEqual(OptimizerKind.nadam.defaultLearningRate, 0.002)
    XCTAssertEqual(OptimizerKind.sgd.defaultLearningRate, 0.1)
  }

  /// A state set on an optimiser that has made steps of its own, more of them than the state
  /// holds, makes it update as the optimiser the state came from, with every optimiser: Nadam's
  /// running product of momenta must follow the state's step count, not its own steps.
  func testAStateSetOnAUsedOptimiserContinuesAsItsSource() {
    let count = 5
    for kind in OptimizerKind.allCases {
      var rng = SplitMix64(seed: 9)
      var (stores, initial, optimizers) = twoRuns(kind, count: count, rng: &rng)
      func gradients() -> [Float] { (0..<count).map { _ in rng.nextUnitFloat() * 2 - 1 } }
      let scratch = ParameterStore()
      _ = scratch.reserve("w", rows: count, columns: 1)
      try! scratch.allocate()  // five parameters
      for _ in 1...7 {
        let g = gradients()
        for k in 0..<count { scratch.gradients[k] = g[k] }
        optimizers[1].step(scratch, rate: 0.01)
      }
      for _ in 1...3 {
        let g = gradients()
        for k in 0..<count { stores[0].gradients[k] = g[k] }
        optimizers[0].step(stores[0], rate: 0.01)
      }
      for k in 0..<count { stores[1].values[k] = stores[0].values[k] }
      optimizers[1].state = optimizers[0].state
      for _ in 1...2 {
        let g = gradients()
        for (store, b) in zip(stores, [0, 1]) {
          for k in 0..<count { store.gradients[k] = g[k] }
          optimizers[b].step(store, rate: 0.01)
        }
      }
      assertSameUpdates(stores, optimizers, initial: initial, "\(kind)")
    }
  }

  /// `OptimizerKind.slabCount` is the number of slabs each kind's state keeps, so that
  /// `TrainingState.checkMemory` asks for the memory the state takes; and a state larger than
  /// the system gives is refused with a message before it is made, not with a trap.
  func testTheStatesMemoryIsAskedForBeforeItIsMade() {
    for kind in OptimizerKind.allCases {
      XCTAssertEqual(
        kind.slabCount, kind.makeOptimizer(parameterCount: 3).state.slabs.count, "\(kind)")
    }
    var options = TrainingOptions()
    XCTAssertNoThrow(
      try TrainingState.checkMemory(parameterCount: 1000, inferenceWeights: 1000, options: options))
    options.average = true
    // 2^44 parameters, six slabs (Adam's two, the average, three copies), and as many derived:
    // 448 TiB, past any address space.
    XCTAssertThrowsError(
      try TrainingState.checkMemory(
        parameterCount: 1 << 44, inferenceWeights: 1 << 44, options: options)
    ) {
      XCTAssertTrue(
        ($0 as? TrainingFailure)?.message.hasPrefix("the run needs 469762049 MB for") ?? false,
        "\($0)")
    }
  }
}
