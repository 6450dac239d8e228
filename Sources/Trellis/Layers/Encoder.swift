/// What an encoder layer reads: token representations or the layer below's outputs
/// `(T·B, In)`; or (first layer, inference, `InputProjectionTables`) the batch's word ids
/// `(T·B)`, time-major, with each direction's table: `(V, G·H)` of whole input projections, or
/// of the part of them that the rows' first `depth` columns (the word embedding) contribute.
enum EncoderInput {
  case rows(UnsafePointer<Float>)
  case rowsAfterWords(
    UnsafePointer<Float>, words: [Int32], tables: [UnsafePointer<Float>], depth: Int)
  case projectedWords([Int32], tables: [UnsafePointer<Float>])
}

/// One or two recurrent directions over a padded time-major batch, with outputs concatenated:
/// the left-to-right direction writes columns `[0, H)` of `(T·B, dirs·H)`, the right-to-left one
/// columns `[H, 2H)`, and both write zeros at the padding.
///
/// The right-to-left direction reads each sentence from its own last token: its step `s` for
/// sentence `b` is time `len_b − 1 − s`. Each direction runs over the batch's tokens alone,
/// packed by step (`PackedSteps`): it gathers its input rows and `dOutput` into that order, and
/// scatters its outputs and ∂x back.
struct Encoder: Sendable {
  let directions: [RecurrentLayer]
  let hiddenSize: Int
  let inputSize: Int

  var outputSize: Int { directions.count * hiddenSize }

  /// Parameters named `forward.*` and `backward.*`, after `namePrefix` (a stacked layer's).
  init(
    kind: EncoderKind, inputSize: Int, hiddenSize: Int, namePrefix: String = "",
    store: ParameterStore
  ) {
    self.inputSize = inputSize
    self.hiddenSize = hiddenSize
    let names = kind.isBidirectional ? ["forward", "backward"] : ["forward"]
    directions = names.map {
      RecurrentLayer(
        cell: kind.cell, inputSize: inputSize, hiddenSize: hiddenSize, name: namePrefix + $0,
        store: store)
    }
  }

  func initialize(_ store: ParameterStore, rng: inout SplitMix64) {
    for direction in directions { direction.initialize(store, rng: &rng) }
  }

  /// Reads `input` (rows `(T·B, In)`, or word ids with each direction's projection table),
  /// writes `output` (T·B, dirs·H). Training passes no `panels`; inference passes each
  /// direction's packed Wx and Wh, and keeps no cache for a backward pass
  /// (`RecurrentLayer.forward`). Each direction's steps run on a thread of their own. Rows
  /// are projected either by each direction's steps, a step's rows just before the step reads
  /// them (`projectsAtEachStep`), or first, every direction's in chunks of rows that both
  /// threads take in turn when `concurrently`.
  func forward(
    store: ParameterStore, input: EncoderInput, output: UnsafeMutablePointer<Float>,
    steps packed: PackedSteps, workspaces: [RecurrentWorkspace], concurrently: Bool = true,
    panels: [DirectionPanels]? = nil
  ) {
    let (T, B) = (packed.steps, packed.batch)
    let H = hiddenSize
    let width = outputSize
    let rows: (x: UnsafePointer<Float>, wordTables: WordTables?)? =
      switch input {
      case .rows(let x): (x, nil)
      case .rowsAfterWords(let x, let words, let tables, let depth): (x, (words, tables, depth))
      case .projectedWords: nil
      }
    var stepProjections: [InputProjection]?
    if let rows {
      let projections = inputProjections(
        store: store, x: rows.x, steps: packed, workspaces: workspaces, panels: panels,
        wordTables: rows.wordTables, concurrently: concurrently)
      if projectsAtEachStep(training: panels == nil, concurrently: concurrently) {
        stepProjections = projections
      } else {
        Self.runInChunks(projections.map { ($0.rows, $0.run) }, concurrently: concurrently)
      }
    }
    runDirections(concurrently: concurrently) { d in
      let ws = workspaces[d]
      let directionInput: RecurrentInput
      switch input {
      case .rows, .rowsAfterWords:
        directionInput = stepProjections.map { .projectedAtEachStep($0[d]) } ?? .projectedRows
      case .projectedWords(let words, let tables):
        directionInput = .projected(
          table: tables[d], words: Self.packedWords(words, direction: d, steps: packed))
      }
      directions[d].forward(
        store: store, input: directionInput, steps: packed, workspace: ws, panels: panels?[d])
      let h = ws.h.pointer
      for s in 0..<T {
        for i in 0..<packed.counts[s] {
          (output + packed.batchRow(direction: d, step: s, index: i) * width + d * H).update(
            from: h + (packed.offsets[s] + i) * H, count: H)
        }
      }
      // Zeros at the padding, which the output layer's products read with the real rows.
      for b in 0..<B {
        for t in packed.lengths[b]..<T {
          (output + (t * B + b) * width + d * H).update(repeating: 0, count: H)
        }
      }
    }
  }

