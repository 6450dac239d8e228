import XCTest

@testable import Trellis

/// Training's CRF marginals come from the scaled recursions in Float (`CRFHead`): they must
/// agree with the Double recursions (themselves checked against enumeration and the log-space
/// reference in LinearChainTests) to Float's precision, and a batch beyond Float's range must
/// be redone in Double rather than give a non-finite loss.
final class FloatRecursionTests: XCTestCase {
  /// Views into one buffer holding every sentence's emissions, for the body's duration.
  func withBatch<R>(
    _ emissions: [[Float]], labels L: Int, _ body: ([MatrixView]) -> R
  ) -> R {
    let storage = UnsafeMutableBufferPointer<Float>.allocate(
      capacity: emissions.map(\.count).reduce(0, +))
    defer { storage.deallocate() }
    var offset = 0
    var views: [MatrixView] = []
    for e in emissions {
      _ = UnsafeMutableBufferPointer(rebasing: storage[offset..<offset + e.count]).initialize(
        from: e)
      views.append(MatrixView(base: storage.baseAddress! + offset, rows: e.count / L, columns: L))
      offset += e.count
    }
    return body(views)
  }

  func testFloatRecursionsAgreeWithDouble() {
    var rng = SplitMix64(seed: 17)
    let L = 9
    let lengths = [7, 1, 12, 3, 12, 5, 2, 9]
    let chain = LinearChain(labelCount: L)
    let emissions = lengths.map { randomMatrix(rows: $0, columns: L, scale: 6, rng: &rng) }
    let parameters = randomMatrix(rows: 1, columns: L * L + 2 * L, scale: 3, rng: &rng)
    let (inFloat, inDouble) = withBatch(emissions, labels: L) { views in
      parameters.withUnsafeBufferPointer {
        (
          chain.scaledForwardBackward(
            emissions: views, potentials: chain.potentials(Float.self, parameters: $0)),
          chain.scaledForwardBackward(
            emissions: views, potentials: chain.potentials(Double.self, parameters: $0))
        )
      }
    }
    XCTAssertTrue(inFloat.isFinite)
    // log Z sums each step's log c in Double; each c carries Float's rounding (2⁻²⁴ ≈ 6e−8
    // relative per operation, over L terms), so log Z is good to about 1e−6 per step.
    assertClose(inFloat.logZ, inDouble.logZ, absolute: 1e-5, relative: 1e-6, "log Z")
    assertClose(
      inFloat.unary.map(Double.init), inDouble.unary, absolute: 1e-5, relative: 0, "unary")
    assertClose(
      inFloat.pairwise.map(Double.init), inDouble.pairwise, absolute: 1e-4, relative: 1e-5,
      "pairwise")
  }

  /// A start that allows only label 0, transitions out of 0 at e^−100 (to 1) and e^−200 of
  /// the largest, and a second token whose label 1 scores 120 below the others: in Float
  /// every factor of α̂[1] underflows and its sum is 0; in Double it is about e^−200 and is
  /// normalised.
  func testABatchBeyondFloatsRangeIsRedoneInDouble() {
    let L = 3
    let chain = LinearChain(labelCount: L)
    var parameters = [Float](repeating: -200, count: L * L + 2 * L)
    parameters[0 * L + 1] = -100
    parameters[2 * L + 2] = 0
    parameters[chain.startOffset + 0] = 0
    for l in 0..<L { parameters[chain.endOffset + l] = 0 }
    assertTheHeadMatchesTheLogSpaceReference(
      parameters: parameters, emissions: [5, 0, 0, 0, -120, 0], gold: [0, 1], labels: L)
  }

  /// Every transition into label 0 at −120 and a second token whose labels 1 and 2 score 150
  /// and 200 below label 0: ψ[1] = (1, e^−150, e^−200), and the transitions shut off its 1.
  /// A Float exp that saturated at e^−87.3 made both small factors about 1e−38, so α̂[1]'s
  /// sum was a normal Float, the batch stayed in Float, and its log Z (−85.5 for −118.9),
  /// loss and marginals were wrong; with those factors 0 the sum is 0 and Double redoes it.
  func testEmissionsSpreadPastFloatsRangeAreRedoneInDouble() {
    let L = 3
    var parameters = [Float](repeating: 0, count: L * L + 2 * L)
    for i in 0..<L { parameters[i * L + 0] = -120 }
    assertTheHeadMatchesTheLogSpaceReference(
      parameters: parameters, emissions: [0, 0, 0, 0, -150, -200], gold: [1, 1], labels: L)
  }

