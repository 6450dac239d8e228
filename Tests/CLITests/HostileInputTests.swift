import Foundation
import XCTest

/// A hostile-input battery: well over 100 command lines with out-of-range numbers, damaged
/// files and colliding paths. For every case: no trap, no signal death, the promised exit
/// status, an `Error: ` message on failure, and no input file changed.
final class HostileInputTests: CLITestCase {
  struct Case {
    var arguments: [String]
    /// nil: any non-zero status (an error); 0: must succeed.
    var status: Int32?
  }

  /// Runs every case and checks that no file named in `inputs` changed.
  func run(_ cases: [Case], inputs: [String], file: StaticString = #filePath, line: UInt = #line)
    throws
  {
    let before = try inputs.map { try Data(contentsOf: URL(fileURLWithPath: $0)) }
    for testCase in cases {
      let result = try trellis(testCase.arguments)
      XCTAssertFalse(result.crashed, result.summary, file: file, line: line)
      if let status = testCase.status {
        XCTAssertEqual(result.exitCode, status, result.summary, file: file, line: line)
      } else {
        XCTAssertNotEqual(result.exitCode, 0, result.summary, file: file, line: line)
        // The error is the last line (a note, such as training without --dev, may come first).
        XCTAssertTrue(
          result.stderr.split(separator: "\n").last?.hasPrefix("Error: ") ?? false, result.summary,
          file: file, line: line)
      }
    }
    for (path, data) in zip(inputs, before) {
      XCTAssertEqual(
        try Data(contentsOf: URL(fileURLWithPath: path)), data, "\(path) changed", file: file,
        line: line)
    }
  }

  /// Every numeric option of every command, at values it cannot serve: a usage error (64).
  func testOutOfRangeNumbersAreUsageErrors() throws {
    let train = try write(try contents(of: PackagePaths.tiny("train")), to: "train.conll")
    let base = ["train", "--train", train, "--model", path("m")]
    let options = [
      "--epochs", "--batch-size", "--embedding-size", "--hidden-size", "--layers", "--window",
      "--character-filters",
      "--character-embedding-size", "--learning-rate", "--learning-rate-decay",
      "--anneal-factor", "--anneal-patience", "--clip",
      "--dropout",
      "--unknown-replacement", "--patience", "--cost-weight", "--l2", "--token-column",
      "--label-column",
    ]
    let values = ["-1", "9223372036854775807", "nan", "inf", "1e300", "-0.5"]
    // A learning rate of 9.2e18 is in range (finite in single precision): training runs,
    // diverges, and stops with an error. Which epoch first leaves weights whose scores are not
    // finite depends on how inf meets −inf in the sums, so it may keep an earlier epoch's
    // finite model: it writes to a path of its own.
    let diverging = "--learning-rate=9223372036854775807"
    var cases = options.flatMap { option in
      values.map { value in "\(option)=\(value)" }.filter { $0 != diverging }.map {
        Case(arguments: base + [$0], status: 64)
      }
    }
    cases.append(
      Case(
        arguments: ["train", "--train", train, "--model", path("diverged"), diverging], status: nil)
    )
    // Values that parse but are out of range for these options only.
    cases += [
      Case(arguments: base + ["--epochs", "0"], status: 64),
      Case(arguments: base + ["--batch-size", "0"], status: 64),
      Case(arguments: base + ["--hidden-size", "65536"], status: 64),
      Case(arguments: base + ["--layers", "0"], status: 64),
      Case(arguments: base + ["--layers", "9"], status: 64),
      Case(arguments: base + ["--embedding-size", "4097"], status: 64),
      Case(arguments: base + ["--window", "65"], status: 64),
      Case(arguments: base + ["--dropout", "1"], status: 64),
      Case(arguments: base + ["--learning-rate", "0"], status: 64),
      Case(arguments: base + ["--anneal-factor", "0"], status: 64),
      Case(arguments: base + ["--anneal-factor", "1.5"], status: 64),
      Case(arguments: base + ["--anneal-patience", "0"], status: 64),
      // Each size in range, together 17.6 billion parameters: the allocation trapped.
      Case(
        arguments: base + ["--window", "64", "--embedding-size", "4096", "--hidden-size", "4096"],
        status: 64),
      Case(arguments: base + ["--layers", "8", "--hidden-size", "4096"], status: 64),
    ]
    let model = try sharedModel()
    let tag = ["tag", "--model", model, "--format", "json", PackagePaths.tiny("test")]
    for value in ["-1", "0", "1001", "9223372036854775807", "2000000000000000000"] {
      cases.append(Case(arguments: tag + ["--nbest=\(value)"], status: value == "0" ? 0 : 64))
      cases.append(
        Case(arguments: tag + ["--batch-size=\(value == "1001" ? "4097" : value)"], status: 64))
      cases.append(Case(arguments: tag + ["--token-column=\(value)"], status: 64))
    }
    cases += ["0", "-1", "101"].map {
      Case(arguments: ["bench", "--repetitions=\($0)"], status: 64)
    }
    XCTAssertGreaterThanOrEqual(cases.count, 100)
    try run(cases, inputs: [train, model])
    XCTAssertFalse(FileManager.default.fileExists(atPath: path("m")))
  }

  /// Damaged and odd files for every command that reads them.
  func testDamagedFilesAreErrorsNamingTheFile() throws {
    let model = try sharedModel()
    let modelBytes = try Data(contentsOf: URL(fileURLWithPath: model))
    var files: [String: Data] = [
      "empty": Data(), "binary": Data((0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 7919) }),
      "invalid-utf8": Data("a O\nb \u{FF}\n".utf8) + Data([0xFF, 0xFE, 0x0A]),
      "one-column": Data("a\nb\n".utf8), "ragged": Data("a O\nb O X\n".utf8),
      "truncated-model": modelBytes.prefix(modelBytes.count / 2),
      "model-tail": modelBytes.suffix(100), "model-header-only": modelBytes.prefix(20),
      "flipped-model": {
        var d = modelBytes
        d[d.count / 2] ^= 0xFF
        return d
      }(),
      "model-with-trailing": modelBytes + Data([1, 2, 3]),
    ]
    files["long-line"] = Data(String(repeating: "x", count: 1 << 20).utf8) + Data(" O\n".utf8)
    var paths: [String: String] = [:]
    for (name, data) in files {
      paths[name] = path(name)
      try data.write(to: URL(fileURLWithPath: path(name)))
    }
    var cases: [Case] = []
    for name in [
      "truncated-model", "model-tail", "model-header-only", "flipped-model", "model-with-trailing",
      "binary", "empty", "one-column",
    ] {
      cases.append(
        Case(arguments: ["tag", "--model", paths[name]!, PackagePaths.tiny("test")], status: nil))
      cases.append(
        Case(
          arguments: ["eval", "--model", paths[name]!, "--test", PackagePaths.tiny("test")],
          status: nil))
    }
    for name in ["binary", "invalid-utf8", "one-column", "ragged"] {
      cases.append(
        Case(arguments: ["train", "--train", paths[name]!, "--model", path("out")], status: nil))
      cases.append(
        Case(arguments: ["eval", "--model", model, "--test", paths[name]!], status: nil))
      cases.append(Case(arguments: ["score", paths[name]!], status: nil))
    }
    cases.append(Case(arguments: ["tag", "--model", model, paths["long-line"]!], status: 0))
    cases.append(Case(arguments: ["score", paths["empty"]!], status: 0))
    try run(cases, inputs: Array(paths.values) + [model])
  }
}
