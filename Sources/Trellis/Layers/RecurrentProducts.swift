/// One direction's products after its backward steps (`RecurrentLayer.weightProducts`), with
/// the row counts to cut them by.
struct WeightProducts {
  enum Product: CaseIterable {
    case inputWeights, recurrentWeights, input
  }

  let inputSize: Int
  let hiddenSize: Int
  let gateWidth: Int
  /// N, the packed rows, of which the first step's come first.
  let rows: Int
  let firstStepRows: Int
  let dzx: UnsafePointer<Float>
  let dzh: UnsafePointer<Float>
  let inputPanels: UnsafePointer<Float>
  let statePanels: UnsafePointer<Float>
  let weightPanels: UnsafePointer<Float>
  let inputWeightGradient: UnsafeMutablePointer<Float>
  let recurrentWeightGradient: UnsafeMutablePointer<Float>
  let dx: UnsafeMutablePointer<Float>

  /// The rows of `product`'s result: G·H for the weight gradients, N for ∂X; ∂Wh has none
  /// when no sentence has a second step (no row has a previous state).
  func rows(of product: Product) -> Int {
    switch product {
    case .inputWeights: gateWidth
    case .recurrentWeights: rows > firstStepRows ? gateWidth : 0
    case .input: rows
    }
  }

  /// Rows `range` of `product`'s result.
  func run(_ product: Product, rows range: Range<Int>) {
    let GH = gateWidth
    switch product {
    case .inputWeights:
      addPackedProduct(
        dzx, .transposed, rows: GH, depth: rows, panels: inputPanels, columns: inputSize,
        to: inputWeightGradient, rowRange: range)
    case .recurrentWeights:
      addPackedProduct(
        dzh + firstStepRows * GH, .transposed, rows: GH, depth: rows - firstStepRows,
        panels: statePanels, columns: hiddenSize, to: recurrentWeightGradient, rowRange: range)
    case .input:
      packedProduct(
        dzx + range.lowerBound * GH, rows: range.count, depth: GH, panels: weightPanels,
        columns: inputSize, into: dx + range.lowerBound * inputSize)
    }
  }
}

/// One direction's input projections (`RecurrentLayer.inputProjection`), cut by rows as
/// `WeightProducts` are: each row is its own product and bias sum.
struct InputProjection {
  let x: UnsafePointer<Float>
  let rows: Int
  let inputSize: Int
  let gateWidth: Int
  let panels: UnsafePointer<Float>
  let bias: UnsafePointer<Float>
  let zx: UnsafeMutablePointer<Float>
  let wordTable: WordProjectionTable?

  /// Rows `rows` of ZX.
  func run(rows: Range<Int>) {
    let GH = gateWidth
    let zxRows = zx + rows.lowerBound * GH
    if let wordTable {
      // Each row's sums over its word's columns from the table, then on over the others.
      let D = wordTable.depth
      for r in rows {
        (zx + r * GH).update(from: wordTable.table + Int(wordTable.words[r]) * GH, count: GH)
      }
      continuePackedProduct(
        x + rows.lowerBound * inputSize + D, rowStride: inputSize, rows: rows.count, from: D,
        depth: inputSize, panels: panels, columns: GH, into: zxRows)
    } else {
      packedProduct(
        x + rows.lowerBound * inputSize, rows: rows.count, depth: inputSize, panels: panels,
        columns: GH, into: zxRows)
    }
    addBias(bias, to: zxRows, rows: rows.count, n: GH)
  }
}

/// A direction's table of the sums over the input rows' first `depth` columns (the word
/// embedding; `InputProjectionTables`), and each row's word id in the direction's step order.
struct WordProjectionTable {
  let table: UnsafePointer<Float>
  let words: [Int32]
  let depth: Int
}