  /// Two labels, A and B; B may not start (−200) and A → B scores −200, so in Float no forward
  /// weight reaches B (e^−200 rounds to 0), and nothing else is forbidden. Ten tokens score
  /// both labels 0, but the last, where A scores −87 below B: its scale c is e^−87, a normal
  /// Float, so every scale and z is normal, while the backward weight g[t][B] = ψ·β̂/c of every
  /// step is about e^87 ≈ 6·10³⁷. Summed over nine steps, A → B's pairwise sum
  /// Σ_t α̂[t−1][A] · g[t][B] passes Float's largest (3.4·10³⁸), and times its potential 0 it is
  /// NaN, though every marginal is finite: the batch must be redone in Double all the same.
  func testAPairwiseSumBeyondFloatsRangeIsRedoneInDouble() {
    let L = 2
    let chain = LinearChain(labelCount: L)
    var parameters = [Float](repeating: 0, count: chain.parameterCount)
    parameters[0 * L + 1] = -200
    parameters[chain.startOffset + 1] = -200
    var emissions = [Float](repeating: 0, count: 10 * L)
    emissions[9 * L + 0] = -87
    assertTheHeadMatchesTheLogSpaceReference(
      parameters: parameters, emissions: emissions, gold: [Int](repeating: 0, count: 10),
      labels: L)
  }

  /// A → A scores −20, and the second token's A −80 below its B, which no forward weight reaches
  /// (B may not start, A → B is −200, and B may not end): the step's scale c = e^−20 · e^−80 =
  /// e^−100 ≈ 3.7·10⁻⁴⁴ is a subnormal Float, a multiple of 2^−149 ≈ 1.4·10⁻⁴⁵, so it carries an
  /// error of up to 2% into log Z, while every marginal, pairwise sum and z stays finite and
  /// normal. A scale that is not a normal number sends the batch to Double.
  func testASubnormalScaleIsRedoneInDouble() {
    let L = 2
    let chain = LinearChain(labelCount: L)
    var parameters = [Float](repeating: 0, count: chain.parameterCount)
    parameters[0 * L + 0] = -20
    parameters[0 * L + 1] = -200
    parameters[chain.startOffset + 1] = -200
    parameters[chain.endOffset + 1] = -200
    assertTheHeadMatchesTheLogSpaceReference(
      parameters: parameters, emissions: [0, 0, -80, 0], gold: [0, 0], labels: L)
  }

  /// The case's scaled recursions in Float must report that they do not hold it, and the
  /// CRF head's loss and emission gradient must be the log-space reference's.
  func assertTheHeadMatchesTheLogSpaceReference(
    parameters: [Float], emissions: [Float], gold: [Int], labels L: Int,
    file: StaticString = #filePath, line: UInt = #line
  ) {
    let chain = LinearChain(labelCount: L)
    let head = CRFHead(labelCount: L)
    let T = gold.count
    withBatch([emissions], labels: L) { views in
      parameters.withUnsafeBufferPointer { θ in
        let inFloat = chain.scaledForwardBackward(
          emissions: views, potentials: chain.potentials(Float.self, parameters: θ))
        XCTAssertFalse(
          inFloat.isFinite, "the case must exceed Float's range to test the fallback",
          file: file, line: line)
        let reference = chain.forwardBackward(emissions: views[0], parameters: θ)
        var emissionGradient = [Float](repeating: 0, count: emissions.count)
        var parameterGradient = [Float](repeating: 0, count: parameters.count)
        let loss = emissionGradient.withUnsafeMutableBufferPointer { dE in
          parameterGradient.withUnsafeMutableBufferPointer { dθ in
            head.lossAndGradient(
              emissions: views, gold: [gold], parameters: θ,
              emissionGradients: [MutableMatrixView(base: dE.baseAddress!, rows: T, columns: L)],
              parameterGradient: dθ)
          }
        }
        let expected = reference.logZ - chain.score(of: gold, emissions: views[0], parameters: θ)
        assertClose(
          [loss], [expected], absolute: 1e-9, relative: 1e-9, "loss", file: file, line: line)
        // ∂loss/∂e[t][l] = P(y_t = l) − [y*_t = l], with the reference's marginals.
        let expectedGradient = (0..<emissions.count).map {
          reference.unary[$0] - (gold[$0 / L] == $0 % L ? 1 : 0)
        }
        assertClose(
          emissionGradient.map(Double.init), expectedGradient, absolute: 1e-6, relative: 0,
          "emission gradient", file: file, line: line)
        // ∂loss/∂trans[i][j] = Σ_t P(y_{t−1} = i, y_t = j) − #{gold steps i → j}, and the start
        // and end the first and last token's marginals less gold's.
        var expectedParameters = reference.pairwise
        for (i, j) in zip(gold, gold.dropFirst()) { expectedParameters[i * L + j] -= 1 }
        for l in 0..<L {
          expectedParameters.append(reference.unary[l] - (gold[0] == l ? 1 : 0))
        }
        for l in 0..<L {
          expectedParameters.append(reference.unary[(T - 1) * L + l] - (gold[T - 1] == l ? 1 : 0))
        }
        assertClose(
          parameterGradient.map(Double.init), expectedParameters, absolute: 1e-6, relative: 0,
          "transition, start and end gradient", file: file, line: line)
      }
    }
  }

