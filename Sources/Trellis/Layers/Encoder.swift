/// What an encoder layer reads: token representations or the layer below's outputs
/// `(T·B, In)`; or (first layer, inference, `InputProjectionTables`) the batch's word ids
/// `(T·B)`, time-major, with each direction's table: `(V, G)` of whole input projections, or
/// of the part of them that the rows' first `depth` columns (the word embedding) contribute.
enum EncoderInput {
  case rows(UnsafePointer<Float>)
  case rowsAfterWords(
    UnsafePointer<Float>, words: [Int32], tables: [UnsafePointer<Float>], depth: Int)
  case projectedWords([Int32], tables: [UnsafePointer<Float>])
}

/// One or two recurrent directions over a padded time-major batch, with outputs concatenated:
/// the left-to-right direction writes columns `[0, H)` of `(T·B, dirs·H)`, the right-to-left one
/// columns `[H, 2H)`.
///
/// The right-to-left direction reads each sentence from its own last token: its step `s` for
/// sentence `b` is time `len_b − 1 − s`. Padding therefore always comes after a sentence's real
/// steps, in either direction, so it never reaches a real output, and its zero upstream
/// gradient keeps it out of every weight gradient.
struct Encoder: Sendable {
  let kind: EncoderKind
  let directions: [RecurrentLayer]
  let hiddenSize: Int
  let inputSize: Int

  var outputSize: Int { directions.count * hiddenSize }

