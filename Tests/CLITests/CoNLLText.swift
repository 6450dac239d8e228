import Foundation

/// The lines of a CoNLL text, each split into its tab-separated fields; a blank line is `[]`.
/// A final newline ends the last line rather than starting an empty one.
func conllRows(_ text: String) -> [[String]] {
  var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
  if lines.last == "" { lines.removeLast() }
  return lines.map { $0.split(separator: "\t").map(String.init) }
}

/// The contents of a text file.
func contents(of path: String) throws -> String {
  try String(contentsOfFile: path, encoding: .utf8)
}

/// The number of token (non-blank) lines in a CoNLL file.
func tokenLineCount(of path: String) throws -> Int {
  try conllRows(contents(of: path)).filter { !$0.isEmpty }.count
}

/// The labels (last column) of a labelled CoNLL file.
func labelSet(of path: String) throws -> Set<String> {
  Set(try conllRows(contents(of: path)).compactMap(\.last))
}

/// How `output` of `trellis tag` departs from "`input` with one more column": line by line, blank
/// lines stay blank, a token line keeps its fields and gains a label from `labels`.
/// Empty when the output is as expected.
func taggingProblems(output: String, input: String, labels: Set<String>) -> [String] {
  let inputRows = conllRows(input)
  let outputRows = conllRows(output)
  var problems: [String] = []
  if outputRows.count != inputRows.count {
    problems.append("\(outputRows.count) output lines for \(inputRows.count) input lines")
  }
  for (index, (inputRow, outputRow)) in zip(inputRows, outputRows).enumerated() {
    let line = "line \(index + 1)"
    if inputRow.isEmpty {
      if !outputRow.isEmpty {
        problems.append("\(line): \(outputRow) where the input has a blank line")
      }
    } else if outputRow.count != inputRow.count + 1 {
      problems.append("\(line): \(outputRow.count) columns for \(inputRow.count) input columns")
    } else if Array(outputRow.dropLast()) != inputRow {
      problems.append("\(line): fields \(outputRow.dropLast()) differ from the input's \(inputRow)")
    } else if !labels.contains(outputRow[outputRow.count - 1]) {
      problems.append("\(line): \(outputRow[outputRow.count - 1]) is not a training label")
    }
  }
  return problems
}

/// The 1-based lines of a tagged CoNLL text whose predicted (last) label is `I-X` without a
/// `B-X` or `I-X` before it in the same sentence: transitions that BIO decoding must not produce.
func invalidBIOTransitions(in tagged: String) -> [Int] {
  var previous = "O"
  var invalid: [Int] = []
  for (index, row) in conllRows(tagged).enumerated() {
    guard let label = row.last else {
      previous = "O"
      continue
    }
    let type = label.dropFirst(2)
    if label.hasPrefix("I-"), previous != "B-\(type)", previous != "I-\(type)" {
      invalid.append(index + 1)
    }
    previous = label
  }
  return invalid
}

/// The first two lines of a conlleval report, with the percentages as printed ("61.80").
struct ReportSummary: Equatable {
  var tokens, phrases, found, correct: Int
  var accuracy, precision, recall, fb1: String

  /// Parses `processed N tokens with M phrases; found: K phrases; correct: C.` and the accuracy
  /// line after it; nil when either is missing or malformed.
  init?(_ report: String) {
    let lines = report.split(separator: "\n", omittingEmptySubsequences: false)
    guard lines.count >= 2,
      let counts = lines[0].wholeMatch(
        of: #/processed (\d+) tokens with (\d+) phrases; found: (\d+) phrases; correct: (\d+)\./#),
      let scores = lines[1].wholeMatch(
        of: #/accuracy: +([\d.]+)%; precision: +([\d.]+)%; recall: +([\d.]+)%; FB1: +([\d.]+)/#)
    else { return nil }
    (tokens, phrases, found, correct) = (
      Int(counts.1)!, Int(counts.2)!, Int(counts.3)!, Int(counts.4)!
    )
    (accuracy, precision, recall, fb1) = (
      String(scores.1), String(scores.2), String(scores.3), String(scores.4)
    )
  }

  /// The same numbers from `trellis eval --json` / `score --json` output, percentages rounded to
  /// two decimals as the report prints them; nil when a key is missing or not a number.
  init?(json: [String: Any]) {
    func count(_ key: String) -> Int? { json[key] as? Int }
    func percent(_ key: String) -> String? {
      (json[key] as? Double).map { String(format: "%.2f", $0) }
    }
    guard let tokens = count("tokens"), let phrases = count("phrases"), let found = count("found"),
      let correct = count("correct"), let accuracy = percent("accuracy"),
      let precision = percent("precision"),
      let recall = percent("recall"), let fb1 = percent("f1")
    else { return nil }
    (self.tokens, self.phrases, self.found, self.correct) = (tokens, phrases, found, correct)
    (self.accuracy, self.precision, self.recall, self.fb1) = (accuracy, precision, recall, fb1)
  }
}
