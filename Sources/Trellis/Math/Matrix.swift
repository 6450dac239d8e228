/// A read-only row-major view of `rows × columns` Floats, row `r` starting at `base + r * rowStride`.
///
/// `rowStride` is BLAS's leading dimension: a view may be a column slice of a wider matrix
/// (the forward half of a BiLSTM output) or every `B`-th row of a time-major batch (one sentence's
/// emissions inside a `(T, B, L)` buffer, `rowStride = B * L`).
public struct MatrixView {
  public var base: UnsafePointer<Float>
  public var rows: Int
  public var columns: Int
  public var rowStride: Int

  public init(base: UnsafePointer<Float>, rows: Int, columns: Int, rowStride: Int? = nil) {
    self.base = base
    self.rows = rows
    self.columns = columns
    self.rowStride = rowStride ?? columns
    precondition(self.rowStride >= columns, "row stride \(self.rowStride) < columns \(columns)")
  }

  @inline(__always) public subscript(row: Int, column: Int) -> Float {
    base[row * rowStride + column]
  }

  /// The view of row `row`, a pointer to `columns` contiguous Floats.
  @inline(__always) public func row(_ row: Int) -> UnsafePointer<Float> { base + row * rowStride }
}

/// A mutable row-major view; see `MatrixView`.
public struct MutableMatrixView {
  public var base: UnsafeMutablePointer<Float>
  public var rows: Int
  public var columns: Int
  public var rowStride: Int

  public init(base: UnsafeMutablePointer<Float>, rows: Int, columns: Int, rowStride: Int? = nil) {
    self.base = base
    self.rows = rows
    self.columns = columns
    self.rowStride = rowStride ?? columns
    precondition(self.rowStride >= columns, "row stride \(self.rowStride) < columns \(columns)")
  }

  @inline(__always) public subscript(row: Int, column: Int) -> Float {
    get { base[row * rowStride + column] }
    nonmutating set { base[row * rowStride + column] = newValue }
  }

  @inline(__always) public func row(_ row: Int) -> UnsafeMutablePointer<Float> {
    base + row * rowStride
  }
}
