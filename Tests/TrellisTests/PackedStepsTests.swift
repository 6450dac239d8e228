import XCTest

@testable import Trellis

/// `PackedSteps` and the encoder that runs over it: every token has one packed row per
/// direction, a row's previous state is the row of the same index a step earlier, and a
/// sentence's outputs and ∂x are the bits it gets alone, whatever the batch pads it with.
final class PackedStepsTests: XCTestCase {
  let batches = [[3, 1, 4, 2], [1], [5, 5, 5], [2, 0, 2], [1, 6, 1, 6, 3]]

  func testEveryTokenHasOnePackedRowAndItsPreviousStateOneStepUp() {
    for lengths in batches {
      let packed = PackedSteps(lengths: lengths)
      let B = lengths.count
      XCTAssertEqual(packed.rows, lengths.reduce(0, +), "\(lengths)")
      XCTAssertEqual(packed.isBatchLayout, Set(lengths).count == 1, "\(lengths)")
      for d in 0..<2 {
        var seen = Set<Int>()
        for b in 0..<B {
          for t in 0..<lengths[b] {
            let row = packed.packedRow(direction: d, time: t, sentence: b)
            XCTAssertTrue(seen.insert(row).inserted, "\(lengths) d\(d): row \(row) twice")
            // Back from the packed row (offsets[s] + i) to the padded one.
            let s = packed.offsets.lastIndex { $0 <= row }!
            XCTAssertLessThan(row - packed.offsets[s], packed.counts[s])
            XCTAssertEqual(
              packed.batchRow(direction: d, step: s, index: row - packed.offsets[s]), t * B + b)
            // The token read a step earlier in this direction is the row of the same index.
            let previousTime = d == 0 ? t - 1 : t + 1
            if s > 0 {
              XCTAssertEqual(
                packed.packedRow(direction: d, time: previousTime, sentence: b),
                row - packed.offsets[s] + packed.offsets[s - 1])
            }
          }
        }
        XCTAssertEqual(seen, Set(0..<packed.rows), "\(lengths) d\(d)")
      }
    }
  }

  /// Each sentence of a padded batch against the same sentence as a batch of its own, for
  /// every cell and in both directions; the padding of the batch's inputs, of `dOutput` and of
  /// the buffers written holds NaN, which must reach nothing, and the encoder writes zeros
  /// at the padding of its output and of ∂x.
  func testASentenceGetsTheBitsItGetsAloneAndThePaddingZeros() throws {
    let (In, H) = (5, 7)
    for kind in [EncoderKind.bilstm, .bigru, .birnn] {
      let store = ParameterStore()
      let encoder = Encoder(kind: kind, inputSize: In, hiddenSize: H, store: store)
      try store.allocate()
      var rng = SplitMix64(seed: 3)
      encoder.initialize(store, rng: &rng)
      let width = encoder.outputSize
      let lengths = [3, 1, 4, 2]
      let (T, B) = (lengths.max()!, lengths.count)
      let isReal = { (row: Int) in row / B < lengths[row % B] }
      let x = (0..<T * B * In).map { isReal($0 / In) ? rng.nextUnitFloat() - 0.5 : .nan }
      let dOutput = (0..<T * B * width).map {
        isReal($0 / width) ? rng.nextUnitFloat() - 0.5 : .nan
      }
      let workspaces = [RecurrentWorkspace(), RecurrentWorkspace()]
      // Output and ∂x of `rows` of x and dOutput, one sentence's or the batch's.
      func run(lengths: [Int], x: [Float], dOutput: [Float]) -> (output: [Float], dx: [Float]) {
        let steps = PackedSteps(lengths: lengths)
        let rows = steps.steps * steps.batch
        var output = [Float](repeating: .nan, count: rows * width)
        var dx = [Float](repeating: .nan, count: rows * In)
        x.withUnsafeBufferPointer { x in
          encoder.forward(
            store: store, input: .rows(x.baseAddress!), output: &output, steps: steps,
            workspaces: workspaces)
          encoder.backward(
            store: store, x: x.baseAddress!, dOutput: dOutput, dx: &dx, steps: steps,
            workspaces: workspaces)
        }
        return (output, dx)
      }
      let batch = run(lengths: lengths, x: x, dOutput: dOutput)
      for row in 0..<T * B {
        let outputRow = batch.output[row * width..<(row + 1) * width]
        let dxRow = batch.dx[row * In..<(row + 1) * In]
        if isReal(row) {
          XCTAssertFalse(outputRow.contains { !$0.isFinite }, "\(kind) row \(row)")
          XCTAssertFalse(dxRow.contains { !$0.isFinite }, "\(kind) row \(row)")
        } else {
          XCTAssertEqual(Array(outputRow), Array(repeating: 0, count: width), "\(kind) row \(row)")
          XCTAssertEqual(Array(dxRow), Array(repeating: 0, count: In), "\(kind) row \(row)")
        }
      }
      // Sentence b's rows of a (T·B, width) array, in time order.
      func sentence(_ b: Int, of values: [Float], width: Int) -> [Float] {
        (0..<lengths[b]).flatMap { t -> ArraySlice<Float> in
          let row = t * B + b
          return values[row * width..<(row + 1) * width]
        }
      }
      for b in 0..<B {
        let alone = run(
          lengths: [lengths[b]], x: sentence(b, of: x, width: In),
          dOutput: sentence(b, of: dOutput, width: width))
        XCTAssertEqual(
          sentence(b, of: batch.output, width: width).map(\.bitPattern),
          alone.output.map(\.bitPattern), "\(kind) sentence \(b): output")
        XCTAssertEqual(
          sentence(b, of: batch.dx, width: In).map(\.bitPattern), alone.dx.map(\.bitPattern),
          "\(kind) sentence \(b): ∂x")
      }
    }
  }
}
