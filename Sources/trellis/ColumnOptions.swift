import ArgumentParser
import Trellis

/// The help of `--token-column` and `--label-column`, for eval's options here and train's.
let tokenColumnHelp = ArgumentHelp(
  "The column holding the token (1-based; default: \(TrainingData.defaultTokenColumn)).")
let labelColumnHelp = ArgumentHelp(
  "The column holding the gold label (1-based; default: the last).")

/// Which CoNLL columns hold the token and the gold label (eval; train takes them from its
/// recipe), and the feature columns a model reads.
struct ColumnOptions: ParsableArguments {
  @Option(parsing: .unconditional, help: tokenColumnHelp) var tokenColumn = TrainingData
    .defaultTokenColumn
  @Option(parsing: .unconditional, help: labelColumnHelp) var labelColumn: Int?
  /// Set from the model (eval) or the recipe (train), not a flag here.
  var featureColumns: [Int] = []

  enum CodingKeys: CodingKey { case tokenColumn, labelColumn }

  init() {}

  init(tokenColumn: Int, labelColumn: Int?, featureColumns: [Int]) {
    self.tokenColumn = tokenColumn
    self.labelColumn = labelColumn
    self.featureColumns = featureColumns
  }

  func validate() throws {
    try validated { try TrainingData.validateColumns(token: tokenColumn, label: labelColumn) }
  }

  /// The labelled sentences of `path` in these columns, with the file's size and SHA-256
  /// (`readLabelledCoNLLWithDigest`).
  func readWithDigest(_ path: String) throws -> (sentences: [Sentence], digest: ReadDigest) {
    try readLabelledCoNLLWithDigest(
      path: path, tokenColumn: tokenColumn, labelColumn: labelColumn, featureColumns: featureColumns
    )
  }
}

/// Notes, on standard error, that `column`, the column `tag` or `eval` reads tokens from, is
/// the default (1) but not the one the model at `path` was trained on (its recipe's): both
/// read column 1 unless told, while the model's feature columns come from the model, so a
/// file laid out as its training data was would otherwise be tagged from the wrong column
/// without a word. A column given other than the default is taken as meant.
func noteTokenColumn(_ column: Int, of tagger: TaggerModel, at path: String) {
  guard column == TrainingData.defaultTokenColumn,
    let trained = tagger.provenance?.recipe.data.tokenColumn, trained != column
  else { return }
  printError(
    "note: \(path) was trained on the tokens of column \(trained) (--token-column \(trained)); "
      + "this reads column \(column)")
}

/// Notes, on standard error, that `eval` reads gold labels from each line's last column (no
/// --label-column) while the model at `path` was trained on another (its recipe's
/// --label-column): a file laid out as the training data was would otherwise be scored
/// against the wrong column without a word (FB1 0 against a column of other labels).
func noteLabelColumn(_ column: Int?, of tagger: TaggerModel, at path: String) {
  guard column == nil, let trained = tagger.provenance?.recipe.data.labelColumn else { return }
  printError(
    "note: \(path) was trained on the labels of column \(trained) (--label-column \(trained)); "
      + "this reads each line's last column")
}
