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
}
