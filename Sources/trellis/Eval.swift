import ArgumentParser
import ConllEval
import Foundation
import Trellis

struct Eval: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "eval",
    abstract: """
      Tag a labelled CoNLL file and score it against its gold labels (tokens and labels in \
      the columns the model was trained on unless --token-column or --label-column), as \
      conlleval does, but for -DOCSTART- lines: eval skips them, where conlleval (and \
      trellis tag | trellis score) counts each as a token labelled O. Labels without chunk \
      prefixes are scored as conlleval -r scores them, and BIOES labels as the BIO labels \
      of the same chunks, as training's dev F1 scores them.
      """)

  @Option(help: "The model file.") var model: String
  @Option(help: "Labelled CoNLL data.") var test: String
  @OptionGroup var columns: ColumnOptions
  @Flag(help: "Decode without the tag scheme's transition constraints.") var noConstraints = false
  @Flag(help: "After the report, count predicted sequences the tag scheme forbids.")
  var invalidSequences = false
  @Flag(help: "Print the scores as JSON instead of conlleval's report.") var json = false
  @Flag(
    help:
      "After the report, score the tokens whose word has no row of the model's own: never seen in training, nor kept with a pretrained vector."
  )
  var unseenWords = false

  func validate() throws {
    // Their lines would follow the JSON object, which then no longer parses.
    guard !json || !(unseenWords || invalidSequences) else {
      throw ValidationError(
        "--json prints the scores alone; --unseen-words and --invalid-sequences add to the text "
          + "report: leave out --json, or them")
    }
  }

  /// The most sentences and tokens read and tagged at once: `eval` holds a group, not the
  /// file. Groups of 16,384 ATIS sentences (about 168,000 tokens) ran ATIS test × 100 as fast
  /// as one call for the whole file did; groups of 2,048 took 7% longer.
  static let (groupSentences, groupTokens) = (16_384, 1 << 18)

  func run() throws {
    try FileRoles(inputs: [("--model", model), ("--test", test)]).check()
    let tagger = try ModelFile.read(from: model)
    let columns = try columns.reading(for: tagger, at: model)
    let featureColumns = columns.features
    let reader = try LabelledCoNLLReader(
      path: test, tokenColumn: columns.token, labelColumn: columns.label,
      featureColumns: featureColumns, refusal: { tagger.tokenLimitError(count: $0.count) })
    let options = TaggingOptions(constrained: !noConstraints)
    let scheme = tagger.configuration.scheme
    var counts = ConllCounts()
    var unseen = UnseenWordCounts()
    var invalid = (sentences: 0, transitions: 0)
    // A bad line after the first group is found after the groups before it are tagged.
    while let (sentences, firstFields) = try reader.nextWithFirstFields(
      sentenceCount: Self.groupSentences, tokenCount: Self.groupTokens)
    {
      let inputs = try sentences.map {
        try TokenInput(
          $0, featureCount: featureColumns.count, file: LineReader.displayName(of: test))
      }
      let predicted = tagger.tag(inputs, options: options)
      for (index, (sentence, labels)) in zip(sentences, predicted).enumerated() {
        counts.add(
          gold: tagger.countedLabels(sentence.labels), predicted: tagger.countedLabels(labels),
          tokens: firstFields[index], rawLabels: tagger.labelsAreRaw)
        if unseenWords { unseen.add(sentence, predicted: labels, tagger: tagger) }
        // Labels without chunk prefixes have no scheme to break.
        let transitions =
          invalidSequences && !tagger.labelsAreRaw
          ? invalidTransitionCount(labels, scheme: scheme) : 0
        invalid.sentences += transitions > 0 ? 1 : 0
        invalid.transitions += transitions
      }
    }
    // A file of `-X-` lines alone has sentences but, as conlleval reads them, no tokens; one of
    // `-DOCSTART-` lines alone has neither (`LabelledCoNLLReader`): the same mistake, one error.
    guard counts.tokenCount > 0 else {
      throw TrellisError(
        file: reader.fileName,
        "contains no tokens to score: conlleval reads a line whose first field is -X- as "
          + "a boundary")
    }
    noteHowLabelsAreCounted(by: tagger)
    print(json ? counts.json() : counts.report(), terminator: "")
    if unseenWords { print(unseen.report) }
    if invalidSequences && tagger.labelsAreRaw {
      print("invalid sequences: none possible (no label has a chunk prefix)")
    } else if invalidSequences {
      print(
        "invalid \(scheme.rawValue) sequences: \(invalid.sentences) sentences, "
          + "\(invalid.transitions) transitions")
    }
  }

  /// The notes on standard error for labels that are not scored as conlleval would score them
  /// by default: labels without chunk prefixes, and BIOES labels.
  private func noteHowLabelsAreCounted(by tagger: TaggerModel) {
    if tagger.labelsAreRaw {
      // Without -r, conlleval finds no chunks in such labels, or splits one at its first "-"
      // (`-LRB-`: prefix "", type "LRB-"): an FB1 of 0, or of chunks no label means, beside
      // the dev F1 that training and `info` report for the same model.
      printError(
        "note: no label has a chunk prefix (B-, I-, E-, S-), so each label but O is scored as "
          + "a one-token chunk, as training's dev F1 and `conlleval -r` (`trellis score -r`) "
          + "score them")
    }
    if tagger.configuration.scheme == .bioes {
      printError(
        "note: BIOES labels are counted as the BIO labels of the same chunks, as training's dev "
          + "F1 counts them; conlleval (and `trellis score`) knows no S- and ends no chunk at E-")
    }
  }
}

/// Token accuracy on words outside the model's vocabulary, and recall of the gold chunks that
/// contain one: where character features should make a difference. A word given a pretrained
/// vector (`--embeddings` with its `--dev` or `--test` file) has a row, so it is not counted:
/// to see what vectors do for unseen words, compare the overall scores.
struct UnseenWordCounts {
  private var tokens = 0, correctTokens = 0, chunks = 0, foundChunks = 0, allTokens = 0

  /// Counts one sentence and its predicted labels.
  mutating func add(_ sentence: Sentence, predicted labels: [String], tagger: TaggerModel) {
    let unseen = sentence.tokens.map { !tagger.knows(word: $0) }
    allTokens += unseen.count
    for (t, isUnseen) in unseen.enumerated() where isUnseen {
      tokens += 1
      // Labels are compared by their bytes, as conlleval and `ConllCounts` compare them.
      if ExactString(labels[t]) == ExactString(sentence.labels[t]) { correctTokens += 1 }
    }
    // Chunks as the report counts them (`countedLabels`: BIOES's as their BIO equivalents';
    // labels without chunk prefixes each a chunk, as `conlleval -r` reads them).
    let raw = tagger.labelsAreRaw
    let predictedChunks = Set(ConllEval.chunks(in: tagger.countedLabels(labels), raw: raw))
    for chunk in ConllEval.chunks(in: tagger.countedLabels(sentence.labels), raw: raw)
    where unseen[chunk.start..<chunk.end].contains(true) {
      chunks += 1
      if predictedChunks.contains(chunk) { foundChunks += 1 }
    }
  }

  /// The report's line.
  var report: String {
    String(
      format:
        "unseen words: %d tokens (%.2f%%), token accuracy %.2f%%; gold chunks with one: %d, recall %.2f%%",
      tokens, 100 * Double(tokens) / Double(max(allTokens, 1)),
      100 * Double(correctTokens) / Double(max(tokens, 1)),
      chunks, 100 * Double(foundChunks) / Double(max(chunks, 1)))
  }
}
