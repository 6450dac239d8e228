import ConllEval

/// How the model's labels are read as chunks: its answers' spans and the chunks its dev score
/// counts.
extension TaggerModel {
  /// For each of `outputLabels`, the label (chunk type) of a span that starts with it: a
  /// span's label is its first label's type, whatever comes before it, and "" for a label
  /// that starts no chunk after "O" (`O` itself, and `I-X` in IOB1 is a start). Labels without
  /// chunk prefixes (`labelsAreRaw`) are each a one-token span of the whole label.
  public var spanLabels: [String] {
    let raw = labelsAreRaw
    return outputLabels.map {
      LabelSetChunks(labels: [$0], raw: raw).chunks(in: [0]).first?.type ?? ""
    }
  }

  /// `labels`, in the data's scheme, as chunk counts (`ConllCounts`) read them: BIOES labels as
  /// the BIO labels of the same chunks, others as they are. conlleval's rules know no S- and
  /// end no chunk at E-, so on BIOES data `S-X S-X` was one chunk, and training selected its
  /// epoch on chunks its own spans never had. A label that is no chunk label (a gold "MISC" or
  /// "B-", which the model never answers) is kept: the conversion reads it as "O", so `eval`
  /// counted a predicted "O" there as correct and dropped the chunk conlleval finds at "B-".
  package func countedLabels(_ labels: [String]) -> [String] {
    guard configuration.scheme == .bioes else { return labels }
    return zip(convert(labels, from: .bioes, to: .bio), labels).map { converted, label in
      isChunkLabel(label) ? converted : label
    }
  }

  /// Whether no label but "O" has a chunk prefix (part-of-speech tags, IO labels): conlleval
  /// then finds no chunk, and F1 is 0 for every model, so `evaluate` scores such labels as
  /// `conlleval -r` does, each a one-token chunk (F1 is the token accuracy when no label is
  /// "O"). Training selected its epoch on that F1: with it always 0, it kept the first.
  public var labelsAreRaw: Bool { Self.areRaw(labels.strings) }

  /// `labelsAreRaw` of a label set. Their spans are read as `conlleval -r` reads them, each
  /// label but "O" a one-token span: by conlleval's own rules "VBZ" started a span labelled ""
  /// and "-LRB-" one labelled "LRB-".
  package static func areRaw(_ labels: [String]) -> Bool {
    !labels.contains { $0 != "O" && isChunkLabel($0) }
  }
}
