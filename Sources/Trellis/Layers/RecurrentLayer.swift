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
  public var isBidirectional: Bool {
    switch self {
    case .bilstm, .birnn, .bigru: true
    case .lstm, .rnn, .gru: false
    }
  }

  var cell: any RecurrentCell {
    switch self {
    case .bilstm, .lstm: LSTMCell()
    case .birnn, .rnn: ElmanCell()
    case .bigru, .gru: GRUCell()
    }
  }
}

/// What one direction's steps read, a packed row per token (`PackedSteps`): the input
/// projections ZX = X · Wxᵀ + bx `(N, G·H)` that `inputProjection` left in the workspace's `zx`;
/// or that projection, run over each step's rows into `zx` just before the step reads them;
/// or (inference, `InputProjectionTables`) word ids `(N)` whose rows of `table` `(V, G·H)`
/// already hold them.
enum RecurrentInput {
  case projectedRows
  case projectedAtEachStep(InputProjection)
  case projected(table: UnsafePointer<Float>, words: [Int32])
}

/// One direction's Wx `(G·H, In)` and Wh `(G·H, H)` packed for `packedProduct` (`packPanels`).
struct DirectionPanels {
  let input: UnsafePointer<Float>
  let recurrent: UnsafePointer<Float>
}

/// Activations of one direction for one batch, grow-only; one per direction so the two
/// directions can run on two threads at once. N is the batch's tokens, its packed rows
/// (`PackedSteps`).
final class RecurrentWorkspace {
  let x = Scratch()  // (N, In) the inputs packed, unless they are the batch's rows as they are
  let zx = Scratch()  // (N, G·H) input projections; reused as ∂zx in backward
  let zh = Scratch()  // (B, G·H) one step's recurrent projection
  let h = Scratch()  // (N, H) hidden states h_s
  /// (N, cacheWidth·H) what the cell keeps for backward; once backward's steps are done,
  /// the packed operands of its weight products.
  let cache = Scratch()
  let dh = Scratch()  // (N, H) ∂loss/∂h_s from above
  let dzh = Scratch()  // (N, G·H) ∂zh when it differs from ∂zx (GRU)
  /// (N − counts[0], H) for ∂Wh: the previous state of every row of steps 1..<T, at its row.
  let previousStates = Scratch()
  let dhNext = Scratch()  // (B, H) ∂loss/∂h_s arriving from step s + 1
  let dhStep = Scratch()  // (B, H) full ∂loss/∂h_s at the current step
  let carry = Scratch()  // (B, carryWidth·H)
  let cellWork = Scratch()  // (B, H) the cell's per-step work space (`CellGradients.work`)
  /// The weight operand of the product at hand in `trellis_pack_panels`'s layout: in
  /// training's forward pass Wh for every step; in backward Whᵀ for every step (the products
  /// after the steps pack theirs into `cache`). Inference brings Wx and Wh packed once per
  /// weight version.
  let panels = Scratch()
  /// Training's Wx in `trellis_pack_panels`'s layout, beside `panels`' Wh, since the steps
  /// may project their own rows (`RecurrentInput.projectedAtEachStep`).
  let inputPanels = Scratch()
  let dx = Scratch()  // (N, In) ∂loss/∂x, packed
  /// (B, H) variational dropout's mask on the recurrent state (Gal & Ghahramani 2016), 0 or
  /// 1/(1 − p): row i for the packed rows' sentence i at every step, so step s's product
  /// reads h_{s−1} ⊙ mask, and the backward pass masks what it sends back through Wh. Used
  /// while `dropsRecurrentState`, which the model sets for each pass.
  let recurrentMask = Scratch()
  var dropsRecurrentState = false
  /// (B, H) one step's masked previous state, or (backward) its masked ∂h_{s−1} through Wh.
  let maskedStep = Scratch()
  /// (T, N) of the last forward pass, which the backward pass checks it continues.
  var forwardShape = (0, 0)

  /// Draws `recurrentMask` for a batch of `batch` sentences of `hidden` units at rate `p`
  /// (one draw per value from `rng`, as `applyDropout`'s), and turns `dropsRecurrentState` on.
  func drawRecurrentMask(batch: Int, hidden: Int, rate p: Float, rng: inout SplitMix64) {
    let count = batch * hidden
    let ones = maskedStep.reserve(count)
    ones.update(repeating: 1, count: count)
    applyDropout(ones, mask: recurrentMask.reserve(count), count: count, rate: p, rng: &rng)
    dropsRecurrentState = true
  }
}

