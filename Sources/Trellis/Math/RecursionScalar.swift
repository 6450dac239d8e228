import TrellisKernels

/// The precisions of the CRF's scaled forward–backward recursions
/// (`LinearChain.scaledForwardBackward`): Float for training, whose products then run on
/// 8-lane (AVX2) or 16-lane (AVX-512) vectors, and Double, whose range (e^±708 against
/// Float's e^±88) takes any realistic spread of scores, for probabilities a user reads and as
/// training's fallback when Float's range does not suffice.
protocol RecursionScalar: BinaryFloatingPoint {
  /// c `(rows, columns)` = A `(rows, depth)` · W for W packed by `panels(_:columns:depth:transposed:)`,
  /// A read as stored or, `.transposed`, from a row-major `(depth, rows)` matrix in place.
  static func product(
    _ a: UnsafePointer<Self>, _ layout: Transpose, rows: Int, depth: Int,
    panels: UnsafePointer<Self>, columns: Int, into c: UnsafeMutablePointer<Self>)
  /// `w` packed for `product`: W `(columns, depth)` row-major, for `a · Wᵀ`, or, `transposed`,
  /// `(depth, columns)`, for `a · w`.
  static func panels(
    _ w: UnsafePointer<Self>, columns: Int, depth: Int, transposed: Bool
  ) -> [Self]
  /// y = e^x for `count` values x ≤ 0 that are finite (y may equal x).
  static func exponentials(_ x: UnsafePointer<Self>, into y: UnsafeMutablePointer<Self>, count: Int)
  /// y = Self(e^(x − shift)) for `count` Doubles x, exponentiated in Double (`exponentials`
  /// of Double): the potentials of the scaled recursions.
  static func exponentials(
    of x: UnsafePointer<Double>, minus shift: Double, into y: UnsafeMutablePointer<Self>,
    count: Int)
}

extension Float: RecursionScalar {
  static func product(
    _ a: UnsafePointer<Float>, _ layout: Transpose, rows: Int, depth: Int,
    panels: UnsafePointer<Float>, columns: Int, into c: UnsafeMutablePointer<Float>
  ) {
    guard layout == .transposed else {
      return packedProduct(a, rows: rows, depth: depth, panels: panels, columns: columns, into: c)
    }
    // The adding form adds each complete sum to c's element: 0 + sum is the sum.
    c.update(repeating: 0, count: rows * columns)
    addPackedProduct(
      a, .transposed, rows: rows, depth: depth, panels: panels, columns: columns, to: c)
  }

  static func panels(
    _ w: UnsafePointer<Float>, columns: Int, depth: Int, transposed: Bool
  ) -> [Float] {
    [Float](unsafeUninitializedCapacity: panelsSize(columns: columns, depth: depth)) {
      buffer, initialized in
      packPanels(w, columns: columns, depth: depth, transposed: transposed, at: buffer.baseAddress!)
      initialized = buffer.count
    }
  }

  /// The Float kernel gives exactly 0 below e^−87.3, where Float's normal range ends. Next to
  /// a term near 1 that mass is below what a Float sum registers anyway; in a step where the
  /// transitions shut off every label near the row's maximum, the step's sum is then 0 (or
  /// subnormal), which `BatchMarginals.isFinite` reports so the batch is redone in Double. A
  /// factor saturated at e^−87.3 instead (as σ and tanh use it) summed to a normal Float that
  /// stood for mass the scores did not have: a wrong loss and gradient, silently.
  static func exponentials(
    _ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, count: Int
  ) {
    kernels.exp(x, y, count)
  }

  static func exponentials(
    of x: UnsafePointer<Double>, minus shift: Double, into y: UnsafeMutablePointer<Float>,
    count: Int
  ) {
    kernels.exp_shifted_f64_to_f32(x, shift, y, count)
  }
}

extension Double: RecursionScalar {
  static func product(
    _ a: UnsafePointer<Double>, _ layout: Transpose, rows: Int, depth: Int,
    panels: UnsafePointer<Double>, columns: Int, into c: UnsafeMutablePointer<Double>
  ) {
    packedProduct(a, layout, rows: rows, depth: depth, panels: panels, columns: columns, into: c)
  }

  static func panels(
    _ w: UnsafePointer<Double>, columns: Int, depth: Int, transposed: Bool
  ) -> [Double] {
    doublePanels(w, columns: columns, depth: depth, transposed: transposed)
  }

  static func exponentials(
    _ x: UnsafePointer<Double>, into y: UnsafeMutablePointer<Double>, count: Int
  ) {
    Trellis.exponentials(x, into: y, count: count)
  }

  static func exponentials(
    of x: UnsafePointer<Double>, minus shift: Double, into y: UnsafeMutablePointer<Double>,
    count: Int
  ) {
    for k in 0..<count { y[k] = x[k] - shift }
    Trellis.exponentials(y, into: y, count: count)
  }
}
