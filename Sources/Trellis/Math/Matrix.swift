/// A read-only row-major view of `rows × columns` Floats, row `r` starting at `base + r * rowStride`.
///
/// `rowStride` is BLAS's leading dimension: a view may be a column slice of a wider matrix
/// (the forward half of a BiLSTM output) or every `B`-th row of a time-major batch (one sentence's
/// emissions inside a `(T, B, L)` buffer, `rowStride = B * L`).
///
/// A view does not own its Floats: it is valid only while the memory it points into is (inside
/// a `withUnsafeBufferPointer` body, or while a layer's scratch buffer is not resized).
package struct MatrixView {
  /// The first element, row 0 column 0.
  package var base: UnsafePointer<Float>
  /// The number of rows.
  package var rows: Int
  /// The number of Floats in a row.
  package var columns: Int
  /// The distance in Floats from one row's start to the next (at least `columns`).
  package var rowStride: Int

  /// A view of `rows × columns` Floats at `base`, rows `rowStride` apart (default: packed,
  /// `rowStride = columns`).
  package init(base: UnsafePointer<Float>, rows: Int, columns: Int, rowStride: Int? = nil) {
    self.base = base
    self.rows = rows
    self.columns = columns
    self.rowStride = rowStride ?? columns
    precondition(self.rowStride >= columns, "row stride \(self.rowStride) < columns \(columns)")
  }

  /// The element at (`row`, `column`); neither index is checked.
  @inline(__always) package subscript(row: Int, column: Int) -> Float {
    base[row * rowStride + column]
  }

  /// The view of row `row`, a pointer to `columns` contiguous Floats.
  @inline(__always) package func row(_ row: Int) -> UnsafePointer<Float> { base + row * rowStride }
}

/// A mutable row-major view; see `MatrixView`. Writing through it changes the memory it views,
/// not the view, so a `let` view can be written.
package struct MutableMatrixView {
  /// The first element, row 0 column 0.
  package var base: UnsafeMutablePointer<Float>
  /// The number of rows.
  package var rows: Int
  /// The number of Floats in a row.
  package var columns: Int
  /// The distance in Floats from one row's start to the next (at least `columns`).
  package var rowStride: Int

  /// A view of `rows × columns` Floats at `base`, rows `rowStride` apart (default: packed,
  /// `rowStride = columns`).
  package init(base: UnsafeMutablePointer<Float>, rows: Int, columns: Int, rowStride: Int? = nil) {
    self.base = base
    self.rows = rows
    self.columns = columns
    self.rowStride = rowStride ?? columns
    precondition(self.rowStride >= columns, "row stride \(self.rowStride) < columns \(columns)")
  }

  /// The element at (`row`, `column`); neither index is checked.
  @inline(__always) package subscript(row: Int, column: Int) -> Float {
    get { base[row * rowStride + column] }
    nonmutating set { base[row * rowStride + column] = newValue }
  }

  /// The view of row `row`, a pointer to `columns` contiguous Floats.
  @inline(__always) package func row(_ row: Int) -> UnsafeMutablePointer<Float> {
    base + row * rowStride
  }
}
