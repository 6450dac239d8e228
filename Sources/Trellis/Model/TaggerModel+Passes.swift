// The forward and backward passes over one batch. Legend: see TaggerModel.
// Contract: `lossAndGradient` runs its own forward pass; `decode` likewise. Both leave the
// batch's activations in the workspace, which is what `emissionView` reads afterwards.

extension TaggerModel {
  /// Builds what tagging derives from the weights (`InferenceWeights`: packed products, input
  /// projection tables) now rather than in the first call that tags. A program that loads a
  /// model before its input or requests arrive calls it then (`trellis tag` while it reads
  /// the first sentences, `trellis-serve` before it listens); otherwise the first answer pays
  /// it (for ATIS's word-only model, 20 M instructions: 1.4% of tagging 1,786 sentences).
  /// With `threads` of 2 or more, a bidirectional encoder's two input-projection tables are
  /// built at once, one a thread (the same bits either way): most of the time a `trellis tag`
  /// process takes before its first answer is its model's loading and these tables.
  public func prepareForTagging(threads: Int = 1) {
    _ = preparedInferenceWeights(concurrently: threads > 1)
  }

  /// The inference weights of the current weights, built on first use after a change.
  private func preparedInferenceWeights(concurrently: Bool = false) -> InferenceWeights {
    inferenceWeights.weights(
      version: store.version, embedding: embedding, encoder: encoder, output: output,
      store: store, concurrently: concurrently)
  }

  /// Computes emissions `(T·B, L)` into `workspace.emissions`, keeping what a backward pass
  /// needs when `training`. Dropout (training only) draws its masks from `rng`, one per token
  /// or, with `sentenceMasks`, one per sentence (`applySentenceDropout`), which then also
  /// drops the recurrent state (`RecurrentWorkspace.recurrentMask`); at rate 0 nothing is
  /// drawn.
  private func forward(
    _ batch: Batch, workspace ws: ModelWorkspace, training: Bool, dropoutRate p: Float,
    sentenceMasks: Bool, rng: inout SplitMix64
  ) {
    let rows = batch.steps * batch.size
    let (In, width) = (embedding.outputSize, encoder.outputSize)
    // Inference reads weights prepared once per version (`InferenceWeights`): packed
    // recurrent and output weights and, without a context window, the word embedding's part
    // of the first layer's input projections from a table (all of them where it is the input).
    let prepared = training ? nil : preparedInferenceWeights()
    func dropout(_ values: UnsafeMutablePointer<Float>, mask: Scratch, width: Int) {
      dropOut(
        values, mask: mask, width: width, batch: batch, rate: p, sentenceMasks: sentenceMasks,
        concurrently: ws.usesTwoThreads, rng: &rng)
    }
    var input: EncoderInput
    let tables = prepared?.inputProjections
    if let tables, tables.coversInput {
      input = .projectedWords(batch.wordIds, tables: tables.tables)
    } else {
      let x = ws.x.reserve(rows * In)  // (T·B, In)
      embedding.forward(
        batch, store: store, into: x, workspace: ws.characters, concurrently: ws.usesTwoThreads)
      if p > 0 { dropout(x, mask: ws.xMask, width: In) }
      input =
        tables.map {
          .rowsAfterWords(
            UnsafePointer(x), words: batch.wordIds, tables: $0.tables, depth: $0.depth)
        } ?? .rows(UnsafePointer(x))
    }
    // Each stacked layer reads the one below's output, dropout applied as to the top's.
    let top = encoder.layers.count - 1
    withExtendedLifetime(prepared) {
      for (l, layer) in encoder.layers.enumerated() {
        let layerWorkspace = ws.layer(l)
        let layerOutput = (l == top ? ws.hidden : layerWorkspace.output).reserve(rows * width)
        setRecurrentDropout(
          of: layer, workspace: layerWorkspace, batch: batch.size,
          rate: training && sentenceMasks ? p : 0, rng: &rng)
        layer.forward(
          store: store, input: input, output: layerOutput, steps: batch.packedSteps,
          workspaces: layerWorkspace.directions,
          concurrently: ws.usesTwoThreads, panels: prepared?.directionPanels[l])
        if p > 0 {
          dropout(layerOutput, mask: l == top ? ws.hiddenMask : layerWorkspace.mask, width: width)
        }
        input = .rows(UnsafePointer(layerOutput))
      }
      output.forward(
        MatrixView(base: ws.hidden.pointer, rows: rows, columns: width), store: store,
        into: MutableMatrixView(
          base: ws.emissions.reserve(rows * labels.count), rows: rows, columns: labels.count),
        packedWeight: prepared?.outputPanels, panels: ws.outputPanels,
        concurrently: ws.usesTwoThreads)
    }
  }

