/// The recurrent encoders selectable from the CLI (`--encoder bilstm`).
public enum EncoderKind: String, Codable, CaseIterable, Sendable {
  /// Bidirectional LSTM (the default): left-to-right and right-to-left states concatenated.
  case bilstm
  /// Left-to-right LSTM only: each token sees the words before it.
  case lstm
  /// Bidirectional Elman RNN (tanh cell).
  case birnn
  /// Left-to-right Elman RNN, the plain baseline.
  case rnn
  /// Bidirectional GRU.
  case bigru
  /// Left-to-right GRU.
  case gru

  /// Whether a second layer reads each sentence right to left and its states are concatenated.
  public var isBidirectional: Bool { [.bilstm, .birnn, .bigru].contains(self) }

  var cell: any RecurrentCell {
    switch self {
    case .bilstm, .lstm: LSTMCell()
    case .birnn, .rnn: ElmanCell()
    case .bigru, .gru: GRUCell()
    }
  }
}

/// What one direction's steps read, row `s·B + b` for its step s of sentence b: the input
/// projections ZX = X · Wxᵀ + bx `(T·B, G)` that `inputProjection` left in the workspace's
/// `zx`, or (inference, `InputProjectionTables`) word ids `(T·B)` whose rows of `table` `(V, G)`
/// already hold them.
enum RecurrentInput {
  case projectedRows
  case projected(table: UnsafePointer<Float>, words: [Int32])
}

/// One direction's Wx `(G, In)` and Wh `(G, H)` packed for `packedProduct` (`packPanels`).
struct DirectionPanels {
  let input: UnsafePointer<Float>
  let recurrent: UnsafePointer<Float>
}

/// Activations of one direction for one batch, grow-only; one per direction so the two
/// directions can run on two threads at once.
final class RecurrentWorkspace {
  let x = Scratch()  // (T·B, In) the inputs in step order, when that is not the batch's order
  let zx = Scratch()  // (T·B, G·H) input projections; reused as ∂zx in backward
  let zh = Scratch()  // (B, G·H) one step's recurrent projection
  let h = Scratch()  // (T·B, H) hidden states h_s
  /// (T·B, cacheWidth·H) what the cell keeps for backward; once backward's steps are done,
  /// the packed operands of its weight products.
  let cache = Scratch()
  let dh = Scratch()  // (T·B, H) ∂loss/∂h_s from above
  let dzh = Scratch()  // (T·B, G·H) ∂zh when it differs from ∂zx (GRU)
  let dhNext = Scratch()  // (B, H) ∂loss/∂h_s arriving from step s + 1
  let dhStep = Scratch()  // (B, H) full ∂loss/∂h_s at the current step
  let carry = Scratch()  // (B, carryWidth·H)
  let cellWork = Scratch()  // (B, H) the cell's per-step work space (`CellGradients.work`)
  /// The weight operand of the product at hand in `trellis_pack_panels`'s layout: in
  /// training's forward pass Wx, then Wh for every step; in backward Whᵀ for every step (the
  /// products after the steps pack theirs into `cache`). Inference brings Wx and Wh packed
  /// once per weight version.
  let panels = Scratch()
  let dx = Scratch()  // (T·B, In) ∂loss/∂x in the direction's step order
  /// (T, B) of the last forward pass, which the backward pass checks it continues.
  var forwardShape = (0, 0)
}

/// One direction of a recurrent layer over a time-major batch: rows `s·B + b` are step `s` of
/// sentence `b`. Parameters: `wx (G·H, In)`, `wh (G·H, H)`, `bx (G·H)`, optional `bh (G·H)`.
struct RecurrentLayer: Sendable {
  let cell: any RecurrentCell
  let inputSize: Int
  let hiddenSize: Int
  let wx: ParameterSlot
  let wh: ParameterSlot
  let bx: ParameterSlot
  let bh: ParameterSlot?

  var gateWidth: Int { cell.gateCount * hiddenSize }

  init(
    cell: any RecurrentCell, inputSize: Int, hiddenSize: Int, name: String, store: ParameterStore
  ) {
    self.cell = cell
    self.inputSize = inputSize
    self.hiddenSize = hiddenSize
    let g = cell.gateCount * hiddenSize
    wx = store.reserve("\(name).wx", rows: g, columns: inputSize)
    wh = store.reserve("\(name).wh", rows: g, columns: hiddenSize)
    bx = store.reserve("\(name).bx", rows: 1, columns: g)
    bh = cell.usesRecurrentBias ? store.reserve("\(name).bh", rows: 1, columns: g) : nil
  }

