import Foundation

/// Chunk counts of one chunk type.
public struct TypeCounts: Hashable, Sendable {
  /// Chunks of this type in the gold labels.
  public var gold: Int
  /// Chunks of this type in the predicted labels.
  public var predicted: Int
  /// Predicted chunks of this type that match a gold chunk exactly (same tokens, same type).
  public var correct: Int

  /// Creates counts for one chunk type.
  public init(gold: Int = 0, predicted: Int = 0, correct: Int = 0) {
    self.gold = gold
    self.predicted = predicted
    self.correct = correct
  }

  /// Precision in percent: 100 * correct / predicted, or 0 when nothing was predicted.
  public var precision: Double { percent(correct, of: predicted) }
  /// Recall in percent: 100 * correct / gold, or 0 when there is no gold chunk.
  public var recall: Double { percent(correct, of: gold) }
  /// FB1 in percent: the harmonic mean of precision and recall, or 0 when both are 0.
  public var f1: Double { harmonicMean(precision, recall) }
}

/// Accumulates conlleval counts over sentences.
///
/// The counting follows conlleval.pl (version 2004-01-26) line by line: labels are read with its
/// `startOfChunk` / `endOfChunk` rules, a chunk is correct when gold and prediction start it on the
/// same token with the same type and end it on the same token, and every number is what conlleval
/// prints. Labels are compared by their bytes, as conlleval compares them, so two type names that
/// differ only in Unicode normalisation are two types.
public struct ConllCounts: Sendable, Equatable {
  /// Tokens seen (boundary lines are not tokens).
  public private(set) var tokenCount = 0
  /// Tokens whose predicted label equals the gold label (prefix and type).
  public private(set) var correctTokenCount = 0
  /// Chunks in the gold labels ("phrases" in conlleval's report).
  public private(set) var goldChunkCount = 0
  /// Chunks in the predicted labels ("found" in conlleval's report).
  public private(set) var predictedChunkCount = 0

  /// Correct chunks that have already ended.
  private var endedCorrectChunkCount = 0
  /// Per-type counts, with only the correct chunks that have already ended.
  private var countsByType: [ExactString: TypeCounts] = [:]
  /// conlleval's `$inCorrect`: gold and prediction started the current chunk on the same token with
  /// the same type, and neither has ended it yet.
  private var inCorrect = false
  /// conlleval's `$lastCorrect`/`$lastCorrectType`: the previous gold tag.
  private var lastGold = ConllTag.outside
  /// conlleval's `$lastGuessed`/`$lastGuessedType`: the previous predicted tag.
  private var lastPredicted = ConllTag.outside

  /// Creates empty counts.
  public init() {}

  /// Correct chunks ("correct" in conlleval's report). conlleval counts a chunk that is still
  /// open at the end of its input as correct when it matched so far, and so does this property.
  public var correctChunkCount: Int { endedCorrectChunkCount + (inCorrect ? 1 : 0) }

  /// Counts per chunk type, over every type that starts a gold or a predicted chunk (the types
  /// conlleval lists), keyed by the type's bytes.
  public var perType: [ExactString: TypeCounts] {
    var counts = countsByType
    if inCorrect {
      counts[ExactString(lastGold.type), default: TypeCounts()].correct += 1
    }
    // conlleval credits a correct chunk to the type of its last gold tag. Tags that carry a type
    // without starting a chunk (".-X", "O-X") can make that a type that never started a chunk;
    // conlleval then counts the chunk in the total but lists no line for the type.
    return counts.filter { $0.value.gold > 0 || $0.value.predicted > 0 }
  }

  /// Token accuracy in percent: 100 * correctTokenCount / tokenCount, or 0 without tokens.
  public var accuracy: Double { percent(correctTokenCount, of: tokenCount) }
  /// Chunk precision in percent: 100 * correct / predicted chunks, or 0 without predicted chunks.
  public var precision: Double { percent(correctChunkCount, of: predictedChunkCount) }
  /// Chunk recall in percent: 100 * correct / gold chunks, or 0 without gold chunks.
  public var recall: Double { percent(correctChunkCount, of: goldChunkCount) }
  /// Chunk FB1 in percent: the harmonic mean of precision and recall, or 0 when both are 0.
  public var f1: Double { harmonicMean(precision, recall) }

