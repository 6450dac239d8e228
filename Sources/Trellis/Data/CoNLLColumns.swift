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
  for column in [tokenColumn, labelColumn ?? columns] + featureColumns
  where !(1...columns).contains(column) {
    throw TrellisError(
      file: fileName, line: first.firstLine,
      column < 1
        ? "column \(column) asked for; columns are numbered from 1"
        : "column \(column) asked for, but lines have \(columns)")
  }
  // A column read twice would, as a feature, hand the model its gold label. Each is named by
  // its role: "asked for twice" blamed the user for a model's feature column that a file of
  // fewer columns has as its last, the label column.
  let label =
    labelColumn == nil
    ? "the label column (the last, as no label column is given)" : "the label column"
  let roles =
    [("the token column", tokenColumn)] + featureColumns.map { ("a feature column", $0) }
    + [(label, labelColumn ?? columns)]
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