  /// Glorot-uniform input weights, orthogonal recurrent blocks (one `(H, H)` block per gate),
  /// zero biases except the LSTM forget block at 1 (Jozefowicz et al. 2015: the cell starts by
  /// remembering, so early gradients reach far back).
  func initialize(_ store: ParameterStore, rng: inout SplitMix64) {
    let limit = (6 / Float(inputSize + hiddenSize)).squareRoot()
    fillUniform(store.value(wx), count: wx.count, limit: limit, rng: &rng)
    for gate in 0..<cell.gateCount {
      fillOrthogonal(
        store.value(wh) + gate * hiddenSize * hiddenSize, rows: hiddenSize, columns: hiddenSize,
        rng: &rng)
    }
    if cell is LSTMCell {
      (store.value(bx) + hiddenSize).update(repeating: 1, count: hiddenSize)
    }
  }

  /// The input projections ZX = X · Wxᵀ + bx `(T·B, G)` of `x` `(T·B, In)` into the workspace's
  /// `zx`, for `forward` with `.projectedRows`: over Wx packed once per weight version
  /// (inference's `panels`) or here into the workspace's panels (training, once per batch);
  /// with `wordTable` (inference), the part of the rows' first columns from the table.
  func inputProjection(
    store: ParameterStore, x: UnsafePointer<Float>, steps T: Int, batch B: Int,
    workspace ws: RecurrentWorkspace, panels: DirectionPanels? = nil,
    wordTable: WordProjectionTable? = nil
  ) -> InputProjection {
    let G = gateWidth
    return InputProjection(
      x: x, rows: T * B, inputSize: inputSize, gateWidth: G,
      panels: panels?.input
        ?? UnsafePointer(packPanels(store.value(wx), columns: G, depth: inputSize, into: ws.panels)),
      bias: store.value(bx), zx: ws.zx.reserve(T * B * G), wordTable: wordTable)
  }

  /// Runs `steps` steps over `batch` rows of projected input, leaving `h` and `cache` in the
  /// workspace:  for s: zh = h_{s−1} · Whᵀ (+ bh);  cell(zx_s, zh).
  /// Every product is `packedProduct`'s, over Wh packed once for the batch (OpenBLAS packed it
  /// at every step). Training (no `panels`) packs Wh here and keeps every step's cache for
  /// `backward`. Inference passes it packed once per weight version (`InferenceWeights`) and
  /// keeps two steps of the cache, step s in slot s mod 2, since step s reads nothing older
  /// than s − 1; `backward` then refuses to run.
  func forward(
    store: ParameterStore, input: RecurrentInput, steps T: Int, batch B: Int,
    workspace ws: RecurrentWorkspace, panels: DirectionPanels? = nil
  ) {
    let keepsCache = panels == nil
    let H = hiddenSize
    let G = gateWidth
    let width = cell.cacheWidth * H
    let h = ws.h.reserve(T * B * H)
    let cacheSlots = keepsCache ? T : min(T, 2)
    _ = ws.cache.reserve(max(cacheSlots * B * width, 1))  // `cellStep` reads `ws.cache.pointer`
    let zh = ws.zh.reserve(B * G)
    // Step s's input projections: rows s·B ..< (s+1)·B of zx, or of the table by word id.
    func runSteps(zx: UnsafePointer<Float>, words: UnsafePointer<Int32>?) {
      let recurrentPanels =
        panels?.recurrent
        ?? UnsafePointer(packPanels(store.value(wh), columns: G, depth: H, into: ws.panels))
      for s in 0..<T {
        if s == 0 {
          zh.update(repeating: 0, count: B * G)
        } else {
          packedProduct(
            h + (s - 1) * B * H, rows: B, depth: H, panels: recurrentPanels, columns: G, into: zh)
        }
        if let bh { addBias(store.value(bh), to: zh, rows: B, n: G) }
        let stepInput =
          words.map { StepInput(base: zx, width: G, words: $0 + s * B) }
          ?? StepInput(base: zx + s * B * G, width: G, words: nil)
        cell.forward(
          cellStep(s, batch: B, workspace: ws, cacheSlots: cacheSlots), zx: stepInput, zh: zh)
      }
    }
    switch input {
    case .projectedRows:
      runSteps(zx: ws.zx.pointer, words: nil)
    case .projected(let table, let words):
      words.withUnsafeBufferPointer { runSteps(zx: table, words: $0.baseAddress!) }
    }
    ws.forwardShape = keepsCache ? (T, B) : (0, 0)
  }

