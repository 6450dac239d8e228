import ArgumentParser
import Trellis

/// Which CoNLL columns hold the token and the gold label, and the feature columns a model
/// reads. `eval` parses the first two as options, nil where not given (`reading(for:)` then
/// takes the model's); `train` sets them from its recipe.
struct ColumnOptions: ParsableArguments {
  @Option(
    parsing: .unconditional,
    help:
      "The column holding the token (1-based; default: the model's training column, else \(TrainingData.defaultTokenColumn))."
  )
  var tokenColumn: Int?
  @Option(
    parsing: .unconditional,
    help:
      "The column holding the gold label (1-based; default: the model's training column, else the last)."
  )
  var labelColumn: Int?
  /// Set from the model (eval) or the recipe (train), not a flag here.
  var featureColumns: [Int] = []

  enum CodingKeys: CodingKey { case tokenColumn, labelColumn }

  init() {}

  init(tokenColumn: Int, labelColumn: Int?, featureColumns: [Int]) {
    self.tokenColumn = tokenColumn
    self.labelColumn = labelColumn
    self.featureColumns = featureColumns
  }

  /// The columns given, checked; those from a model are checked against them once it is read
  /// (`reading(for:at:)`).
  func validate() throws {
    try validated {
      if let tokenColumn {
        try TrainingData.validateColumns(token: tokenColumn, label: labelColumn)
      } else if let labelColumn {
        try require(labelColumn, in: 1...TrainingData.columnLimit, "label-column")
      }
    }
  }

  /// The columns to read labelled data of `tagger`'s, which are laid out as its training data
  /// were: each column given, else the one its recipe read (tokens from column 1 and labels
  /// from the last where its recipe says nothing), and its feature columns. A note on
  /// standard error names the columns taken from the recipe (a token column other than 1, a
  /// label column training was given). Throws where a column given and one taken from the
  /// recipe are the same.
  func reading(for tagger: TaggerModel, at path: String) throws -> (
    token: Int, label: Int?, features: [Int]
  ) {
    let trained = tagger.provenance?.recipe.data
    let token = tokenColumn ?? trained?.tokenColumn ?? TrainingData.defaultTokenColumn
    let label = labelColumn ?? trained?.labelColumn
    let resolved = (token, label, tagger.configuration.featureColumns.map(\.column))
    var fromModel = [String]()
    if tokenColumn == nil, token != TrainingData.defaultTokenColumn {
      fromModel.append("--token-column \(token)")
    }
    if labelColumn == nil, let label { fromModel.append("--label-column \(label)") }
    if token == label {
      // Both the defaults' (column 1 as the label's); or one given and the other taken from
      // the model: say which to give.
      guard !fromModel.isEmpty else {
        throw OptionError("label-column", "must differ from --token-column (both \(token))")
      }
      let (missing, given) =
        tokenColumn == nil ? ("token-column", "--label-column") : ("label-column", "--token-column")
      throw OptionError(
        missing,
        "must be given too: \(path) was trained with \(fromModel.joined(separator: " and ")), "
          + "the column \(given) names")
    }
    guard !fromModel.isEmpty else { return resolved }
    printError("note: reading with \(fromModel.joined(separator: " and ")), as \(path) was trained")
    return resolved
  }

  /// The labelled sentences of `path` in these columns, with the file's size and SHA-256
  /// (`readLabelledCoNLLWithDigest`).
  func readWithDigest(_ path: String) throws -> (sentences: [Sentence], digest: ReadDigest) {
    try readLabelledCoNLLWithDigest(
      path: path, tokenColumn: tokenColumn ?? TrainingData.defaultTokenColumn,
      labelColumn: labelColumn, featureColumns: featureColumns)
  }
}

/// The column `tag` and `bench` read tokens from, and what chose it: for CoNLL input
/// (`readsColumns`), the column given (`--token-column`), else the one the model was trained
/// on (its recipe's, as `eval` takes it; noted on standard error when not the default), else
/// the default (1); for text input, whose tokens are a line's only column, 1. A model's feature
/// columns are its training data's, so its CoNLL input is laid out as that data was: reading
/// column 1 of a model trained on column 2 tagged the wrong words without a word but the note.
struct InputTokenColumn {
  let column: Int
  /// The model whose training chose `column`; nil where it was given or is the default.
  let takenFrom: String?

  init(given: Int?, of tagger: TaggerModel, at path: String, readsColumns: Bool) {
    let trained = readsColumns ? tagger.provenance?.recipe.data.tokenColumn : nil
    if given == nil, let trained, trained != TrainingData.defaultTokenColumn {
      (column, takenFrom) = (trained, path)
    } else {
      (column, takenFrom) = (given ?? TrainingData.defaultTokenColumn, nil)
    }
  }

  /// Says on standard error that the column is the model's.
  func note() {
    guard let takenFrom else { return }
    printError("note: reading with --token-column \(column), as \(takenFrom) was trained")
  }
}

/// Throws where `tagger` reads a feature from `tokenColumn`, the column `tag` or `bench` reads
/// tokens from, as training refuses the token's column read as a feature too.
func refuseFeatureAtTokenColumn(_ tokenColumn: Int, of tagger: TaggerModel, at path: String)
  throws
{
  guard tagger.configuration.featureColumns.contains(where: { $0.column == tokenColumn }) else {
    return
  }
  throw TrellisError(
    file: path,
    "reads feature column \(tokenColumn), which --token-column \(tokenColumn) names as the "
      + "tokens' column; give the column the model was trained with")
}

/// Why a line of `fieldCount` columns cannot give `tag` or `bench` a token (`tokenColumn`)
/// and the model's features (`featureColumns`); nil when it has every column they read.
func missingColumn(fieldCount: Int, tokenColumn: InputTokenColumn, featureColumns: [Int])
  -> String?
{
  // Built only for a refusal: this runs for every sentence `tag` reads.
  var columns: String { fieldCount == 1 ? "1 column" : "\(fieldCount) columns" }
  if tokenColumn.column > fieldCount {
    guard let model = tokenColumn.takenFrom else {
      return "--token-column \(tokenColumn.column) but the line has \(columns)"
    }
    return
      "the line has \(columns), and \(visibleControlCharacters(model)) was trained on the tokens of column "
      + "\(tokenColumn.column); give --token-column for this file's (1 for tokens alone)"
  }
  guard let feature = featureColumns.first(where: { $0 > fieldCount }) else { return nil }
  return "feature column \(feature) but the line has \(columns)"
}
