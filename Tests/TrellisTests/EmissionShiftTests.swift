import XCTest

@testable import Trellis

/// The scaled recursions divide each token's emission factors by e^(max_j e[t][j]) before they
/// exponentiate (`ψ[t][j] = exp(e[t][j] − m_t)`), so that ψ ≤ 1 whatever the emissions' size;
/// the maximum is taken eight labels per step plus a tail. Emissions of several hundred, past
/// where e^x overflows even a Double (x > 709), hold only when every label takes part in that
/// maximum, whichever of the eight lanes or the tail it falls in.
final class EmissionShiftTests: XCTestCase {
  /// For label counts that fill one, two and three eight-label steps with and without a tail,
  /// every label in turn scores 800 above the rest at some token: log Z, marginals and pairwise
  /// sums of the scaled recursions (Double and Float potentials) against the log-space ones,
  /// which need no shift; and the CRF loss and emission gradient against them too.
  func testEveryLabelCanBeTheRowsMaximumFarAboveTheOthers() {
    var rng = SplitMix64(seed: 41)
    for L in [8, 11, 16, 19, 24] {
      let chain = LinearChain(labelCount: L)
      // T = L + 1 tokens: token t puts label t mod L 800 above the others, so each label is
      // the maximum of some row, in each position of the eight-label steps and of the tail.
      do {
        let T = L + 1
        var emissions = randomMatrix(rows: T, columns: L, scale: 2, rng: &rng)
        for t in 0..<T { emissions[t * L + t % L] += 800 }
        let parameters = randomMatrix(rows: 1, columns: chain.parameterCount, scale: 2, rng: &rng)
        let gold = (0..<T).map { _ in Int(rng.next() % UInt64(L)) }
        let name = "L = \(L)"
        emissions.withUnsafeBufferPointer { e in
          parameters.withUnsafeBufferPointer { θ in
            let view = MatrixView(base: e.baseAddress!, rows: T, columns: L)
            let reference = chain.forwardBackward(emissions: view, parameters: θ)
            XCTAssertTrue(reference.logZ.isFinite && reference.logZ > 790 * Double(T), name)
            let inDouble = chain.scaledForwardBackward(
              emissions: [view], potentials: chain.potentials(Double.self, parameters: θ))
            let inFloat = chain.scaledForwardBackward(
              emissions: [view], potentials: chain.potentials(Float.self, parameters: θ))
            XCTAssertTrue(inDouble.isFinite, name)
            XCTAssertTrue(inFloat.isFinite, "\(name): Float holds ψ ≤ 1")
            // Float's log Z sums a rounded log c per token (FloatRecursionTests): 1e−6 each.
            assertClose(
              [inDouble.logZ[0]], [reference.logZ], absolute: 0, relative: 1e-12, "\(name) log Z")
            assertClose(
              [inFloat.logZ[0]], [reference.logZ], absolute: 1e-4, relative: 0, "\(name) log Z")
            assertClose(inDouble.unary, reference.unary, absolute: 1e-9, relative: 0, name)
            assertClose(
              inFloat.unary.map(Double.init), reference.unary, absolute: 1e-5, relative: 0, name)
            assertClose(inDouble.pairwise, reference.pairwise, absolute: 1e-9, relative: 0, name)
          }
        }
        // Training's loss: log Z − s(y*), with ∂/∂e = P(y_t = l) − [y*_t = l].
        let result = headLossAndGradients(
          CRFHead(labelCount: L), [(emissions, gold)], parameters: parameters, labels: L)
        let (reference, goldScore) = emissions.withUnsafeBufferPointer { e in
          parameters.withUnsafeBufferPointer { θ in
            let view = MatrixView(base: e.baseAddress!, rows: T, columns: L)
            return (
              chain.forwardBackward(emissions: view, parameters: θ),
              chain.score(of: gold, emissions: view, parameters: θ)
            )
          }
        }
        XCTAssertEqual(result.loss, reference.logZ - goldScore, accuracy: 1e-4, name)
        let expected = (0..<T * L).map { reference.unary[$0] - (gold[$0 / L] == $0 % L ? 1 : 0) }
        assertClose(
          result.emissions[0].map(Double.init), expected, absolute: 1e-5, relative: 0,
          "\(name) emission gradient")
      }
    }
  }
}