  /// Parameters named `forward.*` and `backward.*`, after `namePrefix` (a stacked layer's).
  init(
    kind: EncoderKind, inputSize: Int, hiddenSize: Int, namePrefix: String = "",
    store: ParameterStore
  ) {
    self.kind = kind
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

  /// The batch row (`t·B + b`) that direction `d` reads at its step `s` for sentence `b`, or nil
  /// for a padded step.
  @inline(__always) static func row(
    direction d: Int, step s: Int, sentence b: Int, batch B: Int, length: Int
  ) -> Int? {
    guard s < length else { return nil }
    return (d == 0 ? s : length - 1 - s) * B + b
  }

  /// Reads `input` (rows `(T·B, In)`, or word ids with each direction's projection table),
  /// writes `output` (T·B, dirs·H). Training passes no `panels`; inference passes each
  /// direction's packed Wx and Wh, and keeps no cache for a backward pass
  /// (`RecurrentLayer.forward`). Rows are projected first, every direction's in chunks of rows
  /// that both threads take in turn when `concurrently`; then each direction's steps run on a
  /// thread of their own.
  func forward(
    store: ParameterStore, input: EncoderInput, output: UnsafeMutablePointer<Float>,
    lengths: [Int], steps T: Int, workspaces: [RecurrentWorkspace], concurrently: Bool = true,
    panels: [DirectionPanels]? = nil
  ) {
    let B = lengths.count
    let H = hiddenSize
    let width = outputSize
    let rows: (x: UnsafePointer<Float>, wordTables: WordTables?)? =
      switch input {
      case .rows(let x): (x, nil)
      case .rowsAfterWords(let x, let words, let tables, let depth): (x, (words, tables, depth))
      case .projectedWords: nil
      }
    if let rows {
      let projections = inputProjections(
        store: store, x: rows.x, lengths: lengths, steps: T, workspaces: workspaces,
        panels: panels, wordTables: rows.wordTables, concurrently: concurrently)
      Self.runInChunks(projections.map { ($0.rows, $0.run) }, concurrently: concurrently)
    }
    runDirections(concurrently: concurrently) { d in
      let ws = workspaces[d]
      let directionInput: RecurrentInput
      switch input {
      case .rows, .rowsAfterWords:
        directionInput = .projectedRows
      case .projectedWords(let words, let tables):
        directionInput = .projected(
          table: tables[d], words: Self.stepWords(words, direction: d, lengths: lengths, steps: T))
      }
      directions[d].forward(
        store: store, input: directionInput, steps: T, batch: B, workspace: ws,
        panels: panels?[d])
      let h = ws.h.pointer
      for s in 0..<T {
        for b in 0..<B {
          let row =
            Encoder.row(direction: d, step: s, sentence: b, batch: B, length: lengths[b])
            ?? (s * B + b)  // padded rows: keep the state so the output is defined, never read
          (output + row * width + d * H).update(from: h + (s * B + b) * H, count: H)
        }
      }
    }
  }

  /// `EncoderInput.rowsAfterWords`'s word ids, each direction's table and the columns it covers.
  private typealias WordTables = (words: [Int32], tables: [UnsafePointer<Float>], depth: Int)

  /// The batch's word ids `(T·B)` in direction d's step order: as they are left to right;
  /// right to left, each sentence's reversed, padding past it.
  private static func stepWords(_ words: [Int32], direction d: Int, lengths: [Int], steps T: Int)
    -> [Int32]
  {
    guard d > 0 else { return words }
    let B = lengths.count
    var stepWords = words
    for s in 0..<T {
      for b in 0..<B {
        let row = Encoder.row(direction: d, step: s, sentence: b, batch: B, length: lengths[b])
        stepWords[s * B + b] = row.map { words[$0] } ?? Int32(ReservedWord.paddingId)
      }
    }
    return stepWords
  }

  /// Each direction's input projections of `x` (T·B, In): left to right reads the batch as it
  /// is, right to left a reversed copy of the rows in its step order (padding past each
  /// sentence). With `wordTables`, each row's first `depth` columns are its word's embedding,
  /// whose part of the projection comes from the direction's table.
  private func inputProjections(
    store: ParameterStore, x: UnsafePointer<Float>, lengths: [Int], steps T: Int,
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
          direction: d, store: store, x: x, lengths: lengths, steps: T,
          workspace: workspaces[d], panels: panels?[d], wordTables: wordTables)
      }
    }
    return projections.map { $0! }
  }

  /// `inputProjections`'s part for direction `d`.
  private func inputProjection(
    direction d: Int, store: ParameterStore, x: UnsafePointer<Float>, lengths: [Int],
    steps T: Int, workspace ws: RecurrentWorkspace, panels: DirectionPanels?,
    wordTables: WordTables?
  ) -> InputProjection {
    let B = lengths.count
    let In = inputSize
    var directionRows = x
    if d > 0 {
      let reversed = ws.x.reserve(T * B * In)
      for s in 0..<T {
        for b in 0..<B {
          let destination = reversed + (s * B + b) * In
          if let row = Encoder.row(direction: d, step: s, sentence: b, batch: B, length: lengths[b])
          {
            destination.update(from: x + row * In, count: In)
          } else {
            destination.update(repeating: 0, count: In)
          }
        }
      }
      directionRows = UnsafePointer(reversed)
    }
    return directions[d].inputProjection(
      store: store, x: directionRows, steps: T, batch: B, workspace: ws, panels: panels,
      wordTable: wordTables.map {
        WordProjectionTable(
          table: $0.tables[d],
          words: Self.stepWords($0.words, direction: d, lengths: lengths, steps: T),
          depth: $0.depth)
      })
  }

  /// Reads `dOutput` (T·B, dirs·H), accumulates parameter gradients, writes `dx` (T·B, In).
  /// `x` is the input the forward pass read. Each direction's steps, then its products over
  /// all steps (`RecurrentLayer.weightProducts`) cut into chunks of rows, are one `SharedWork`
  /// on the thread pair: the thread done with its own direction's steps first starts on its
  /// chunks instead of waiting for the other's steps to end, then helps with the other's.
  func backward(
    store: ParameterStore, x: UnsafePointer<Float>, dOutput: UnsafePointer<Float>,
    dx: UnsafeMutablePointer<Float>,
    lengths: [Int], steps T: Int, workspaces: [RecurrentWorkspace]
  ) {
    // The calling thread starts with right to left, whose reversed input it copied
    // (`inputProjections`) and whose ∂x it adds below.
    ThreadPair.shared.share(
      directions.indices.reversed().map { d in
        var products: WeightProducts?
        var chunks: [(product: WeightProducts.Product, rows: Range<Int>)] = []
        return SharedWork(
          prepare: {
            let direction = backwardSteps(
              direction: d, store: store, x: x, dOutput: dOutput, dx: dx, lengths: lengths,
              steps: T, workspace: workspaces[d])
            chunks = WeightProducts.Product.allCases.flatMap { product in
              productChunks(of: direction.rows(of: product)).map { (product, $0) }
            }
            products = direction
            return chunks.count
          },
          chunk: { i in products!.run(chunks[i].product, rows: chunks[i].rows) })
      })
    // Add the other direction's input gradient after both finished, in a fixed order, so the
    // result does not depend on which thread finished first. Each of its rows goes to a row of
    // its own, so the two threads take half the steps each.
    let B = lengths.count
    let In = inputSize
    guard directions.count > 1 else { return }
    let directionDx = workspaces[1].dx.pointer
    ThreadPair.shared.run { part in
      for s in T * part / 2..<T * (part + 1) / 2 {
        for b in 0..<B {
          guard
            let row = Encoder.row(direction: 1, step: s, sentence: b, batch: B, length: lengths[b])
          else { continue }
          let source = directionDx + (s * B + b) * In
          let destination = dx + row * In
          for k in 0..<In { destination[k] += source[k] }
        }
      }
    }
  }

  /// Direction `d`'s backward steps from its columns of `dOutput`; returns its products over
  /// all steps, left to right's writing the batch's ∂x into `dx` and right to left's its own
  /// into the workspace (`backward` adds it).
  private func backwardSteps(
    direction d: Int, store: ParameterStore, x: UnsafePointer<Float>,
    dOutput: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>, lengths: [Int], steps T: Int,
    workspace ws: RecurrentWorkspace
  ) -> WeightProducts {
    let B = lengths.count
    let H = hiddenSize
    let width = outputSize
    let dh = ws.dh.reserve(T * B * H)
    for s in 0..<T {
      for b in 0..<B {
        let destination = dh + (s * B + b) * H
        if let row = Encoder.row(direction: d, step: s, sentence: b, batch: B, length: lengths[b]) {
          destination.update(from: dOutput + row * width + d * H, count: H)
        } else {
          destination.update(repeating: 0, count: H)
        }
      }
    }
    directions[d].backwardThroughTime(
      store: store, x: d == 0 ? x : UnsafePointer(ws.x.pointer), steps: T, batch: B,
      workspace: ws)
    return directions[d].weightProducts(
      store: store, dx: d == 0 ? dx : ws.dx.reserve(T * B * inputSize), steps: T, batch: B,
      workspace: ws)
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
  /// reversed input it copied (`inputProjections`). When the copy was part of the direction's
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
