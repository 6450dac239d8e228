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

  /// `y (rows, out) = x (rows, in) · Wᵀ + b`, x and y dense, by `packedProduct` over W in
  /// panels: packed once per weight version by inference (`packedWeight`, `InferenceWeights`),
  /// or here into `panels` (training, once per batch). Each element is summed in k order
  /// whichever rows a call covers, so with `concurrently` the rows are split over two threads
  /// without changing a bit (OpenBLAS's results depend on how a product is cut).
  func forward(
    _ x: MatrixView, store: ParameterStore, into y: MutableMatrixView,
    packedWeight: UnsafePointer<Float>?, panels: Scratch, concurrently: Bool
  ) {
    precondition(x.rowStride == inputSize && y.rowStride == outputSize && x.rows == y.rows)
    let weights =
      packedWeight
      ?? UnsafePointer(
        packPanels(store.value(weight), columns: outputSize, depth: inputSize, into: panels))
    // Each part adds the bias to its own rows: added after both halves on the calling thread,
    // it pulled every row of y into that core's caches.
    func product(rows: Range<Int>) {
      let output = y.base + rows.lowerBound * outputSize
      packedProduct(
        x.base + rows.lowerBound * inputSize, rows: rows.count, depth: inputSize,
        panels: weights, columns: outputSize, into: output)
      addBias(store.value(bias), to: output, rows: rows.count, n: outputSize)
    }
    if concurrently && x.rows >= Self.rowsWorthTwoThreads {
      let half = x.rows / 2
      ThreadPair.shared.run { part in product(rows: part == 0 ? 0..<half : half..<x.rows) }
    } else {
      product(rows: 0..<x.rows)
    }
  }

  /// Below this many rows a product is not worth waking a second thread for: 128 rows of
  /// ATIS's output layer (200 inputs, 120 labels) are about 6 MFLOP, some 50 µs, against the
  /// few microseconds the wake-up takes.
  static let rowsWorthTwoThreads = 128

  /// `∂x = ∂y · W` (overwritten); `∂W += ∂yᵀ · x`; `∂b += column sums of ∂y`, all dense.
  /// `x` is the input of the matching `forward`. Both products are `packedProduct`'s, over Wᵀ
  /// packed into `panels.weight` and xᵀ into `panels.input` (∂yᵀ is read in place). ∂x and ∂W
  /// (with ∂b) are one `SharedWork` each on the thread pair, cut into chunks of rows: they read
  /// the same inputs and write disjoint memory, and every element is the same sum whichever
  /// thread forms it. (As one half each, the calling thread waited for the other in 1.4% of a
  /// training profile's samples: ∂W's half also packs x and sums ∂b's columns.)
  func backward(
    _ dy: MatrixView, input x: MatrixView, store: ParameterStore, dx: MutableMatrixView,
    panels: (weight: Scratch, input: Scratch)
  ) {
    let rows = dy.rows
    precondition(
      dy.rowStride == outputSize && x.rowStride == inputSize && dx.rowStride == inputSize
        && x.rows == rows && dx.rows == rows)
    var weightPanels: UnsafeMutablePointer<Float>?
    var inputPanels: UnsafeMutablePointer<Float>?
    let dxChunks = productChunks(of: rows)
    let weightChunks = productChunks(of: outputSize)
    ThreadPair.shared.share([
      SharedWork(
        prepare: {
          weightPanels = packPanels(
            store.value(weight), columns: inputSize, depth: outputSize, transposed: true,
            into: panels.weight)
          return dxChunks.count
        },
        chunk: { i in
          let chunk = dxChunks[i]
          packedProduct(
            dy.base + chunk.lowerBound * outputSize, rows: chunk.count, depth: outputSize,
            panels: weightPanels!, columns: inputSize, into: dx.base + chunk.lowerBound * inputSize)
        }),
      SharedWork(
        prepare: {
          inputPanels = packPanels(
            x.base, columns: inputSize, depth: rows, transposed: true, into: panels.input)
          addColumnSums(of: dy.base, rows: rows, n: outputSize, to: store.gradient(bias))
          return weightChunks.count
        },
        chunk: { i in
          addPackedProduct(
            dy.base, .transposed, rows: outputSize, depth: rows, panels: inputPanels!,
            columns: inputSize, to: store.gradient(weight), rowRange: weightChunks[i])
        }),
    ])
  }
}
