/// A batch's recurrent steps without their padding, as PyTorch's `PackedSequence` keeps them:
/// step `s` holds only the `counts[s]` sentences longer than s, taken in `order` (by
/// decreasing length, ties by batch index), so sentence `order[i]` is packed row
/// `offsets[s] + i`. A recurrent layer's products and cell steps then run over the batch's
/// `rows` tokens, where the padded time-major layout `(T·B)` ran over the padding too: 8.5% of
/// the rows of an ATIS epoch's batches of 32 as `Trainer.batches` draws them.
///
/// Why the order: the sentences of step s + 1 are the first `counts[s + 1]` of those of step s,
/// so the previous state of packed row `offsets[s] + i` is row `offsets[s − 1] + i`, and each
/// step's recurrent product reads a prefix of the step before. Both directions share the
/// packing; step s of sentence b is its token s left to right and `len_b − 1 − s` right to left.
struct PackedSteps: Sendable {
  /// Tokens per sentence `(B)`.
  let lengths: [Int]
  /// The sentences by decreasing length.
  let order: [Int]
  /// `position[b]`: sentence b's index in `order`.
  let position: [Int]
  /// `counts[s]`: the sentences longer than s, for s < T = max(lengths).
  let counts: [Int]
  /// `offsets[s]`: the first packed row of step s; `offsets[T]` is `rows`.
  let offsets: [Int]

  init(lengths: [Int]) {
    self.lengths = lengths
    order = lengths.indices.sorted { (lengths[$1], $0) < (lengths[$0], $1) }
    var position = [Int](repeating: 0, count: lengths.count)
    for (i, b) in order.enumerated() { position[b] = i }
    self.position = position
    let counts = (0..<(lengths.max() ?? 0)).map { s in lengths.count { $0 > s } }
    self.counts = counts
    var offsets = [0]
    for count in counts { offsets.append(offsets[offsets.count - 1] + count) }
    self.offsets = offsets
  }

  /// T, the longest sentence's length.
  var steps: Int { counts.count }
  /// B, the batch's sentences.
  var batch: Int { lengths.count }
  /// The packed rows, one per token.
  var rows: Int { offsets[steps] }
  /// The first step's rows, which have no previous state.
  var firstStepRows: Int { counts.first ?? 0 }
  /// Whether packing leaves the left-to-right rows as the padded layout has them (every
  /// sentence of length T, none reordered), so that direction reads the batch's own rows.
  var isBatchLayout: Bool { rows == steps * batch }

  /// The padded row `t·B + b` of packed row `offsets[s] + i` in direction `d`.
  @inline(__always) func batchRow(direction d: Int, step s: Int, index i: Int) -> Int {
    let b = order[i]
    return (d == 0 ? s : lengths[b] - 1 - s) * batch + b
  }

  /// The packed row of token `t` of sentence `b` in direction `d` (t < len_b).
  @inline(__always) func packedRow(direction d: Int, time t: Int, sentence b: Int) -> Int {
    offsets[d == 0 ? t : lengths[b] - 1 - t] + position[b]
  }
}
