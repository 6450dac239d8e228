import XCTest

/// `--help` succeeds and documents each command's main options; no subcommand is a usage error.
final class HelpTests: CLITestCase {
  func testEachSubcommandsHelpMentionsItsMainOptions() throws {
    let mainOptions = [
      "train": [
        "--train", "--dev", "--model", "--seed", "--epochs", "--encoder", "--head", "--log",
        "--quiet",
      ],
      "tag": ["--model", "<file>"],
      "eval": ["--model", "--test", "--json"],
      "score": ["--json", "<file>"],
    ]
    for (subcommand, options) in mainOptions.sorted(by: { $0.key < $1.key }) {
      let help = try trellis([subcommand, "--help"])
      assertSucceeded(help)
      XCTAssertTrue(help.output.contains("USAGE: trellis \(subcommand)"), help.output)
      for option in options {
        XCTAssertTrue(
          help.output.contains(option),
          "`trellis \(subcommand) --help` lacks \(option):\n\(help.output)")
      }
    }
  }

  /// --learning-rate-decay's help gives each epoch's rate as the log numbers epochs, from 1:
  /// the first trains at the rate itself (the help's lr / (1 + decay * e) gave it a decayed one).
  func testTheDecayHelpGivesTheLoggedRates() throws {
    let help = try trellis(["train", "--help"]).output.split(whereSeparator: \.isWhitespace)
      .joined(separator: " ")
    XCTAssertTrue(
      help.contains("epoch e (from 1, as logged) uses lr / (1 + decay * (e - 1))"), help)
    let log = path("run.jsonl")
    assertSucceeded(
      try trellis(
        [
          "train", "--train", PackagePaths.tiny("train"), "--model", path("m"), "--quiet",
          "--learning-rate", "0.1", "--learning-rate-decay", "0.5", "--log", log,
        ] + Self.smallModelOptions))
    let rates = try contents(of: log).split(separator: "\n").dropFirst().map {
      try XCTUnwrap(
        (JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])?["learning_rate"]
          as? Double)
    }
    XCTAssertEqual(rates.count, 2)
    for (e, rate) in zip(1..., rates) {
      XCTAssertEqual(rate, 0.1 / (1 + 0.5 * Double(e - 1)), accuracy: 1e-12, "epoch \(e)")
    }
  }

  func testTopLevelHelpListsTheSubcommands() throws {
    let help = try trellis(["--help"])
    assertSucceeded(help)
    for subcommand in ["train", "tag", "eval", "score"] {
      let listed = help.output.range(of: "\n  \(subcommand) ") != nil
      XCTAssertTrue(listed, "`trellis --help` lacks \(subcommand):\n\(help.output)")
    }
  }

  func testNoSubcommandIsAUsageError() throws {
    let result = try trellis([])
    assertFailed(result, mentioning: ["Missing subcommand", "train", "tag", "Usage: trellis"])
    XCTAssertEqual(result.exitCode, 64, result.summary)
  }

  /// `help nonsense` printed the top-level help with status 0, where `trellis nonsense` is a
  /// usage error; `help` of a subcommand, or alone, is help.
  func testHelpOfAnUnknownSubcommandIsAUsageError() throws {
    let result = try trellis(["help", "nonsense"])
    assertFailed(result, mentioning: ["Unknown subcommand 'nonsense'"])
    XCTAssertEqual(result.exitCode, 64, result.summary)
    let nested = try trellis(["help", "tag", "nonsense"])
    assertFailed(nested, mentioning: ["Unknown subcommand 'nonsense'"])
    for known in [
      ["help"], ["help", "tag"], ["help", "help"], ["help", "--help"], ["help", "-h"],
    ] {
      assertSucceeded(try trellis(known))
    }
  }
}
