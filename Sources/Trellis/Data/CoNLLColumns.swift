import Foundation

/// Each line's token, feature and label fields of `sentences` (read from `fileName`), in that
/// order, as `readLabelledCoNLL` lays them out.
func pickColumns(
  _ sentences: [Sentence], of fileName: String, tokenColumn: Int, labelColumn: Int?,
  featureColumns: [Int]
) throws -> [Sentence] {
  if tokenColumn == 1 && labelColumn == nil && featureColumns.isEmpty { return sentences }
  guard let first = sentences.first else { return [] }
  let columns = first.fields[0].count
  // Each column is named by its role, whether the user gave it or the model's training did
  // (`eval`): "column 4 asked for" blamed the user for a model's label column, and "asked for
  // twice" for a model's feature column that a file of fewer columns has as its last.
  let label =
    labelColumn == nil
    ? "the label column (the last, as no label column is given)" : "the label column"
  let roles =
    [("the token column", tokenColumn)] + featureColumns.map { ("a feature column", $0) }
    + [(label, labelColumn ?? columns)]
  for (role, column) in roles where !(1...columns).contains(column) {
    throw TrellisError(
      file: fileName, line: first.firstLine,
      column < 1
        ? "\(role) is column \(column); columns are numbered from 1"
        : "\(role) is column \(column), but the line has "
          + (columns == 1 ? "1 column" : "\(columns) columns"))
  }
  // A column read twice would, as a feature, hand the model its gold label.
  for (index, role) in roles.enumerated() {
    if let earlier = roles[..<index].first(where: { $0.1 == role.1 }) {
      throw TrellisError(
        file: fileName, line: first.firstLine,
        "column \(role.1) of \(columns) is both \(earlier.0) and \(role.0); the token, feature "
          + "and label columns must differ")
    }
  }
  let picked = roles.map { $0.1 - 1 }
  return sentences.map { sentence in
    var picked = Sentence(
      fields: sentence.fields.map { fields in picked.map { fields[$0] } },
      firstLine: sentence.firstLine)
    if tokenColumn != 1 { picked.firstColumn = sentence.tokens }
    return picked
  }
}
