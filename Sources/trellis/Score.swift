import ArgumentParser
import ConllEval
import Trellis

struct Score: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "score",
    abstract: "conlleval: score lines whose last two columns are the gold and predicted labels.",
    discussion: """
      Prints the report of conlleval.pl (version 2004-01-26) byte for byte, chunking
      rules included; -d, -o, -r and -l are conlleval's options, with its meaning.
      Labels are compared by their bytes, as conlleval compares them.

      Where input departs from conlleval's format, score reads it as follows
      (what conlleval does in brackets):
      - Tabs: without -d, runs of spaces and tabs separate columns (conlleval
        splits at every single space, as -d ' ' does).
      - CRLF and CR: LF, CRLF and a lone CR each end a line, so "\\r\\r\\n" is a
        line end and an empty line (conlleval ends lines at LF only and keeps a
        CR in the last label).
      - BOM: a UTF-8 byte-order mark at the start is skipped (conlleval keeps it
        in the first column).
      - Invalid UTF-8: an error, "Error: FILE:LINE: is not valid UTF-8"
        (conlleval compares the bytes). A file in UTF-16 or UTF-32 is an error
        naming the iconv command that converts it, known by its byte-order mark
        or, without one, by NUL bytes beside each of its first characters (which
        a UTF-8 file can hold too: conlleval scores it).
      - Long lines: a line longer than 16 MiB is an error (conlleval reads it).
      - Column counts: a line with another column count than the first, or with
        one column, is an error naming FILE:LINE (conlleval prints "unexpected
        number of features" without a line number).
      - -d with regular-expression syntax, not a plain string such as '\\t':
        Swift's Regex matches it on Unicode scalars, with \\s, \\d, \\w and POSIX
        classes ([[:space:]]) held to ASCII as Perl's are on bytes (and \\Q, \\E
        the letters Q and E, as in a pattern Perl reads from a variable), so
        '.', '[^,]' or '\\W' match a whole character that Perl matches byte by
        byte, and after an empty match it moves on one scalar (conlleval: Perl's
        split, on bytes), and (?i) folds the case of letters beyond ASCII (U+00C9
        for U+00E9), which Perl's bytes do not.
        Swift's Regex backtracks without Perl's shortcuts, so a pattern of nested
        repeats such as '(a+)+b' can take time exponential in a line's length
        (Perl: linear), and a repeat followed by what the line lacks, such as
        ' +;' on a line of spaces, time quadratic in it (Perl looks for the ';'
        first): 6 s for 20,000 spaces. Perl's own escapes that Swift's Regex
        lacks, such as '\\11' (octal) or '\\cI', are usage errors, and so is a
        lookbehind ('(?<= )'). '\\b' and '\\B' take digits for non-word
        characters (Swift's Regex), where Perl's \\w holds them: '\\b' splits
        "B-0" into two fields, Perl's into three.
      """)

  @Argument(help: "Input file; '-' or nothing reads standard input.") var file: String = "-"
  @Option(
    name: [.customShort("d"), .customLong("delimiter")], parsing: .unconditional,
    help: ArgumentHelp(
      "Split lines as Perl's split(/PATTERN/) does, e.g. '\\t' or ' ' (conlleval's -d).",
      valueName: "pattern"))
  var delimiter: String?
  @Option(
    name: [.customShort("o"), .customLong("outside")], parsing: .unconditional,
    help: ArgumentHelp(
      "With -r, the label that means outside, besides O (conlleval's -o).", valueName: "label"))
  var outside = ConllOptions().outsideLabel
  @Flag(
    name: [.customShort("r"), .customLong("raw")],
    help: ArgumentHelp(
      "Raw labels: chunk types without B-/I-; every label but O (and -o) is a one-token chunk"
        + " (conlleval's -r)."))
  var raw = false
  @Flag(
    name: [.customShort("l"), .customLong("latex")],
    help: "Print conlleval's LaTeX table rows instead of its report (conlleval's -l).")
  var latex = false
  @Flag(help: "Print the scores as JSON.") var json = false

  func validate() throws {
    if json && latex {
      throw ValidationError("--json and -l (--latex) choose two formats; give one")
    }
    _ = try options()
  }

  func run() throws {
    try FileRoles(inputs: [("FILE", file)]).check()
    // Streams: constant memory for any input, and every error (invalid UTF-8 included) names
    // its line.
    let reader = try LineReader(path: file)
    let options = try options()
    reader.nulIsText = options.delimiter?.separatesAtNUL ?? false
    var scorer = ConllScorer(fileName: reader.fileName, options: options)
    do {
      while let line = try reader.next() { try scorer.add(line: line) }
    } catch let error as ConllEvalError {
      // As every other error about a file: the name's control characters escaped.
      throw TrellisError(file: error.fileName, line: error.line, error.message)
    }
    let counts = scorer.counts
    print(json ? counts.json() : latex ? counts.latexReport() : counts.report(), terminator: "")
  }

  /// The scorer's options; a -d pattern that does not compile is a usage error.
  private func options() throws -> ConllOptions {
    var options = ConllOptions(rawLabels: raw, outsideLabel: outside)
    if let delimiter {
      do {
        options.delimiter = try FieldDelimiter(delimiter)
      } catch {
        throw ValidationError(
          "-d \(delimiter): not a regular expression Swift's Regex reads: \(error)")
      }
    }
    return options
  }
}