  /// Step `s` of the activations `forward` keeps in `workspace` for a batch of `B` rows; the
  /// cache holds `cacheSlots` steps, step s in slot s mod `cacheSlots`.
  private func cellStep(
    _ s: Int, batch B: Int, workspace ws: RecurrentWorkspace, cacheSlots: Int
  ) -> CellStep {
    let H = hiddenSize
    let width = cell.cacheWidth * H
    let h = ws.h.pointer
    let cache = ws.cache.pointer
    return CellStep(
      rows: B, hidden: H, h: h + s * B * H, cache: cache + (s % cacheSlots) * B * width,
      hPrevious: s == 0 ? nil : UnsafePointer(h + (s - 1) * B * H),
      cachePrevious: s == 0 ? nil : UnsafePointer(cache + ((s - 1) % cacheSlots) * B * width))
  }

  /// Backpropagation through time from `workspace.dh` (T·B, H), newest step first:
  ///   ∂h_s = dh_s + ∂h_s(from s+1);  cell → ∂zx_s, ∂zh_s;  ∂h_{s−1}(from s) = direct + ∂zh_s · Wh
  /// (by `addPackedProduct` over Whᵀ packed once), then the bias gradients. It leaves the weight
  /// gradients and ∂X, products over all steps at once, to `weightProducts`, with their
  /// second operands packed into the cell's cache, dead from here to the next forward pass
  /// (the LSTM's and the GRU's caches hold all three, so they add nothing to the peak; the
  /// Elman cell keeps no cache). `x` is the forward pass's input.
  func backwardThroughTime(
    store: ParameterStore, x: UnsafePointer<Float>, steps T: Int, batch B: Int,
    workspace ws: RecurrentWorkspace
  ) {
    precondition(ws.forwardShape == (T, B), "backward needs the forward pass of the same batch")
    let H = hiddenSize
    let G = gateWidth
    let dh = ws.dh.pointer
    let dzx = ws.zx.reserve(T * B * G)  // zx is dead after forward; reuse it for ∂zx
    let dzh = cell.sharesPreactivationGradient ? dzx : ws.dzh.reserve(T * B * G)
    let dhNext = ws.dhNext.zeroed(B * H)
    let dhStep = ws.dhStep.reserve(B * H)
    let carry = ws.carry.zeroed(max(B * cell.carryWidth * H, 1))
    let work = ws.cellWork.reserve(B * H)
    let transposedPanels = packPanels(
      store.value(wh), columns: H, depth: G, transposed: true, into: ws.panels)
    for s in stride(from: T - 1, through: 0, by: -1) {
      for k in 0..<B * H { dhStep[k] = dh[s * B * H + k] + dhNext[k] }
      cell.backward(
        cellStep(s, batch: B, workspace: ws, cacheSlots: T),
        CellGradients(
          dh: dhStep, carry: carry, dzx: dzx + s * B * G, dzh: dzh + s * B * G,
          dhPreviousDirect: dhNext, work: work))
      if s > 0 {
        addPackedProduct(
          dzh + s * B * G, .none, rows: B, depth: G, panels: transposedPanels, columns: H,
          to: dhNext)
      }
    }
    addColumnSums(of: dzx, rows: T * B, n: G, to: store.gradient(bx))
    if let bh { addColumnSums(of: dzh, rows: T * B, n: G, to: store.gradient(bh)) }
    let layout = OperandLayout(layer: self, steps: T, batch: B)
    let operands = ws.cache.reserve(layout.total)
    packPanels(
      x, columns: inputSize, depth: T * B, transposed: true, at: operands + layout.input)
    if T > 1 {
      packPanels(
        ws.h.pointer, columns: H, depth: (T - 1) * B, transposed: true,
        at: operands + layout.states)
    }
    packPanels(
      store.value(wx), columns: inputSize, depth: G, transposed: true,
      at: operands + layout.weights)
  }

  /// Where `backwardThroughTime` packs the products' second operands in the cache: Xᵀ (In,
  /// T·B), H[..<T−1]ᵀ (H, (T−1)·B) and Wx (G, In) read as `(In, G)`ᵀ, one after the other.
  private struct OperandLayout {
    let input = 0
    let states: Int
    let weights: Int
    let total: Int

    init(layer: RecurrentLayer, steps T: Int, batch B: Int) {
      states = panelsSize(columns: layer.inputSize, depth: T * B)
      weights = states + panelsSize(columns: layer.hiddenSize, depth: (T - 1) * B)
      total = weights + panelsSize(columns: layer.inputSize, depth: layer.gateWidth)
    }
  }

