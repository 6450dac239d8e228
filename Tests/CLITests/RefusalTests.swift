import Foundation
import XCTest

/// What a review of session 41 found the CLI accepting, doing silently or saying badly: each
/// is refused before any work, with its file and line where it has one, or said plainly.
final class RefusalTests: CLITestCase {
  /// `--scheme` converts chunk labels; a part-of-speech tag would have been read as O, every
  /// label of the corpus erased and the model trained to answer O.
  func testASchemeConversionRefusesLabelsItWouldErase() throws {
    let train = try write("the\tDT\ncat\tNN\n\nsat\tVBD\n", to: "pos.conll")
    assertFailed(
      try trellis(
        ["train", "--train", train, "--model", path("m"), "--scheme", "bioes"]
          + Self.smallModelOptions),
      mentioning: [
        "\(train):1: label \"DT\" is not a chunk label (O, B-X, I-X, E-X, S-X), so training in "
          + "bioes would read it as O; leave out --scheme"
      ])
    XCTAssertFalse(FileManager.default.fileExists(atPath: path("m")))
    // Nothing is converted when the data is in that scheme already: trained as before.
    assertSucceeded(
      try trellis(
        ["train", "--train", train, "--model", path("m"), "--scheme", "bio", "--quiet"]
          + Self.smallModelOptions))
  }