  /// Dropout at rate `p` on `values` `(T·B, width)`, its mask into `mask`: one per token, or
  /// with `sentenceMasks` one per sentence (`applySentenceDropout`).
  private func dropOut(
    _ values: UnsafeMutablePointer<Float>, mask: Scratch, width: Int, batch: Batch, rate p: Float,
    sentenceMasks: Bool, concurrently: Bool, rng: inout SplitMix64
  ) {
    let count = batch.steps * batch.size * width
    let mask = mask.reserve(count)
    if sentenceMasks {
      applySentenceDropout(
        values, mask: mask, steps: batch.steps, batch: batch.size, width: width, rate: p,
        rng: &rng)
    } else {
      applyDropout(values, mask: mask, count: count, rate: p, rng: &rng, concurrently: concurrently)
    }
  }

  /// Variational dropout's masks on each direction's recurrent state h_{s−1}, one per sentence
  /// (Gal & Ghahramani 2016), drawn at `rate` after the layer's input mask; at 0 they are
  /// turned off (`RecurrentWorkspace.dropsRecurrentState`): the workspace may have trained
  /// with them.
  private func setRecurrentDropout(
    of layer: Encoder, workspace: LayerWorkspace, batch: Int, rate p: Float,
    rng: inout SplitMix64
  ) {
    for direction in workspace.directions.prefix(layer.directions.count) {
      if p > 0 {
        direction.drawRecurrentMask(batch: batch, hidden: layer.hiddenSize, rate: p, rng: &rng)
      } else {
        direction.dropsRecurrentState = false
      }
    }
  }

  /// The inference forward pass (no dropout, and only what the emissions need kept).
  func forward(_ batch: Batch, workspace ws: ModelWorkspace) {
    var unused = SplitMix64(seed: 0)
    forward(
      batch, workspace: ws, training: false, dropoutRate: 0, sentenceMasks: false, rng: &unused)
  }

  /// Sentence `b`'s emissions after a forward pass: `(len_b, L)` with row stride `B·L`.
  func emissionView(_ ws: ModelWorkspace, batch: Batch, sentence b: Int) -> MatrixView {
    let L = labels.count
    return MatrixView(
      base: ws.emissions.pointer + b * L, rows: batch.lengths[b], columns: L,
      rowStride: batch.size * L)
  }