  /// The potentials as one thread made them before they were shared (each entry's Double
  /// score, the shift by `Sequence.max`'s comparisons, then `Scalar(e^(x − shift))`), bit for
  /// bit, made on one thread and on the pair, for parameters with NaN, −∞ and zeros of both
  /// signs where the maximum's choice among equal elements shows.
  func testPotentialsAreTheOneThreadDefinitionBitForBit() {
    var rng = SplitMix64(seed: 29)
    let L = 13
    // Bit patterns, Float's widened exactly.
    func bits<Scalar: RecursionScalar>(_ values: [Scalar]) -> [UInt64] {
      values.map { Double($0).bitPattern }
    }
    let count = L * L + 2 * L
    func reference<Scalar: RecursionScalar>(_ scores: ArraySlice<Float>, _: Scalar.Type)
      -> ([Scalar], Double)
    {
      let x = scores.map(Double.init)
      var shift = x.first ?? 0
      for value in x where shift < value { shift = value }
      if shift == -.infinity { shift = 0 }
      var factors = x.map { $0 - shift }
      exponentials(factors, into: &factors, count: factors.count)
      return (factors.map { Scalar($0) }, shift)
    }
    func check<Scalar: RecursionScalar>(_ parameters: [Float], _ scalar: Scalar.Type) {
      let chain = LinearChain(labelCount: L)
      let wanted = [
        reference(parameters[0..<L * L], scalar),
        reference(parameters[chain.startOffset..<chain.startOffset + L], scalar),
        reference(parameters[chain.endOffset..<chain.endOffset + L], scalar),
      ]
      for concurrently in [false, true] {
        let potentials = parameters.withUnsafeBufferPointer {
          chain.potentials(scalar, parameters: $0, concurrently: concurrently)
        }
        let got = [
          (potentials.transition, potentials.transitionShift),
          (potentials.start, potentials.startShift), (potentials.end, potentials.endShift),
        ]
        for (part, (g, w)) in zip(["transition", "start", "end"], zip(got, wanted)) {
          XCTAssertEqual(g.1.bitPattern, w.1.bitPattern, "\(part) shift, \(concurrently)")
          XCTAssertEqual(bits(g.0), bits(w.0), "\(part), \(scalar), concurrently \(concurrently)")
        }
        let panels = potentials.transition.withUnsafeBufferPointer {
          (
            Scalar.panels($0.baseAddress!, columns: L, depth: L, transposed: true),
            Scalar.panels($0.baseAddress!, columns: L, depth: L, transposed: false)
          )
        }
        XCTAssertEqual(bits(potentials.forwardPanels), bits(panels.0), "forward panels")
        XCTAssertEqual(bits(potentials.backwardPanels), bits(panels.1), "backward panels")
      }
    }
    let random = randomMatrix(rows: 1, columns: count, scale: 3, rng: &rng)
    var zeros = random.map { $0 < 0 ? $0 : 0 }  // the maximum 0, and the first 0 is −0
    (zeros[0], zeros[1]) = (-1, -0.0)
    var nanFirst = random
    nanFirst[0] = .nan
    var nanLater = random
    nanLater[5] = .nan
    nanLater[L * L + 1] = .nan
    let forbidden = random.map { $0 < 1 ? -Float.infinity : $0 }
    let allForbidden = [Float](repeating: -.infinity, count: count)
    for parameters in [random, zeros, nanFirst, nanLater, forbidden, allForbidden] {
      check(parameters, Float.self)
      check(parameters, Double.self)
    }
  }
}