  /// `/dev/stdout` names whatever standard output holds: redirected to a file, the model
  /// replaced that file and the checkpoint went to /dev. Refused before any work.
  func testAModelNamedThroughADescriptorIsRefused() throws {
    for model in ["/dev/stdout", "/dev/fd/1", "/proc/self/fd/1"] {
      assertFailed(
        try trellis(
          ["train", "--train", PackagePaths.tiny("train"), "--model", model]
            + Self.smallModelOptions),
        mentioning: ["\(model): names an open file descriptor", "give the file's own path"])
    }
    XCTAssertFalse(FileManager.default.fileExists(atPath: "/dev/stdout.checkpoint"))
    // The case reported: standard output redirected to a file, which the model replaced.
    let (status, message) = try trellisInShell(
      #"out="$1"; shift; exec "$0" "$@" > "$out""#,
      [path("out"), "train", "--train", PackagePaths.tiny("train"), "--model", "/dev/stdout"]
        + Self.smallModelOptions)
    XCTAssertEqual(status, 1, message)
    XCTAssertTrue(message.contains("names an open file descriptor"), message)
    XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path("out"))), Data())
  }

  /// Only links that name descriptors are refused: a link elsewhere is written through to its
  /// target as always.
  func testAnOrdinaryLinkIsWrittenThrough() throws {
    let link = path("link.model")
    try write("", to: "real.model")
    try FileManager.default.createSymbolicLink(
      atPath: link, withDestinationPath: path("real.model"))
    assertSucceeded(
      try trellis(
        ["train", "--train", PackagePaths.tiny("train"), "--model", link, "--quiet"]
          + Self.smallModelOptions))
    XCTAssertGreaterThan(
      try FileManager.default.attributesOfItem(atPath: path("real.model"))[.size] as? Int ?? 0, 0)
    XCTAssertEqual(
      try FileManager.default.destinationOfSymbolicLink(atPath: link), path("real.model"))
  }

  /// A log that cannot be created is refused before the data is read, as a model is.
  func testALogInAMissingDirectoryIsRefusedBeforeAnyWork() throws {
    let log = path("missing/log.jsonl")
    assertFailed(
      try trellis(
        ["train", "--train", PackagePaths.tiny("train"), "--model", path("m"), "--log", log]),
      mentioning: ["\(log): cannot be written (--log)", "is missing or not writable"])
  }

  /// Configuration files: a syntax error is placed by line (a trailing comma too, which
  /// JSONSerialization accepted), and a number a Float field cannot hold names the field, a
  /// usage error (64) as a value out of the option's range is.
  func testConfigurationErrorsNameTheLineOrTheField() throws {
    let comma = try write("{\n  \"options\": {\"epochs\": 2,}\n}\n", to: "comma.json")
    assertFailed(
      try trellis(["train", "--config", comma, "--model", path("m")]),
      mentioning: ["\(comma):2: is not valid JSON (column 27)"])
    let nan = try write("{\"options\": {\"dropout\": NaN}}", to: "nan.json")
    assertFailed(
      try trellis(["train", "--config", nan, "--model", path("m")]),
      mentioning: ["\(nan):1: is not valid JSON (column 25)"])
    for value in ["1e39", "1e-50"] {
      let file = try write("{\"options\": {\"dropout\": \(value)}}", to: "float.json")
      let result = try trellis(["train", "--config", file, "--model", path("m")])
      assertFailed(
        result,
        mentioning: ["\(file): 'options.dropout' must be a number that single precision holds"])
      XCTAssertEqual(result.exitCode, 64, result.summary)
    }
  }

  /// `info` shows strings from whoever made the model: control characters are escaped, so a
  /// note cannot drive the terminal, nor a line feed in it print a line that looks like
  /// `info`'s own.
  func testInfoEscapesControlCharacters() throws {
    let model = try trainModel(options: ["--note", "\u{1B}]0;title\u{07}\u{1B}[2J\nmissing x"])
    let info = try trellis(["info", model])
    assertSucceeded(info)
    XCTAssertTrue(
      info.output.contains("\\u{1B}]0;title\\u{7}\\u{1B}[2J\\u{A}missing x"), info.output)
    XCTAssertFalse(info.output.unicodeScalars.contains("\u{1B}"))
    XCTAssertFalse(info.output.contains("\nmissing x"), info.output)
  }

  /// Text answers have no place for a confidence: refused rather than left out silently.
  func testConfidenceWithTextAnswersIsRefused() throws {
    let result = try trellis(
      ["tag", "--model", try sharedModel(), "--input", "text", "--format", "text", "--confidence"],
      stdin: "flights to boston\n")
    XCTAssertEqual(result.exitCode, 64, result.stderr)
    XCTAssertTrue(result.stderr.contains("--confidence prints a number per token"), result.stderr)
  }

  /// With --nbest too, each refusal names the one format that holds both, so following its
  /// advice is not refused by the other (it suggested CoNLL, which n-best lists cannot use).
  func testConfidenceAndNBestRefusalsSuggestAFormatThatHoldsBoth() throws {
    for format in ["text", "conll"] {
      let result = try trellis(
        [
          "tag", "--model", try sharedModel(), "--input", "text", "--format", format,
          "--confidence", "--nbest", "2",
        ], stdin: "flights to boston\n")
      XCTAssertEqual(result.exitCode, 64, result.stderr)
      XCTAssertTrue(result.stderr.contains("add --format json\n"), result.stderr)
    }
    // Without --confidence, text answers hold an n-best list too.
    let nbestAlone = try trellis(
      ["tag", "--model", try sharedModel(), "--format", "conll", "--nbest", "2"],
      stdin: "flights\n\n")
    XCTAssertEqual(nbestAlone.exitCode, 64, nbestAlone.stderr)
    XCTAssertTrue(nbestAlone.stderr.contains("add --format json (or text)\n"), nbestAlone.stderr)
  }

  /// `eval --json` with a report that follows the text one printed lines after the JSON
  /// object, so the output no longer parsed: refused.
  func testEvalJSONRefusesTheReportsThatFollowTheText() throws {
    for flag in ["--unseen-words", "--invalid-sequences"] {
      let result = try trellis(
        ["eval", "--model", try sharedModel(), "--test", PackagePaths.tiny("test"), "--json", flag])
      XCTAssertEqual(result.exitCode, 64, result.stderr)
      XCTAssertTrue(result.stderr.contains("--json prints the scores alone"), result.stderr)
    }
  }

  /// Training refuses a feature column that is the token column; tagging does too.
  func testTaggingRefusesAFeatureColumnThatIsTheTokenColumn() throws {
    let train = try write("a\tx\tO\nb\ty\tB-c\n\n", to: "features.conll")
    let model = path("features.model")
    assertSucceeded(
      try trellis(
        ["train", "--train", train, "--model", model, "--feature-column", "2", "--quiet"]
          + Self.smallModelOptions))
    assertFailed(
      try trellis(["tag", "--model", model, "--token-column", "2", train]),
      mentioning: ["\(model): reads feature column 2, which --token-column 2 names"])
  }

  /// A resumed run's weights were seeded from the checkpoint's vectors, of its scope: the model
  /// records those, whatever the resuming command names, and the command is told.
  func testAResumedRunRecordsTheCheckpointsVectors() throws {
    let train = try write("flights\tO\nto\tO\nboston\tB-city\n\n", to: "train.conll")
    let first = try write("flights 1 1 1 1\nboston 2 2 2 2\n", to: "first.txt")
    let second = try write("flights 3 3 3 3\nboston 4 4 4 4\n", to: "second.txt")
    let common = [
      "train", "--train", train, "--model", path("m"), "--embedding-size", "4",
      "--hidden-size", "4", "--character-filters", "0",
    ]
    assertSucceeded(
      try trellis(common + ["--embeddings", first, "--epochs", "1", "--keep-checkpoint"]))
    let resumed = try trellis(common + ["--embeddings", second, "--epochs", "2", "--resume"])
    assertSucceeded(resumed)
    XCTAssertTrue(
      resumed.stderr.contains("embeddings \(first) (not \(second))"), resumed.stderr)
    let info = try trellis(["info", "--json", path("m")])
    XCTAssertTrue(info.output.contains(first) && !info.output.contains(second), info.output)
    // The vectors given to a resumed run are not read into it, only digested: vectors of
    // another size, which a fresh run refuses, are noted as other vectors, not refused.
    let otherSize = try write("flights 5 5 5\nboston 6 6 6\n", to: "other-size.txt")
    assertSucceeded(
      try trellis(common + ["--embeddings", first, "--epochs", "1", "--keep-checkpoint"]))
    let sized = try trellis(common + ["--embeddings", otherSize, "--epochs", "2", "--resume"])
    assertSucceeded(sized)
    XCTAssertTrue(sized.stderr.contains("embeddings \(first) (not \(otherSize))"), sized.stderr)
    // So is another --embeddings-scope (it was dropped without a word), with the same vectors.
    assertSucceeded(
      try trellis(common + ["--embeddings", first, "--epochs", "2", "--keep-checkpoint"]))
    let scoped = try trellis(
      common + ["--embeddings", first, "--embeddings-scope", "all", "--epochs", "3", "--resume"])
    assertSucceeded(scoped)
    XCTAssertTrue(scoped.stderr.contains("embeddingsScope data (not all)"), scoped.stderr)
    XCTAssertFalse(scoped.stderr.contains("embeddings \(first)"), scoped.stderr)
    // A checkpoint trained without vectors has none, not a "default" file.
    assertSucceeded(try trellis(common + ["--epochs", "1", "--keep-checkpoint"]))
    let without = try trellis(common + ["--embeddings", first, "--epochs", "2", "--resume"])
    assertSucceeded(without)
    XCTAssertTrue(without.stderr.contains("embeddings none (not \(first))"), without.stderr)
  }

  /// Weights of ±3e38 (finite, so the loader takes them) overflow the scores: the confidences
  /// are NaN, and no sequence has a finite score. CoNLL answers printed "-nan" while JSON
  /// refused the line, and an n-best list asked for was left out; every format now fails the
  /// line alike.
  func testADamagedModelsNonFiniteNumbersFailTheLineInEveryFormat() throws {
    let intact = [UInt8](try Data(contentsOf: URL(fileURLWithPath: try sharedModel())))
    let headerLength = (12..<16).reduce(0) { $0 | Int(intact[$1]) << (8 * ($1 - 12)) }
    let input = try write("flights\nto\nboston\n", to: "input.conll")
    for weight: Float in [3e38, -3e38] {
      var bytes = intact
      func store(_ value: UInt32, at offset: Int) {
        for k in 0..<4 { bytes[offset + k] = UInt8(truncatingIfNeeded: value >> (8 * k)) }
      }
      for offset in stride(from: 16 + headerLength, to: bytes.count - 4, by: 4) {
        store(weight.bitPattern, at: offset)
      }
      store(crc32(bytes.dropLast(4)), at: bytes.count - 4)
      let model = try write(bytes: bytes, to: "damaged.model")
      for options in [
        ["--confidence", "--format", "conll"], ["--confidence", "--format", "json"],
        ["--nbest", "3", "--format", "json"], ["--nbest", "3", "--format", "text"],
      ] {
        assertFailed(
          try trellis(["tag", "--model", model] + options + [input]),
          mentioning: ["\(input):1: cannot write the answer:"])
      }
    }
  }

  /// CRC-32 (IEEE), as model files end with.
  func crc32(_ bytes: ArraySlice<UInt8>) -> UInt32 {
    var crc = ~UInt32(0)
    for byte in bytes {
      crc ^= UInt32(byte)
      for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
    }
    return ~crc
  }
}