  /// Whether training's steps project their own rows (`RecurrentInput.projectedAtEachStep`):
  /// a step's rows of zx `(rows, G·H)` are then written just before its cell reads them, while
  /// they are in the core's caches, where projecting all N rows first wrote zx `(N, G·H)`, 578 KB
  /// a direction for an ATIS batch, which the steps read back from farther out. On a Zen 2
  /// (512 KB of second-level cache a core) the BiLSTM's forward pass ran 1.21× as fast and a
  /// one-epoch ATIS training 1.00–1.05× in five paired runs, with the same model bytes
  /// (`scripts/pair-bench-lstm.py`, `scripts/pair-training.sh`; Eval/SPEED.md "Session 47"):
  /// each row's sums are the kernel's whichever rows a call covers. Not where one direction
  /// runs with two threads to share it: its steps would project on one thread what both
  /// threads projected in chunks. Inference projects first: its steps projecting their own
  /// rows left a whole `trellis tag` of the default model at 1.004 of the time (Eval/SPEED.md).
  private func projectsAtEachStep(training: Bool, concurrently: Bool) -> Bool {
    training && (directions.count > 1 || !concurrently)
  }

  /// `EncoderInput.rowsAfterWords`'s word ids, each direction's table and the columns it covers.
  private typealias WordTables = (words: [Int32], tables: [UnsafePointer<Float>], depth: Int)

  /// The batch's word ids `(T·B)` packed in direction d's step order `(N)`.
  private static func packedWords(_ words: [Int32], direction d: Int, steps packed: PackedSteps)
    -> [Int32]
  {
    (0..<packed.steps).flatMap { s in
      (0..<packed.counts[s]).map { i in words[packed.batchRow(direction: d, step: s, index: i)] }
    }
  }

  /// Whether direction `d` reads the batch's rows of `x` as they are (`PackedSteps
  /// .isBatchLayout`), not a packed copy in its workspace's `x`.
  private static func readsBatchRows(direction d: Int, steps packed: PackedSteps) -> Bool {
    d == 0 && packed.isBatchLayout
  }

  /// Each direction's input projections of `x` (T·B, In), from its rows packed in the
  /// direction's step order (a copy, unless `readsBatchRows`). With `wordTables`, each row's
  /// first `depth` columns are its word's embedding, whose part of the projection comes from
  /// the direction's table.
  private func inputProjections(
    store: ParameterStore, x: UnsafePointer<Float>, steps packed: PackedSteps,
    workspaces: [RecurrentWorkspace], panels: [DirectionPanels]?, wordTables: WordTables?,
    concurrently: Bool
  ) -> [InputProjection] {
    var projections = [InputProjection?](repeating: nil, count: directions.count)
    // Training packs each direction's Wx here (inference brings it packed): then each
    // direction's copy and packing run on a thread of their own. On the calling thread alone
    // they took 1.6% of its samples in a training profile, with the other thread waiting.
    projections.withUnsafeMutableBufferPointer { projections in
      runDirections(concurrently: concurrently && panels == nil) { d in
        projections[d] = inputProjection(
          direction: d, store: store, x: x, steps: packed, workspace: workspaces[d],
          panels: panels?[d], wordTables: wordTables)
      }
    }
    return projections.map { $0! }
  }

  /// `inputProjections`'s part for direction `d`.
  private func inputProjection(
    direction d: Int, store: ParameterStore, x: UnsafePointer<Float>, steps packed: PackedSteps,
    workspace ws: RecurrentWorkspace, panels: DirectionPanels?, wordTables: WordTables?
  ) -> InputProjection {
    let In = inputSize
    var directionRows = x
    if !Self.readsBatchRows(direction: d, steps: packed) {
      let rows = ws.x.reserve(packed.rows * In)
      for s in 0..<packed.steps {
        for i in 0..<packed.counts[s] {
          (rows + (packed.offsets[s] + i) * In).update(
            from: x + packed.batchRow(direction: d, step: s, index: i) * In, count: In)
        }
      }
      directionRows = UnsafePointer(rows)
    }
    return directions[d].inputProjection(
      store: store, x: directionRows, rows: packed.rows, workspace: ws, panels: panels,
      wordTable: wordTables.map {
        WordProjectionTable(
          table: $0.tables[d], words: Self.packedWords($0.words, direction: d, steps: packed),
          depth: $0.depth)
      })
  }