  /// Adds one sentence, scored as conlleval scores its lines followed by a blank line; with
  /// `rawLabels`, as `conlleval -r` does (every label but "O" a one-token chunk of its type).
  /// With `tokens`, a token "-X-" is what conlleval reads a line whose first column is "-X-"
  /// as: a boundary, not a token, whatever its labels (so `trellis eval` counts a file as
  /// `trellis tag | trellis score` does).
  ///
  /// - Precondition: `gold`, `predicted` and `tokens` (when given) have one entry a token.
  public mutating func add(
    gold: [String], predicted: [String], tokens: [String]? = nil, rawLabels: Bool = false
  ) {
    precondition(
      gold.count == predicted.count && tokens.map { $0.count == gold.count } != false,
      "a sentence has \(gold.count) gold labels, \(predicted.count) predicted labels and "
        + "\(tokens?.count ?? gold.count) tokens")
    func tag(_ label: String) -> ConllTag {
      ConllTag(label[...], raw: rawLabels)
    }
    for (t, (goldLabel, predictedLabel)) in zip(gold, predicted).enumerated() {
      if let tokens, sameBytes(tokens[t].utf8, "-X-".utf8) {
        addBoundary()
      } else {
        addToken(gold: tag(goldLabel), predicted: tag(predictedLabel))
      }
    }
    addBoundary()
  }

  /// One token line of conlleval's input.
  mutating func addToken(gold: ConllTag, predicted: ConllTag) {
    step(gold: gold, predicted: predicted)
    tokenCount += 1
    if gold == predicted {
      correctTokenCount += 1
    }
  }

  /// A boundary line (blank, or first column "-X-"): conlleval reads it as gold and predicted "O"
  /// and does not count it as a token.
  mutating func addBoundary() {
    step(gold: .outside, predicted: .outside)
  }

  /// The body of conlleval's main loop, without the token counting.
  private mutating func step(gold: ConllTag, predicted: ConllTag) {
    if inCorrect {
      let goldEnds = endOfChunk(lastGold, gold)
      let predictedEnds = endOfChunk(lastPredicted, predicted)
      if goldEnds && predictedEnds && lastPredicted.hasSameType(as: lastGold) {
        inCorrect = false
        endedCorrectChunkCount += 1
        countsByType[ExactString(lastGold.type), default: TypeCounts()].correct += 1
      } else if goldEnds != predictedEnds || !predicted.hasSameType(as: gold) {
        inCorrect = false
      }
    }
    let goldStarts = startOfChunk(lastGold, gold)
    let predictedStarts = startOfChunk(lastPredicted, predicted)
    if goldStarts && predictedStarts && predicted.hasSameType(as: gold) {
      inCorrect = true
    }
    if goldStarts {
      goldChunkCount += 1
      countsByType[ExactString(gold.type), default: TypeCounts()].gold += 1
    }
    if predictedStarts {
      predictedChunkCount += 1
      countsByType[ExactString(predicted.type), default: TypeCounts()].predicted += 1
    }
    lastGold = gold
    lastPredicted = predicted
  }

  /// The report conlleval.pl prints, byte for byte.
  ///
  /// The accuracy line is left out when there are no tokens, as conlleval does. Type lines are
  /// sorted by the bytes of the type name (Perl's `sort`) and the name is right-aligned to 17
  /// bytes (`%17s` counts bytes).
  public func report() -> String {
    var output = "processed \(tokenCount) tokens with \(goldChunkCount) phrases; "
    output += "found: \(predictedChunkCount) phrases; correct: \(correctChunkCount).\n"
    if tokenCount > 0 {
      output += "accuracy: \(fixed(accuracy))%; precision: \(fixed(precision))%; "
      output += "recall: \(fixed(recall))%; FB1: \(fixed(f1))\n"
    }
    for (type, counts) in listedTypes() {
      output += padded(type, toBytes: 17, left: true)
      output += ": precision: \(fixed(counts.precision))%; recall: \(fixed(counts.recall))%; "
      output += "FB1: \(fixed(counts.f1))  \(counts.predicted)\n"
    }
    return output
  }

  /// The LaTeX table rows conlleval.pl prints with `-l`, byte for byte: a header, one row per type
  /// (the name left-aligned to 7 bytes, `%-7s`), and an "Overall" row; no token counts.
  public func latexReport() -> String {
    var output = "        & Precision &  Recall  & F$_{\\beta=1} \\\\\\hline"
    for (type, counts) in listedTypes() {
      output += "\n" + padded(type, toBytes: 7, left: false)
      output += " &  \(fixed(counts.precision))\\% & \(fixed(counts.recall))\\% & "
      output += "\(fixed(counts.f1)) \\\\"
    }
    output += "\\hline\n"
    output += "Overall &  \(fixed(precision))\\% & \(fixed(recall))\\% & \(fixed(f1)) \\\\\\hline\n"
    return output
  }