  /// Forward, the head's loss per sentence, and backward: adds ∂(mean loss over the batch)/∂θ
  /// to `store.gradients` and returns the summed loss.
  func lossAndGradient(
    _ batch: Batch, workspace ws: ModelWorkspace, dropoutRate: Float,
    sentenceMasks: Bool = false, rng: inout SplitMix64
  ) -> Double {
    let rows = batch.steps * batch.size
    let In = embedding.outputSize
    let width = encoder.outputSize
    let L = labels.count
    forward(
      batch, workspace: ws, training: true, dropoutRate: dropoutRate, sentenceMasks: sentenceMasks,
      rng: &rng)
    let dE = ws.dEmissions.reserve(rows * L)  // (T·B, L), zeroed by the head's halves
    let loss = headLossAndGradient(batch, workspace: ws, dEmissions: dE)
    let dHidden = ws.dHidden.reserve(rows * width)  // (T·B, dirs·H)
    output.backward(
      MatrixView(base: dE, rows: rows, columns: L),
      input: MatrixView(base: ws.hidden.pointer, rows: rows, columns: width), store: store,
      dx: MutableMatrixView(base: dHidden, rows: rows, columns: width),
      panels: (ws.outputPanels, ws.outputInputPanels))
    if dropoutRate > 0 {
      applyDropoutMask(
        ws.hiddenMask.pointer, to: dHidden, count: rows * width, concurrently: ws.usesTwoThreads)
    }
    // Down the stack: layer l's ∂input is ∂output of layer l − 1 (or ∂x for the first layer),
    // through the dropout mask applied to that input.
    var dOutput = UnsafePointer(dHidden)
    for l in stride(from: encoder.layers.count - 1, through: 0, by: -1) {
      let inputWidth = l == 0 ? In : width
      let below = l == 0 ? nil : ws.layer(l - 1)
      let (input, mask, dInputSlot) =
        below.map { ($0.output, $0.mask, $0.dOutput) } ?? (ws.x, ws.xMask, ws.dx)
      let dInput = dInputSlot.reserve(rows * inputWidth)  // (T·B, inputWidth)
      encoder.layers[l].backward(
        store: store, x: input.pointer, dOutput: dOutput, dx: dInput, steps: batch.packedSteps,
        workspaces: ws.layer(l).directions)
      if dropoutRate > 0 {
        applyDropoutMask(
          mask.pointer, to: dInput, count: rows * inputWidth, concurrently: ws.usesTwoThreads)
      }
      dOutput = UnsafePointer(dInput)
    }
    embedding.backward(
      batch, store: store, dx: ws.dx.pointer, workspace: ws.characters,
      concurrently: ws.usesTwoThreads)
    return loss
  }

  /// The head's summed loss over the batch; writes ∂(mean loss)/∂emissions into `dE` (T·B, L),
  /// zeros at the padding, and adds ∂(mean loss)/∂(head parameters) to the gradient slab.
  private func headLossAndGradient(
    _ batch: Batch, workspace ws: ModelWorkspace, dEmissions dE: UnsafeMutablePointer<Float>
  ) -> Double {
    let L = labels.count
    let B = batch.size
    let headGradient = UnsafeMutableBufferPointer(
      start: store.gradient(headSlot), count: headSlot.count)
    // The head runs on two threads, each over about half the tokens; the second half adds its
    // parameter gradient into scratch, summed afterwards, so the result never depends on timing.
    let secondHalfGradient = ws.headGradient.zeroed(max(headSlot.count, 1))
    // The gradient of the batch mean: each half scales its sentences' rows of ∂E (the rest
    // are zero), and the head's own gradient is scaled once both halves are summed.
    let scale = 1 / Float(B)
    let headLoss = headLossOfSentences(concurrently: ws.usesTwoThreads)
    let losses = inHalves(of: batch.lengths) { range, half in
      // Each half zeroes its own sentences' rows (padding included), so they are in its
      // core's caches when it writes them; zeroed on the calling thread first, half of them
      // were fetched from the other core.
      for t in 0..<batch.steps {
        (dE + (t * B + range.lowerBound) * L).update(repeating: 0, count: range.count * L)
      }
      let emissionGradients = range.map {
        MutableMatrixView(base: dE + $0 * L, rows: batch.lengths[$0], columns: L, rowStride: B * L)
      }
      let loss = headLoss(
        range.map { emissionView(ws, batch: batch, sentence: $0) }, Array(batch.gold[range]),
        emissionGradients,
        half == 0
          ? headGradient
          : UnsafeMutableBufferPointer(start: secondHalfGradient, count: headSlot.count))
      for sentence in emissionGradients {
        for t in 0..<sentence.rows {
          let row = sentence.row(t)
          for l in 0..<L { row[l] *= scale }
        }
      }
      return loss
    }
    for k in 0..<headSlot.count {
      headGradient[k] = (headGradient[k] + secondHalfGradient[k]) * scale
    }
    return losses[0] + losses[1]
  }