  /// The products that finish `backwardThroughTime`'s batch, cut by rows so that `Encoder`
  /// can share them between two threads (each element is summed in k order by whichever
  /// thread computes it, so the cut changes no bit):
  ///   ∂Wx (G, In) += ∂ZXᵀ · X,  ∂Wh (G, H) += ∂ZH[1...]ᵀ · H[..<T−1],  ∂X (T·B, In) = ∂ZX · Wx.
  /// ∂X goes to `dx` (T·B, In).
  func weightProducts(
    store: ParameterStore, dx: UnsafeMutablePointer<Float>, steps T: Int, batch B: Int,
    workspace ws: RecurrentWorkspace
  ) -> WeightProducts {
    let G = gateWidth
    let layout = OperandLayout(layer: self, steps: T, batch: B)
    let operands = UnsafePointer(ws.cache.pointer)
    let dzx = UnsafePointer(ws.zx.pointer)
    let dzh = cell.sharesPreactivationGradient ? dzx : UnsafePointer(ws.dzh.pointer)
    return WeightProducts(
      inputSize: inputSize, hiddenSize: hiddenSize, gateWidth: G, steps: T, batch: B,
      dzx: dzx, dzh: dzh, inputPanels: operands + layout.input,
      statePanels: operands + layout.states, weightPanels: operands + layout.weights,
      inputWeightGradient: store.gradient(wx), recurrentWeightGradient: store.gradient(wh),
      dx: dx)
  }
}

/// One direction's products after its backward steps (`RecurrentLayer.weightProducts`), with
/// the row counts to cut them by.
struct WeightProducts {
  enum Product: CaseIterable {
    case inputWeights, recurrentWeights, input
  }

  let inputSize: Int
  let hiddenSize: Int
  let gateWidth: Int
  let steps: Int
  let batch: Int
  let dzx: UnsafePointer<Float>
  let dzh: UnsafePointer<Float>
  let inputPanels: UnsafePointer<Float>
  let statePanels: UnsafePointer<Float>
  let weightPanels: UnsafePointer<Float>
  let inputWeightGradient: UnsafeMutablePointer<Float>
  let recurrentWeightGradient: UnsafeMutablePointer<Float>
  let dx: UnsafeMutablePointer<Float>

  /// The rows of `product`'s result: G for the weight gradients, T·B for ∂X; ∂Wh has none
  /// for one step (no step has a previous state).
  func rows(of product: Product) -> Int {
    switch product {
    case .inputWeights: gateWidth
    case .recurrentWeights: steps > 1 ? gateWidth : 0
    case .input: steps * batch
    }
  }

  /// Rows `rows` of `product`'s result.
  func run(_ product: Product, rows: Range<Int>) {
    let G = gateWidth
    let TB = steps * batch
    switch product {
    case .inputWeights:
      addPackedProduct(
        dzx, .transposed, rows: G, depth: TB, panels: inputPanels, columns: inputSize,
        to: inputWeightGradient, rowRange: rows)
    case .recurrentWeights:
      addPackedProduct(
        dzh + batch * G, .transposed, rows: G, depth: TB - batch, panels: statePanels,
        columns: hiddenSize, to: recurrentWeightGradient, rowRange: rows)
    case .input:
      packedProduct(
        dzx + rows.lowerBound * G, rows: rows.count, depth: G, panels: weightPanels,
        columns: inputSize, into: dx + rows.lowerBound * inputSize)
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
    let G = gateWidth
    let zxRows = zx + rows.lowerBound * G
    if let wordTable {
      // Each row's sums over its word's columns from the table, then on over the others.
      let D = wordTable.depth
      for r in rows {
        (zx + r * G).update(from: wordTable.table + Int(wordTable.words[r]) * G, count: G)
      }
      continuePackedProduct(
        x + rows.lowerBound * inputSize + D, rowStride: inputSize, rows: rows.count, from: D,
        depth: inputSize, panels: panels, columns: G, into: zxRows)
    } else {
      packedProduct(
        x + rows.lowerBound * inputSize, rows: rows.count, depth: inputSize, panels: panels,
        columns: G, into: zxRows)
    }
    addBias(bias, to: zxRows, rows: rows.count, n: G)
  }
}

/// A direction's table of the sums over the input rows' first `depth` columns (the word
/// embedding; `InputProjectionTables`), and each row's word id in the direction's step order.
struct WordProjectionTable {
  let table: UnsafePointer<Float>
  let words: [Int32]
  let depth: Int
}
