import Foundation

/// Sentences padded into one time-major batch: row `t·B + b` is token `t` of sentence `b`.
struct Batch {
  /// The sentences' lengths and the tokens packed by step, as the encoder runs over them.
  let packedSteps: PackedSteps
  /// Word ids `(T, B)`, `ReservedWord.paddingId` past a sentence's end.
  let wordIds: [Int32]
  /// One `(T, B)` id array per feature column, laid out like `wordIds`.
  let featureIds: [[Int32]]
  /// Gold label ids per sentence (empty when tagging).
  let gold: [[Int]]
  /// The character ids of every real token, sentence by sentence (no tokens without a
  /// character CNN), and each one's row `t·B + b`.
  let characters: CharacterIds
  let characterRows: [Int]

  /// Tokens per sentence.
  var lengths: [Int] { packedSteps.lengths }
  /// T = max(lengths).
  var steps: Int { packedSteps.steps }
  var size: Int { packedSteps.batch }
  var tokenCount: Int { packedSteps.rows }

  /// `featureIds[s][i][t]`: feature column i's id of token t of sentence s (empty without
  /// feature columns).
  init(
    wordIds sentences: [[Int]], featureIds: [[[Int]]] = [], gold: [[Int]] = [],
    characterIds: [CharacterIds] = []
  ) {
    packedSteps = PackedSteps(lengths: sentences.map(\.count))
    let (T, B) = (packedSteps.steps, packedSteps.batch)
    func timeMajor(_ ids: [[Int]]) -> [Int32] {
      var result = [Int32](repeating: Int32(ReservedWord.paddingId), count: T * B)
      for (b, sentence) in ids.enumerated() {
        for (t, id) in sentence.enumerated() { result[t * B + b] = Int32(id) }
      }
      return result
    }
    wordIds = timeMajor(sentences)
    let featureCount = featureIds.first?.count ?? 0
    self.featureIds = (0..<featureCount).map { i in timeMajor(featureIds.map { $0[i] }) }
    self.gold = gold
    var characters = CharacterIds()
    characters.reserveCapacity(
      tokens: characterIds.reduce(0) { $0 + $1.tokenCount },
      ids: characterIds.reduce(0) { $0 + $1.ids.count })
    for sentence in characterIds { characters.append(sentence) }
    self.characters = characters
    characterRows = characterIds.enumerated().flatMap { b, sentence in
      (0..<sentence.tokenCount).lazy.map { t in t * B + b }
    }
  }
}

/// Everything a forward and backward pass writes, grow-only; one per thread that uses a model.
final class ModelWorkspace {
  let x = Scratch()  // (T·B, In) encoder input, In = (2K+1)·(D+F) (EmbeddingLayer)
  let xMask = Scratch()  // (T·B, In) dropout mask, 0 or 1/(1−p)
  let hidden = Scratch()  // (T·B, dirs·H) encoder output
  let hiddenMask = Scratch()  // (T·B, dirs·H)
  let emissions = Scratch()  // (T·B, L)
  let dEmissions = Scratch()  // (T·B, L)
  let dHidden = Scratch()  // (T·B, dirs·H)
  let dx = Scratch()  // (T·B, In)
  let headGradient = Scratch()  // (P) the second half-batch's head parameter gradient
  /// The output layer's W packed for one training batch, then Wᵀ for its ∂x.
  let outputPanels = Scratch()
  let outputInputPanels = Scratch()  // (dirs·H, T·B) packed: the output layer's xᵀ for its ∂W
  /// Per stacked encoder layer, grown to the model's depth on first use.
  private var layers: [LayerWorkspace] = []
  let characters = CharacterWorkspace()
  /// Whether one pass may use a second thread (encoder directions, head halves); off when
  /// tagging runs several passes at once, one per thread, or has one thread
  /// (`TaggingOptions.threads`).
  var usesTwoThreads = true

  /// The workspace of encoder layer `l` (from 0).
  func layer(_ l: Int) -> LayerWorkspace {
    while layers.count <= l { layers.append(LayerWorkspace()) }
    return layers[l]
  }
}

/// What one stacked encoder layer writes: its directions' activations and, below the top
/// layer (whose output is `ModelWorkspace.hidden`), its output, dropout mask and ∂output.
final class LayerWorkspace {
  let directions = [RecurrentWorkspace(), RecurrentWorkspace()]
  let output = Scratch()  // (T·B, dirs·H), the next layer's input
  let mask = Scratch()  // (T·B, dirs·H) its dropout mask
  let dOutput = Scratch()  // (T·B, dirs·H)
}

/// Workspaces kept for reuse between tagging calls, so a stream of calls (`trellis tag` tags
/// up to `Tag.batchesReadAhead` batches at a time) does not reallocate and page-fault its buffers
/// every time.
/// Each call takes a workspace for itself, so concurrent calls never share one.
final class WorkspacePool: @unchecked Sendable {
  private var idle: [ModelWorkspace] = []
  private let lock = NSLock()
  /// The most workspaces kept idle: two calls' worth at the default threads. A burst of
  /// concurrent calls takes as many workspaces as calls (each its batches' size), and keeping
  /// them all held a thread pool's peak memory until the model was freed; those past the
  /// limit are freed as they come back.
  static let idleLimit = 2 * TaggingOptions.activeCores

  /// How many workspaces wait for the next call.
  var idleCount: Int { lock.withLock { idle.count } }

  /// Runs `body` with `workspace` among the idle ones, then takes it back: its owner lends
  /// it while `body` calls the model, which must have returned it by then.
  func lending<Result>(_ workspace: ModelWorkspace, _ body: () throws -> Result) rethrows
    -> Result
  {
    lock.withLock { idle.append(workspace) }
    defer { lock.withLock { idle.removeAll { $0 === workspace } } }
    return try body()
  }

  /// Runs `body` with an idle workspace (or a new one), kept for the next call unless
  /// `keeping` is false: a workspace grown for a pass beyond `TaggerModel.batchTokenStepLimit`
  /// (one sentence of 100,000 tokens took 700 MB) is freed, not held by a server for good.
  func withWorkspace<Result>(keeping: Bool = true, _ body: (ModelWorkspace) -> Result) -> Result {
    let workspace = lock.withLock { idle.popLast() } ?? ModelWorkspace()
    workspace.usesTwoThreads = true
    defer {
      if keeping {
        lock.withLock { if idle.count < Self.idleLimit { idle.append(workspace) } }
      }
    }
    return body(workspace)
  }
}
