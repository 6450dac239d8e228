import Dispatch
import Foundation

/// Throughput measurements behind `trellis bench`: what the kernels achieve against what
/// OpenBLAS can do on this machine.
package enum Benchmark {
  /// Seconds of the fastest of `repetitions` runs of `body` (the least disturbed by other load).
  static func fastest(_ repetitions: Int, _ body: () -> Void) -> Double {
    var best = Double.infinity
    for _ in 0..<max(repetitions, 1) {
      let started = DispatchTime.now().uptimeNanoseconds
      body()
      best = min(best, Double(DispatchTime.now().uptimeNanoseconds - started) * 1e-9)
    }
    return best
  }

  /// GFLOP/s of `cblas_sgemm` on `(n, n) · (n, n)ᵀ` with `threads` OpenBLAS threads: the
  /// machine's BLAS limit that the encoder's products are compared against.
  package static func sgemmGFLOPs(size n: Int, threads: Int, repetitions: Int = 5) -> Double {
    var rng = SplitMix64(seed: 1)
    let a = (0..<n * n).map { _ in rng.nextUnitFloat() }
    var c = [Float](repeating: 0, count: n * n)
    let functions = OpenBLAS.functions
    functions.setThreadCount(Int32(threads))
    defer { functions.setThreadCount(1) }
    let sgemm = functions.sgemm
    let seconds = a.withUnsafeBufferPointer { a in
      c.withUnsafeMutableBufferPointer { c in
        let size = Int32(n)
        func product() {
          sgemm(
            OpenBLAS.rowMajor, OpenBLAS.noTranspose, OpenBLAS.transpose, size, size, size, 1,
            a.baseAddress, size, a.baseAddress, size, 0, c.baseAddress, size)
        }
        product()  // warm-up: thread start, packing buffers
        return fastest(repetitions, product)
      }
    }
    return 2 * Double(n * n * n) / seconds / 1e9
  }

  /// GFLOP/s of a bidirectional LSTM's forward and backward passes on a random `(T, B)` batch,
  /// counting only the matrix products (the elementwise work is what keeps them below the
  /// BLAS limit). Per direction, with G·H = 4H gate rows:
  ///   forward:  2·T·B·In·4H (input projection) + 2·(T−1)·B·H·4H (recurrence)
  ///   backward: 2·2·T·B·4H·In (∂Wx, ∂X) + 2·2·(T−1)·B·4H·H (∂Wh, ∂h recurrence)
  /// Throws when the system refuses the memory of the LSTM's weights.
  package static func lstmGFLOPs(
    inputSize: Int, hiddenSize: Int, batch B: Int, steps T: Int, repetitions: Int = 5
  ) throws -> (forward: Double, backward: Double) {
    let store = ParameterStore()
    let encoder = Encoder(kind: .bilstm, inputSize: inputSize, hiddenSize: hiddenSize, store: store)
    try store.allocate()
    var rng = SplitMix64(seed: 2)
    encoder.initialize(store, rng: &rng)
    let H = hiddenSize
    let width = encoder.outputSize
    let x = (0..<T * B * inputSize).map { _ in rng.nextUnitFloat() - 0.5 }
    let dOutput = (0..<T * B * width).map { _ in rng.nextUnitFloat() - 0.5 }
    var output = [Float](repeating: 0, count: T * B * width)
    var dx = [Float](repeating: 0, count: T * B * inputSize)
    let workspaces = [RecurrentWorkspace(), RecurrentWorkspace()]
    let steps = PackedSteps(lengths: [Int](repeating: T, count: B))
    func forward() {
      x.withUnsafeBufferPointer { x in
        output.withUnsafeMutableBufferPointer { output in
          encoder.forward(
            store: store, input: .rows(x.baseAddress!), output: output.baseAddress!,
            steps: steps, workspaces: workspaces)
        }
      }
    }
    func backward() {
      x.withUnsafeBufferPointer { x in
        dOutput.withUnsafeBufferPointer { dOutput in
          dx.withUnsafeMutableBufferPointer { dx in
            encoder.backward(
              store: store, x: x.baseAddress!, dOutput: dOutput.baseAddress!, dx: dx.baseAddress!,
              steps: steps, workspaces: workspaces)
          }
        }
      }
    }
    forward()
    backward()
    let forwardSeconds = fastest(repetitions, forward)
    forward()
    let backwardSeconds = fastest(repetitions, backward)
    let directions = 2.0
    let GH = 4.0 * Double(H)  // an LSTM's four gate blocks
    let input = 2 * Double(T * B * inputSize) * GH
    let recurrent = 2 * Double((T - 1) * B * H) * GH
    return (
      directions * (input + recurrent) / forwardSeconds / 1e9,
      directions * 2 * (input + recurrent) / backwardSeconds / 1e9
    )
  }
}