/// One direction of a recurrent layer over a batch's packed steps (`PackedSteps`): rows
/// `offsets[s] ..< offsets[s] + counts[s]` are its step s. Parameters: `wx (G·H, In)`,
/// `wh (G·H, H)`, `bx (G·H)`, optional `bh (G·H)`.
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

  /// The input projections ZX = X · Wxᵀ + bx `(N, G·H)` of `x` `(N, In)`, packed, into the
  /// workspace's `zx`, for `forward` with `.projectedRows` or `.projectedAtEachStep`: over Wx
  /// packed once per weight version (inference's `panels`) or here into the workspace's
  /// `inputPanels` (training, once per batch); with `wordTable` (inference), the part of the
  /// rows' first columns from the table.
  func inputProjection(
    store: ParameterStore, x: UnsafePointer<Float>, rows N: Int,
    workspace ws: RecurrentWorkspace, panels: DirectionPanels? = nil,
    wordTable: WordProjectionTable? = nil
  ) -> InputProjection {
    let GH = gateWidth
    return InputProjection(
      x: x, rows: N, inputSize: inputSize, gateWidth: GH,
      panels: panels?.input
        ?? UnsafePointer(
          packPanels(store.value(wx), columns: GH, depth: inputSize, into: ws.inputPanels)),
      bias: store.value(bx), zx: ws.zx.reserve(N * GH), wordTable: wordTable)
  }

  /// Runs the packed steps over projected input, leaving `h` and `cache` in the workspace:
  ///   for s: (zx_s = x_s · Wxᵀ + bx, with `.projectedAtEachStep`);  zh = h_{s−1} · Whᵀ (+ bh);
  ///   cell(zx_s, zh)
  /// over step s's rows, whose previous states are the first rows of step s − 1 (h_{s−1} ⊙
  /// the workspace's `recurrentMask` while it `dropsRecurrentState`).
  /// Every product is `packedProduct`'s, over Wh packed once for the batch (OpenBLAS packed it
  /// at every step). Training (no `panels`) packs Wh here and keeps every step's cache for
  /// `backward`. Inference passes it packed once per weight version (`InferenceWeights`) and
  /// keeps two steps of the cache, step s in slot s mod 2, since step s reads nothing older
  /// than s − 1; `backward` then refuses to run.
  func forward(
    store: ParameterStore, input: RecurrentInput, steps packed: PackedSteps,
    workspace ws: RecurrentWorkspace, panels: DirectionPanels? = nil
  ) {
    let keepsCache = panels == nil
    let H = hiddenSize
    let GH = gateWidth
    let (T, B, N) = (packed.steps, packed.batch, packed.rows)
    let width = cell.cacheWidth * H
    let h = ws.h.reserve(N * H)
    let cacheRows = keepsCache ? N : min(T, 2) * B
    _ = ws.cache.reserve(max(cacheRows * width, 1))  // `cellStep` reads `ws.cache.pointer`
    let zh = ws.zh.reserve(B * GH)
    let recurrentMask = ws.dropsRecurrentState ? UnsafePointer(ws.recurrentMask.pointer) : nil
    let maskedState = ws.maskedStep.reserve(recurrentMask == nil ? 0 : B * H)
    // Step s's input projections: its rows of zx, or of the table by word id.
    func runSteps(
      zx: UnsafePointer<Float>, words: UnsafePointer<Int32>?, projection: InputProjection? = nil
    ) {
      let recurrentPanels =
        panels?.recurrent
        ?? UnsafePointer(packPanels(store.value(wh), columns: GH, depth: H, into: ws.panels))
      for s in 0..<T {
        let (rows, first) = (packed.counts[s], packed.offsets[s])
        projection?.run(rows: first..<first + rows)
        if s == 0 {
          zh.update(repeating: 0, count: rows * GH)
        } else {
          var previous = UnsafePointer(h + packed.offsets[s - 1] * H)
          if let recurrentMask {
            for k in 0..<rows * H { maskedState[k] = previous[k] * recurrentMask[k] }
            previous = UnsafePointer(maskedState)
          }
          packedProduct(
            previous, rows: rows, depth: H, panels: recurrentPanels, columns: GH, into: zh)
        }
        if let bh { addBias(store.value(bh), to: zh, rows: rows, n: GH) }
        let stepInput =
          words.map { StepInput(base: zx, width: GH, words: $0 + first) }
          ?? StepInput(base: zx + first * GH, width: GH, words: nil)
        cell.forward(
          cellStep(s, packed: packed, workspace: ws, keepsCache: keepsCache), zx: stepInput,
          zh: zh)
      }
    }
    switch input {
    case .projectedRows:
      runSteps(zx: ws.zx.pointer, words: nil)
    case .projectedAtEachStep(let projection):
      runSteps(zx: projection.zx, words: nil, projection: projection)
    case .projected(let table, let words):
      words.withUnsafeBufferPointer { runSteps(zx: table, words: $0.baseAddress!) }
    }
    ws.forwardShape = keepsCache ? (T, N) : (0, 0)
  }

  /// Step `s` of the activations `forward` keeps in `workspace`: its packed rows of `h`, and
  /// of the cache when it keeps every step's, else its slot s mod 2 of B rows.
  private func cellStep(
    _ s: Int, packed: PackedSteps, workspace ws: RecurrentWorkspace, keepsCache: Bool
  ) -> CellStep {
    let H = hiddenSize
    let width = cell.cacheWidth * H
    let h = ws.h.pointer
    let cache = ws.cache.pointer
    func cacheRow(_ s: Int) -> Int { keepsCache ? packed.offsets[s] : s % 2 * packed.batch }
    return CellStep(
      rows: packed.counts[s], previousRows: s == 0 ? 0 : packed.counts[s - 1], hidden: H,
      h: h + packed.offsets[s] * H, cache: cache + cacheRow(s) * width,
      hPrevious: s == 0 ? nil : UnsafePointer(h + packed.offsets[s - 1] * H),
      cachePrevious: s == 0 ? nil : UnsafePointer(cache + cacheRow(s - 1) * width))
  }

  /// Backpropagation through time from `workspace.dh` (N, H), newest step first:
  ///   ∂h_s = dh_s + ∂h_s(from s+1);  cell → ∂zx_s, ∂zh_s;  ∂h_{s−1}(from s) = direct + ∂zh_s · Wh
  /// (by `addPackedProduct` over Whᵀ packed once; with the recurrent mask, (∂zh_s · Wh) ⊙
  /// mask, and ∂Wh reads the masked states), each over step s's rows, then the bias
  /// gradients. It leaves the weight gradients and ∂X, products over all steps at once, to
  /// `weightProducts`, with their second operands packed into the cell's cache, dead from here
  /// to the next forward pass (the LSTM's and the GRU's caches hold all three, so they add
  /// nothing to the peak; the Elman cell keeps no cache). `x` `(N, In)` is the forward pass's input, packed.
  func backwardThroughTime(
    store: ParameterStore, x: UnsafePointer<Float>, steps packed: PackedSteps,
    workspace ws: RecurrentWorkspace
  ) {
    let (T, B, N) = (packed.steps, packed.batch, packed.rows)
    precondition(ws.forwardShape == (T, N), "backward needs the forward pass of the same batch")
    let H = hiddenSize
    let GH = gateWidth
    let dh = ws.dh.pointer
    let dzx = ws.zx.reserve(N * GH)  // zx is dead after forward; reuse it for ∂zx
    let dzh = cell.sharesPreactivationGradient ? dzx : ws.dzh.reserve(N * GH)
    // Rows past step s + 1's count are sentences whose last step is s: nothing comes back to
    // them from later steps, which never wrote those rows of ∂h_s (from s+1) or the carry, so
    // they keep these zeros.
    let dhNext = ws.dhNext.zeroed(B * H)
    let dhStep = ws.dhStep.reserve(B * H)
    let carry = ws.carry.zeroed(max(B * cell.carryWidth * H, 1))
    let work = ws.cellWork.reserve(B * H)
    let transposedPanels = packPanels(
      store.value(wh), columns: H, depth: GH, transposed: true, into: ws.panels)
    let recurrentMask = ws.dropsRecurrentState ? UnsafePointer(ws.recurrentMask.pointer) : nil
    let maskedGradient = ws.maskedStep.reserve(recurrentMask == nil ? 0 : B * H)
    for s in stride(from: T - 1, through: 0, by: -1) {
      let (rows, first) = (packed.counts[s], packed.offsets[s])
      for k in 0..<rows * H { dhStep[k] = dh[first * H + k] + dhNext[k] }
      cell.backward(
        cellStep(s, packed: packed, workspace: ws, keepsCache: true),
        CellGradients(
          dh: dhStep, carry: carry, dzx: dzx + first * GH, dzh: dzh + first * GH,
          dhPreviousDirect: dhNext, work: work))
      if s > 0, let recurrentMask {
        packedProduct(
          dzh + first * GH, rows: rows, depth: GH, panels: transposedPanels, columns: H,
          into: maskedGradient)
        for k in 0..<rows * H { dhNext[k] += maskedGradient[k] * recurrentMask[k] }
      } else if s > 0 {
        addPackedProduct(
          dzh + first * GH, .none, rows: rows, depth: GH, panels: transposedPanels, columns: H,
          to: dhNext)
      }
    }
    addColumnSums(of: dzx, rows: N, n: GH, to: store.gradient(bx))
    if let bh { addColumnSums(of: dzh, rows: N, n: GH, to: store.gradient(bh)) }
    let layout = OperandLayout(layer: self, steps: packed)
    let operands = ws.cache.reserve(layout.total)
    packPanels(x, columns: inputSize, depth: N, transposed: true, at: operands + layout.input)
    packPreviousStates(
      steps: packed, workspace: ws, recurrentMask: recurrentMask, at: operands + layout.states)
    packPanels(
      store.value(wx), columns: inputSize, depth: GH, transposed: true,
      at: operands + layout.weights)
  }

  /// ∂Wh's second operand, packed at `panels`: the previous state of every row of steps
  /// 1..<T (row offsets[s] + i pairs with row offsets[s−1] + i), times the recurrent mask when
  /// the forward pass read it so; nothing when no sentence has a second step.
  private func packPreviousStates(
    steps packed: PackedSteps, workspace ws: RecurrentWorkspace,
    recurrentMask: UnsafePointer<Float>?, at panels: UnsafeMutablePointer<Float>
  ) {
    let H = hiddenSize
    let (T, N, firstStepRows) = (packed.steps, packed.rows, packed.firstStepRows)
    guard N > firstStepRows else { return }
    let previousStates = ws.previousStates.reserve((N - firstStepRows) * H)
    for s in 1..<T {
      let states = previousStates + (packed.offsets[s] - firstStepRows) * H
      states.update(from: ws.h.pointer + packed.offsets[s - 1] * H, count: packed.counts[s] * H)
      if let recurrentMask {
        for k in 0..<packed.counts[s] * H { states[k] *= recurrentMask[k] }
      }
    }
    packPanels(
      previousStates, columns: H, depth: N - firstStepRows, transposed: true, at: panels)
  }

  /// Where `backwardThroughTime` packs the products' second operands in the cache: Xᵀ (In,
  /// N), the previous states' (H, N − counts[0]) and Wx (G·H, In) read as `(In, G·H)`ᵀ, one after
  /// the other.
  private struct OperandLayout {
    let input = 0
    let states: Int
    let weights: Int
    let total: Int

    init(layer: RecurrentLayer, steps packed: PackedSteps) {
      states = panelsSize(columns: layer.inputSize, depth: packed.rows)
      weights =
        states + panelsSize(columns: layer.hiddenSize, depth: packed.rows - packed.firstStepRows)
      total = weights + panelsSize(columns: layer.inputSize, depth: layer.gateWidth)
    }
  }

  /// The products that finish `backwardThroughTime`'s batch, cut by rows so that `Encoder`
  /// can share them between two threads (each element is summed in k order by whichever
  /// thread computes it, so the cut changes no bit):
  ///   ∂Wx (G·H, In) += ∂ZXᵀ · X,  ∂Wh (G·H, H) += ∂ZH[steps 1…]ᵀ · (their previous states),
  ///   ∂X (N, In) = ∂ZX · Wx.
  /// ∂X goes to `dx` (N, In), packed.
  func weightProducts(
    store: ParameterStore, dx: UnsafeMutablePointer<Float>, steps packed: PackedSteps,
    workspace ws: RecurrentWorkspace
  ) -> WeightProducts {
    let GH = gateWidth
    let layout = OperandLayout(layer: self, steps: packed)
    let operands = UnsafePointer(ws.cache.pointer)
    let dzx = UnsafePointer(ws.zx.pointer)
    let dzh = cell.sharesPreactivationGradient ? dzx : UnsafePointer(ws.dzh.pointer)
    return WeightProducts(
      inputSize: inputSize, hiddenSize: hiddenSize, gateWidth: GH, rows: packed.rows,
      firstStepRows: packed.firstStepRows,
      dzx: dzx, dzh: dzh, inputPanels: operands + layout.input,
      statePanels: operands + layout.states, weightPanels: operands + layout.weights,
      inputWeightGradient: store.gradient(wx), recurrentWeightGradient: store.gradient(wh),
      dx: dx)
  }
}