  /// The types as conlleval lists them: sorted by bytes, each once, except that the empty type
  /// comes twice when it occurs in both the gold and the predicted labels. (conlleval removes
  /// duplicates from its sorted list of gold and predicted type names with
  /// `not($lastType) or $lastType ne $i`, and the empty name is false in Perl.)
  private func listedTypes() -> [(type: String, counts: TypeCounts)] {
    let counts = perType
    return counts.keys.sorted().flatMap { type in
      let typeCounts = counts[type]!
      let copies = type.string.isEmpty && typeCounts.gold > 0 && typeCounts.predicted > 0 ? 2 : 1
      return Array(repeating: (type.string, typeCounts), count: copies)
    }
  }

  /// The report's numbers as JSON, pretty-printed with sorted keys and a final newline.
  ///
  /// Keys: `tokens`, `phrases` (gold chunks), `found` (predicted chunks), `correct`, `accuracy`,
  /// `precision`, `recall`, `f1` (percentages, unrounded) and `types`, which maps each chunk type
  /// to `{correct, f1, found, gold, precision, recall}` (`found` = predicted chunks). Types are
  /// sorted by their bytes and appear once each.
  public func json() -> String {
    let counts = perType
    let types = counts.keys.sorted().map { type in
      let typeCounts = counts[type]!
      let object = jsonObject(
        [
          ("correct", "\(typeCounts.correct)"),
          ("f1", "\(typeCounts.f1)"),
          ("found", "\(typeCounts.predicted)"),
          ("gold", "\(typeCounts.gold)"),
          ("precision", "\(typeCounts.precision)"),
          ("recall", "\(typeCounts.recall)"),
        ], indent: "    ")
      return (type.string, object)
    }
    let object = jsonObject(
      [
        ("accuracy", "\(accuracy)"),
        ("correct", "\(correctChunkCount)"),
        ("f1", "\(f1)"),
        ("found", "\(predictedChunkCount)"),
        ("phrases", "\(goldChunkCount)"),
        ("precision", "\(precision)"),
        ("recall", "\(recall)"),
        ("tokens", "\(tokenCount)"),
        ("types", jsonObject(types, indent: "  ")),
      ], indent: "")
    return object + "\n"
  }
}

/// A JSON object with one member per line, in the given order; values are already JSON. The
/// members are indented by two spaces more than `indent`, the closing brace by `indent`.
private func jsonObject(_ members: [(key: String, value: String)], indent: String) -> String {
  if members.isEmpty { return "{}" }
  let lines = members.map { "\(indent)  \(jsonString($0.key)): \($0.value)" }
  return "{\n" + lines.joined(separator: ",\n") + "\n\(indent)}"
}

/// A chunk type's name as a JSON string literal, escaped as `JSONEncoder` escapes it (and as
/// Trellis's answers write strings).
private func jsonString(_ key: String) -> String {
  let encoder = JSONEncoder()
  encoder.outputFormatting = .withoutEscapingSlashes
  // Encoding a String cannot fail: it has no number to be non-finite.
  return String(decoding: try! encoder.encode(key), as: UTF8.self)
}

/// 100 * part / whole as conlleval computes it (`100*$a/$b`), or 0 when `whole` is 0.
private func percent(_ part: Int, of whole: Int) -> Double {
  whole > 0 ? Double(100 * part) / Double(whole) : 0
}

/// conlleval's FB1, `2*$precision*$recall/($precision+$recall)`, or 0 when both are 0.
private func harmonicMean(_ precision: Double, _ recall: Double) -> Double {
  precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0
}

/// Perl's `%6.2f`; both go through the C library's printf, so the rounding is the same.
func fixed(_ value: Double) -> String {
  String(format: "%6.2f", value)
}

/// Perl's `%Ns` (`left`: padding on the left) or `%-Ns` on a byte string: pads to `width` UTF-8
/// bytes, never truncates.
private func padded(_ text: String, toBytes width: Int, left: Bool) -> String {
  let padding = String(repeating: " ", count: max(0, width - text.utf8.count))
  return left ? padding + text : text + padding
}