  /// Reads `dOutput` (T·B, dirs·H), accumulates parameter gradients, writes `dx` (T·B, In),
  /// zeros at the padding. `x` is the input the forward pass read. Each direction's steps,
  /// then its products over all steps (`RecurrentLayer.weightProducts`) cut into chunks of
  /// rows, are one `SharedWork` on the thread pair: the thread done with its own direction's
  /// steps first starts on its chunks instead of waiting for the other's steps to end, then
  /// helps with the other's.
  func backward(
    store: ParameterStore, x: UnsafePointer<Float>, dOutput: UnsafePointer<Float>,
    dx: UnsafeMutablePointer<Float>, steps packed: PackedSteps, workspaces: [RecurrentWorkspace]
  ) {
    // The calling thread starts with right to left, whose packed input it copied
    // (`inputProjections`).
    ThreadPair.shared.share(
      directions.indices.reversed().map { d in
        var products: WeightProducts?
        var chunks: [(product: WeightProducts.Product, rows: Range<Int>)] = []
        return SharedWork(
          prepare: {
            let direction = backwardSteps(
              direction: d, store: store, x: x, dOutput: dOutput, steps: packed,
              workspace: workspaces[d])
            chunks = WeightProducts.Product.allCases.flatMap { product in
              productChunks(of: direction.rows(of: product)).map { (product, $0) }
            }
            products = direction
            return chunks.count
          },
          chunk: { i in products!.run(chunks[i].product, rows: chunks[i].rows) })
      })
    // Each token's ∂x, the directions' packed rows added in a fixed order after both
    // finished, so the result does not depend on which thread finished first. Each row of dx
    // is its own, so the two threads take half the times each.
    let (T, B) = (packed.steps, packed.batch)
    let In = inputSize
    let directionDx = workspaces.prefix(directions.count).map { UnsafePointer($0.dx.pointer) }
    ThreadPair.shared.run { part in
      for t in T * part / 2..<T * (part + 1) / 2 {
        for b in 0..<B {
          let destination = dx + (t * B + b) * In
          guard t < packed.lengths[b] else {
            destination.update(repeating: 0, count: In)
            continue
          }
          for (d, directionDx) in directionDx.enumerated() {
            let source = directionDx + packed.packedRow(direction: d, time: t, sentence: b) * In
            if d == 0 {
              destination.update(from: source, count: In)
            } else {
              for k in 0..<In { destination[k] += source[k] }
            }
          }
        }
      }
    }
  }

  /// Direction `d`'s backward steps from its columns of `dOutput`; returns its products over
  /// all steps, which write its packed ∂x into its workspace (`backward` adds them up).
  private func backwardSteps(
    direction d: Int, store: ParameterStore, x: UnsafePointer<Float>,
    dOutput: UnsafePointer<Float>, steps packed: PackedSteps, workspace ws: RecurrentWorkspace
  ) -> WeightProducts {
    let H = hiddenSize
    let width = outputSize
    let dh = ws.dh.reserve(packed.rows * H)
    for s in 0..<packed.steps {
      for i in 0..<packed.counts[s] {
        (dh + (packed.offsets[s] + i) * H).update(
          from: dOutput + packed.batchRow(direction: d, step: s, index: i) * width + d * H,
          count: H)
      }
    }
    directions[d].backwardThroughTime(
      store: store,
      x: Self.readsBatchRows(direction: d, steps: packed) ? x : UnsafePointer(ws.x.pointer),
      steps: packed, workspace: ws)
    return directions[d].weightProducts(
      store: store, dx: ws.dx.reserve(packed.rows * inputSize), steps: packed, workspace: ws)
  }

  /// Runs each job's rows (`rows`, `run(range)`) in chunks of `productChunkRows`, which both
  /// threads take in turn when `concurrently`.
  private static func runInChunks(
    _ jobs: [(rows: Int, run: (Range<Int>) -> Void)], concurrently: Bool
  ) {
    let chunks = jobs.indices.flatMap { j in
      productChunks(of: jobs[j].rows).map { (job: j, rows: $0) }
    }
    if concurrently {
      ThreadPair.shared.forEach(chunks.count) { i in jobs[chunks[i].job].run(chunks[i].rows) }
    } else {
      for chunk in chunks { jobs[chunk.job].run(chunk.rows) }
    }
  }

  /// Runs the directions' bodies, on two threads when there are two (unless the caller already
  /// keeps both cores busy): they share only read-only weights, and each accumulates into its
  /// own disjoint gradient slots (the forward pass's steps; `backward` shares its directions
  /// through `ThreadPair.share`). The calling thread takes the right-to-left direction, whose
  /// packed input it copied (`inputProjections`). When the copy was part of the direction's
  /// body, the other way round had the calling thread waiting
  /// for the second in 3.5% of a training profile's samples (`perf record -g`,
  /// `trellis_spin_pause` under `Encoder`) and a 2-epoch ATIS training taking 1.035 and 1.046
  /// of the time in two paired runs; since the copy comes first, the two orders take the same
  /// time (0.977 and 1.027 in two paired runs).
  private func runDirections(concurrently: Bool, _ body: (Int) -> Void) {
    if directions.count == 1 || !concurrently {
      for d in directions.indices { body(d) }
    } else {
      ThreadPair.shared.run { part in body(directions.count - 1 - part) }
    }
  }
}
