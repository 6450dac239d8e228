import Dispatch

/// An affine layer over the rows of a matrix: `y = x · Wᵀ + b`, `W (out, in)`, `b (out)`.
struct Linear: Sendable {
  let weight: ParameterSlot
  let bias: ParameterSlot

  var inputSize: Int { weight.columns }
  var outputSize: Int { weight.rows }

  init(name: String, inputSize: Int, outputSize: Int, store: ParameterStore) {
    weight = store.reserve("\(name).w", rows: outputSize, columns: inputSize)
    bias = store.reserve("\(name).b", rows: 1, columns: outputSize)
  }

  /// Glorot-uniform weights, zero bias.
  func initialize(_ store: ParameterStore, rng: inout SplitMix64) {
    let limit = (6 / Float(inputSize + outputSize)).squareRoot()
    fillUniform(store.value(weight), count: weight.count, limit: limit, rng: &rng)
  }

  /// `y (rows, out) = x (rows, in) · Wᵀ + b`. (One product: OpenBLAS's results depend on
  /// how a product is cut into pieces, so splitting it over two threads would change them.)
  func forward(_ x: MatrixView, store: ParameterStore, into y: MutableMatrixView) {
    gemm(x, .none, store.valueMatrix(weight), .transposed, into: y)
    addBias(store.value(bias), to: y.base, rows: y.rows, n: outputSize)
  }

  /// `∂x = ∂y · W` (overwritten); `∂W += ∂yᵀ · x`; `∂b += column sums of ∂y`. `x` is the
  /// input of the matching `forward`. With `concurrently`, ∂x on one thread while ∂W and ∂b
  /// are formed on another: they read the same inputs and write disjoint memory.
  func backward(
    _ dy: MatrixView, input x: MatrixView, store: ParameterStore, dx: MutableMatrixView,
    concurrently: Bool = false
  ) {
    Self.run(concurrently ? 2 : 1) { part in
      if part == 0 || !concurrently {
        gemm(dy, .none, store.valueMatrix(weight), .none, into: dx)
      }
      if part == 1 || !concurrently {
        gemm(dy, .transposed, x, .none, into: store.gradientMatrix(weight), beta: 1)
        addColumnSums(of: dy.base, rows: dy.rows, n: outputSize, to: store.gradient(bias))
      }
    }
  }

  /// `body(0)`, …, `body(count − 1)`, on as many threads when count > 1.
  private static func run(_ count: Int, _ body: (Int) -> Void) {
    if count == 1 {
      body(0)
    } else {
      DispatchQueue.concurrentPerform(iterations: count, execute: body)
    }
  }
}
