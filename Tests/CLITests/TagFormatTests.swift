import Foundation
import XCTest

/// `trellis tag` input and output formats, confidences and n-best lists.
final class TagFormatTests: CLITestCase {
  func testPlainTextInAndOutAgreesWithCoNLL() throws {
    let model = try sharedModel()
    let conll = try tag(PackagePaths.tiny("test"), model: model)
    let sentences = conll.components(separatedBy: "\n\n").filter { !$0.isEmpty }.map {
      $0.split(separator: "\n").map { $0.split(separator: "\t") }
    }
    let text =
      sentences.map { $0.map { String($0[0]) }.joined(separator: " ") }.joined(separator: "\n\n")
      + "\n"
    let result = try trellis(["tag", "--model", model, "--input", "text"], stdin: text)
    assertSucceeded(result)
    let expected =
      sentences.map { rows in rows.map { "\($0[0])/\($0[$0.count - 1])" }.joined(separator: " ") }
      .joined(separator: "\n\n") + "\n"
    XCTAssertEqual(result.output, expected, "a blank input line stays a blank output line")
  }

  /// Text input's tokens are separated by Unicode's spaces beyond ASCII too, not
  /// only spaces and tabs: a no-break space or a line separator inside a token would print as
  /// two words with one label. A zero-width space is no space, and stays in its token.
  func testTextInputSplitsAtUnicodeSpaces() throws {
    let model = try sharedModel()
    let line = "from\u{00A0}denver\u{2028}to \u{3000}dallas\u{200B}x\n"
    let result = try trellis(
      ["tag", "--model", model, "--input", "text", "--format", "json"], stdin: line)
    assertSucceeded(result)
    let answer = try XCTUnwrap(
      JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any])
    XCTAssertEqual(answer["tokens"] as? [String], ["from", "denver", "to", "dallas\u{200B}x"])
  }

  /// `--tokenize` splits each line of text as a JSON-lines request's "text" is split, labels
  /// and all: `Denver,` is two tokens, where text input alone gave `Denver,` one label. It
  /// applies to text input only.
  func testTokenizedTextInputIsSplitAsARequestsText() throws {
    let model = try sharedModel()
    let lines = [
      "i want to fly to Denver, please.", "from  Boston\u{00A0}(MA)", "", "o'clock 10.5",
    ]
    let tokenized = try trellis(
      ["tag", "--model", model, "--input", "text", "--tokenize", "--format", "json"],
      stdin: lines.joined(separator: "\n") + "\n")
    assertSucceeded(tokenized)
    let requests = lines.map {
      "{\"text\": \(String(decoding: try! JSONEncoder().encode($0), as: UTF8.self))}"
    }
    let json = try trellis(
      ["tag", "--model", model, "--input", "jsonl"], stdin: requests.joined(separator: "\n") + "\n")
    assertSucceeded(json)
    func tokensAndLabels(_ output: String) throws -> [[[String]]] {
      try output.split(separator: "\n").map { line in
        let answer = try XCTUnwrap(
          JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        return [answer["tokens"] as? [String] ?? [], answer["labels"] as? [String] ?? []]
      }
    }
    let answers = try tokensAndLabels(tokenized.output)
    XCTAssertEqual(answers, try tokensAndLabels(json.output))
    XCTAssertEqual(answers[0][0].suffix(4), ["Denver", ",", "please", "."])
    XCTAssertEqual(answers[1][0], ["from", "Boston", "(", "MA", ")"])
    let text = try trellis(
      ["tag", "--model", model, "--input", "text", "--tokenize"], stdin: "to Denver,\n")
    XCTAssertTrue(text.output.hasPrefix("to/"), text.output)
    XCTAssertEqual(text.output.split(separator: " ").count, 3, text.output)
    let conll = try trellis(["tag", "--model", model, "--tokenize", PackagePaths.tiny("test")])
    XCTAssertEqual(conll.exitCode, 64, conll.summary)
  }

  func testJSONLinesHaveSpansAndConfidences() throws {
    let model = try sharedModel()
    let result = try trellis([
      "tag", "--model", model, "--format", "json", "--confidence", PackagePaths.tiny("test"),
    ])
    assertSucceeded(result)
    let lines = result.output.split(separator: "\n")
    XCTAssertEqual(lines.count, 10)
    for line in lines {
      let object = try XCTUnwrap(
        JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
      let tokens = try XCTUnwrap(object["tokens"] as? [String])
      let labels = try XCTUnwrap(object["labels"] as? [String])
      let confidences = try XCTUnwrap(object["confidences"] as? [Double])
      let probability = try XCTUnwrap(object["probability"] as? Double)
      XCTAssertEqual(labels.count, tokens.count)
      XCTAssertEqual(confidences.count, tokens.count)
      XCTAssertTrue(confidences.allSatisfy { $0 > 0 && $0 <= 1 })
      XCTAssertTrue(
        probability > 0 && probability <= confidences.min()! + 1e-9, "p(y) ≤ every marginal")
      for span in try XCTUnwrap(object["spans"] as? [[String: Any]]) {
        let start = try XCTUnwrap(span["start"] as? Int)
        let end = try XCTUnwrap(span["end"] as? Int)
        XCTAssertEqual(span["text"] as? String, tokens[start..<end].joined(separator: " "))
        XCTAssertTrue(labels[start].hasSuffix(try XCTUnwrap(span["label"] as? String)))
      }
    }
  }

  /// A model of BIOES data answers with the scheme's spans, each S-X one: conlleval's rules,
  /// which spans followed, know no S- and made "S-X S-X S-X" one span of three tokens.
  func testSpansOfABIOESModelEndAtEachS() throws {
    let train = try write(String(repeating: "a\tS-X\nb\tS-X\n\n", count: 4), to: "bioes.conll")
    let model = path("bioes.model")
    assertSucceeded(
      try trellis(
        ["train", "--train", train, "--model", model, "--epochs", "1", "--quiet"]
          + Self.smallModelOptions))
    let requests = try write(#"{"tokens": ["a", "b", "a"]}"# + "\n", to: "bioes.jsonl")
    let result = try trellis(["tag", "--model", model, "--input", "jsonl", requests])
    assertSucceeded(result)
    let answer = try XCTUnwrap(
      JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any])
    XCTAssertEqual(answer["labels"] as? [String], ["S-X", "S-X", "S-X"])
    let spans = try XCTUnwrap(answer["spans"] as? [[String: Any]])
    XCTAssertEqual(
      spans.map { [$0["start"] as? Int, $0["end"] as? Int] }, [[0, 1], [1, 2], [2, 3]])
  }

  func testNBestIsRankedAndStartsWithTheBestPath() throws {
    let model = try sharedModel()
    let result = try trellis([
      "tag", "--model", model, "--format", "json", "--nbest", "3", PackagePaths.tiny("dev"),
    ])
    assertSucceeded(result)
    for line in result.output.split(separator: "\n") {
      let object = try XCTUnwrap(
        JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
      let nbest = try XCTUnwrap(object["nbest"] as? [[String: Any]])
      XCTAssertEqual(nbest.count, 3)
      XCTAssertEqual(nbest[0]["labels"] as? [String], object["labels"] as? [String])
      let scores = nbest.compactMap { $0["score"] as? Double }
      XCTAssertEqual(scores, scores.sorted(by: >))
    }
    let conll = try trellis(["tag", "--model", model, "--nbest", "3", PackagePaths.tiny("dev")])
    assertFailed(conll, mentioning: ["--format json"])
  }

  func testConfidenceColumnAndNonProbabilisticHeads() throws {
    let crf = try sharedModel()
    let rows = try tag(PackagePaths.tiny("test"), model: crf).split(separator: "\n")
    let withConfidence = try trellis([
      "tag", "--model", crf, "--confidence", PackagePaths.tiny("test"),
    ])
    assertSucceeded(withConfidence)
    for (plain, extended) in zip(rows, withConfidence.output.split(separator: "\n")) {
      XCTAssertTrue(extended.hasPrefix(plain + "\t"))
      XCTAssertNotNil(Double(extended.split(separator: "\t").last!))
    }
    let perceptron = try trainModel("perceptron", options: ["--head", "perceptron"])
    let result = try trellis([
      "tag", "--model", perceptron, "--confidence", PackagePaths.tiny("test"),
    ])
    assertSucceeded(result)
    XCTAssertTrue(result.stderr.contains("defines no probabilities"))
    XCTAssertTrue(result.output.split(separator: "\n").allSatisfy { $0.hasSuffix("\t-") })
  }

  func testTokenColumnPicksTheToken() throws {
    let model = try sharedModel()
    let shifted = try write(
      "1\tflights\tO\n2\tto\tO\n3\tboston\tB-toloc.city_name\n\n", to: "shifted.conll")
    let result = try trellis(["tag", "--model", model, "--token-column", "2", shifted])
    assertSucceeded(result)
    let plain = try trellis(["tag", "--model", model], stdin: "flights\nto\nboston\n\n")
    XCTAssertEqual(
      result.output.split(separator: "\n").map { $0.split(separator: "\t").last! },
      plain.output.split(separator: "\n").map { $0.split(separator: "\t").last! })
  }
}

/// -DOCSTART- lines pass through `tag`, so `tag | score` counts what conlleval counts.
final class DocumentMarkerTests: CLITestCase {
  func testTagCopiesDocumentStartLines() throws {
    let model = try sharedModel()
    let text =
      "-DOCSTART- O\n\nflights O\nto O\nboston B-toloc.city_name\n\n-DOCSTART- O\n\nfrom O\ndenver B-fromloc.city_name\n\n"
    let input = try write(text, to: "docs.conll")
    let tagged = try tag(input, model: model)
    let lines = tagged.split(separator: "\n", omittingEmptySubsequences: false)
    XCTAssertEqual(lines[0], "-DOCSTART-\tO\tO")
    XCTAssertEqual(lines[1], "")
    XCTAssertEqual(lines.filter { $0.hasPrefix("-DOCSTART-") }.count, 2)
    XCTAssertEqual(lines.filter { !$0.isEmpty }.count, 7)
    let scored = try trellis(["score"], stdin: tagged)
    assertSucceeded(scored)
    XCTAssertTrue(scored.output.hasPrefix("processed 7 tokens with 2 phrases"), scored.output)
  }

  /// A -DOCSTART- line whose column count is not the token lines' is written with theirs
  /// (-DOCSTART- and O), at the start of the file and after sentences, so `tag | score` reads
  /// every line as conlleval would a consistent file.
  func testDocumentStartLinesTakeTheTokenLinesColumns() throws {
    let text =
      "-DOCSTART-\n\nflights O\nto O\nboston B-toloc.city_name\n\n-DOCSTART- -X- -X- O\n\n"
      + "from O\ndenver B-fromloc.city_name\n\n"
    let tagged = try tag(try write(text, to: "markers.conll"), model: try sharedModel())
    let markers = tagged.split(separator: "\n").filter { $0.hasPrefix("-DOCSTART-") }
    XCTAssertEqual(markers, ["-DOCSTART-\tO\tO", "-DOCSTART-\tO\tO"])
    let scored = try trellis(["score"], stdin: tagged)
    assertSucceeded(scored)
    XCTAssertTrue(scored.output.hasPrefix("processed 7 tokens with 2 phrases"), scored.output)
  }

  /// A marker answered alone (the reader waiting for input right after it, as behind a pipe
  /// that pauses) was copied as it was, before any token line gave the column count, and
  /// `score` refused the output; a marker with no token line after it is copied as it is.
  func testADocumentStartLineAnsweredAloneTakesTheTokenLinesColumns() throws {
    let model = try sharedModel()
    let sentence = try write("flights O\nto O\nboston B-toloc.city_name\n\n", to: "s.conll")
    let output = path("tagged")
    let (status, message) = try trellisInShell(
      #"{ printf -- '-DOCSTART- -X- -X- O\n\n'; sleep 1; cat "$1"; } | "$0" tag --model "$2" > "$3""#,
      [sentence, model, output])
    XCTAssertEqual(status, 0, message)
    let tagged = try String(contentsOfFile: output, encoding: .utf8)
    XCTAssertEqual(tagged.split(separator: "\n").first, "-DOCSTART-\tO\tO")
    assertSucceeded(try trellis(["score"], stdin: tagged))
    let alone = try tag(try write("-DOCSTART- -X- -X- O\n\n", to: "alone.conll"), model: model)
    XCTAssertEqual(alone, "-DOCSTART-\t-X-\t-X-\tO\tO\n\n")
  }

  /// A -DOCSTART- line with no blank line before it ends the sentence and is copied after it.
  func testTagCopiesADocumentStartLineThatEndsASentence() throws {
    let input = try write(
      "flights O\nto O\n-DOCSTART- O\nfrom O\ndenver B-fromloc.city_name\n", to: "inside.conll")
    let rows = conllRows(try tag(input, model: try sharedModel()))
    XCTAssertEqual(
      rows.map { $0.first ?? "" }, ["flights", "to", "", "-DOCSTART-", "", "from", "denver", ""])
  }
}

/// Probabilities are printed within [0, 1]: a model of large weights (plain SGD at rate 100)
/// had sums of exponentials land past 1 by an ulp or a few (1.0000000000000002).
final class ProbabilityRangeTests: CLITestCase {
  func testConfidencesAndProbabilitiesNeverPassOne() throws {
    let model = path("large.model")
    assertSucceeded(
      try trellis([
        "train", "--train", PackagePaths.tiny("train"), "--model", model, "--epochs", "2",
        "--character-filters", "0", "--optimizer", "sgd", "--learning-rate", "100", "--quiet",
      ]))
    let tagged = try trellis([
      "tag", "--model", model, "--confidence", "--nbest", "3", "--format", "json",
      PackagePaths.tiny("test"),
    ])
    assertSucceeded(tagged)
    var probabilities: [Double] = []
    for line in tagged.output.split(separator: "\n") {
      let answer = try XCTUnwrap(
        JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
      probabilities += try XCTUnwrap(answer["confidences"] as? [Double])
      probabilities.append(try XCTUnwrap(answer["probability"] as? Double))
      for alternative in try XCTUnwrap(answer["nbest"] as? [[String: Any]]) {
        probabilities.append(try XCTUnwrap(alternative["probability"] as? Double))
      }
    }
    XCTAssertGreaterThan(probabilities.count, 100)
    XCTAssertTrue(probabilities.allSatisfy { (0...1).contains($0) }, "\(probabilities.max()!)")
  }
}