  /// The head's loss and gradient of some sentences (emissions, gold, ∂emissions, ∂head
  /// parameters), for the halves of one batch: a `LossTablesHead`'s tables are made once here
  /// (on both threads when `concurrently`) and read by every call.
  private func headLossOfSentences(concurrently: Bool) -> (
    [MatrixView], [[Int]], [MutableMatrixView], UnsafeMutableBufferPointer<Float>
  ) -> Double {
    func withTables<Head: LossTablesHead>(_ head: Head) -> (
      [MatrixView], [[Int]], [MutableMatrixView], UnsafeMutableBufferPointer<Float>
    ) -> Double {
      let parameters = headParameters
      let tables = head.lossTables(parameters: parameters, concurrently: concurrently)
      return {
        head.lossAndGradient(
          emissions: $0, gold: $1, parameters: parameters, tables: tables,
          emissionGradients: $2, parameterGradient: $3)
      }
    }
    if let head = head as? any LossTablesHead { return withTables(head) }
    let (head, parameters) = (head, headParameters)
    return {
      head.lossAndGradient(
        emissions: $0, gold: $1, parameters: parameters, emissionGradients: $2,
        parameterGradient: $3)
    }
  }

  /// Whether the emissions of `batch` and the head's parameters are all finite, so decoding
  /// and confidences are defined.
  func scoresAreFinite(_ batch: Batch) -> Bool {
    workspaces.withWorkspace { ws in
      forward(batch, workspace: ws)
      let emissions = UnsafeBufferPointer(
        start: ws.emissions.pointer, count: batch.steps * batch.size * labels.count)
      return emissions.allSatisfy(\.isFinite) && headParameters.allSatisfy(\.isFinite)
    }
  }

  /// Label ids for every sentence of the batch.
  func decode(_ batch: Batch, workspace ws: ModelWorkspace, constrained: Bool) -> [[Int]] {
    forward(batch, workspace: ws)
    let decoder = decoderCache.decoder(version: store.version, constrained: constrained) {
      head.decoder(parameters: headParameters, constraints: constraints(applied: constrained))
    }
    return inHalves(of: batch.lengths, concurrently: ws.usesTwoThreads) { range, _ in
      decoder.decode(range.map { emissionView(ws, batch: batch, sentence: $0) })
    }.flatMap { $0 }
  }

  /// Runs `body` on two ranges of the sentences whose lengths are `lengths`, on two threads;
  /// results in order. The ranges hold about half the tokens each (`tokenHalves`).
  private func inHalves<Result>(
    of lengths: [Int], concurrently: Bool = true, _ body: (Range<Int>, Int) -> Result
  ) -> [Result] {
    let ranges = tokenHalves(of: lengths)
    // One sentence is not worth waking a second thread for.
    if lengths.count < 2 || !concurrently {
      return ranges.enumerated().map { body($1, $0) }
    }
    var results = [Result?](repeating: nil, count: 2)
    results.withUnsafeMutableBufferPointer { results in
      ThreadPair.shared.run { half in results[half] = body(ranges[half], half) }
    }
    return results.map { $0! }
  }
}

/// `0..<c` and `c..<lengths.count` for the c (the smallest, on a tie) whose first range's
/// total length is nearest half of all, both ranges non-empty when there are two sentences
/// or more. The head's and decoding's work grows with tokens, and a training batch holds its
/// sentences in ascending length (`Trainer.batches`), so halves of the sentences gave the
/// second thread more of it.
func tokenHalves(of lengths: [Int]) -> [Range<Int>] {
  let count = lengths.count
  guard count >= 2 else { return [0..<count, count..<count] }
  let total = lengths.reduce(0, +)
  var (cut, before, best) = (1, lengths[0], abs(2 * lengths[0] - total))
  for c in 2..<count {
    before += lengths[c - 1]
    let imbalance = abs(2 * before - total)
    if imbalance < best { (cut, best) = (c, imbalance) }
  }
  return [0..<cut, cut..<count]
}
