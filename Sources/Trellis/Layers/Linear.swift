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

  /// `y (rows, out) = x (rows, in) · Wᵀ + b`: by OpenBLAS in training (one product: its
  /// results depend on how a product is cut into pieces, so splitting it over two threads would
  /// change them), by `packedProduct` when inference passes W packed (`InferenceWeights`).
  func forward(
    _ x: MatrixView, store: ParameterStore, into y: MutableMatrixView,
    packedWeight: UnsafePointer<Float>? = nil
  ) {
    if let packedWeight, x.rowStride == inputSize, y.rowStride == outputSize {
      packedProduct(
        x.base, rows: x.rows, depth: inputSize, panels: packedWeight, columns: outputSize,
        into: y.base)
    } else {
      gemm(x, .none, store.valueMatrix(weight), .transposed, into: y)
    }
    addBias(store.value(bias), to: y.base, rows: y.rows, n: outputSize)
  }

  /// `∂x = ∂y · W` (overwritten); `∂W += ∂yᵀ · x`; `∂b += column sums of ∂y`. `x` is the
  /// input of the matching `forward`. ∂x is formed on one thread while ∂W and ∂b are formed on
  /// another (they read the same inputs and write disjoint memory): in training nothing else
  /// runs then, and the products are the same as one after the other.
  func backward(
    _ dy: MatrixView, input x: MatrixView, store: ParameterStore, dx: MutableMatrixView
  ) {
    DispatchQueue.concurrentPerform(iterations: 2) { part in
      if part == 0 {
        gemm(dy, .none, store.valueMatrix(weight), .none, into: dx)
      } else {
        gemm(dy, .transposed, x, .none, into: store.gradientMatrix(weight), beta: 1)
        addColumnSums(of: dy.base, rows: dy.rows, n: outputSize, to: store.gradient(bias))
      }
    }
  }
}
