import Foundation
import XCTest

/// A test case that runs the built `trellis` and keeps its files in a fresh temporary directory.
class CLITestCase: XCTestCase {
  /// Options that keep a training run to a fraction of a second in a debug build.
  static let smallModelOptions = [
    "--epochs", "2", "--embedding-size", "16", "--hidden-size", "16", "--character-filters", "8",
    "--character-embedding-size", "8",
  ]

  /// The bytes of a model trained once per test process with `smallModelOptions` (see `sharedModel()`).
  nonisolated(unsafe) private static var sharedModelBytes: Data?

  /// This test's directory; removed after the test.
  private(set) var directory: URL!

  override func setUpWithError() throws {
    try super.setUpWithError()
    directory = FileManager.default.temporaryDirectory.appendingPathComponent(
      "trellis-cli-test-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
  }

  override func tearDownWithError() throws {
    if let directory { try FileManager.default.removeItem(at: directory) }
    try super.tearDownWithError()
  }

  /// The path of `name` in this test's directory.
  func path(_ name: String) -> String {
    directory.appendingPathComponent(name).path
  }

  /// Writes `text` to `name` in this test's directory and returns its path.
  @discardableResult func write(_ text: String, to name: String) throws -> String {
    try Data(text.utf8).write(to: URL(fileURLWithPath: path(name)))
    return path(name)
  }

  /// Writes raw `bytes` to `name` in this test's directory and returns its path.
  func write(bytes: [UInt8], to name: String) throws -> String {
    try Data(bytes).write(to: URL(fileURLWithPath: path(name)))
    return path(name)
  }

  /// Runs `trellis arguments`, feeding `stdin` when given.
  func trellis(_ arguments: [String], stdin: String? = nil) throws -> CommandResult {
    try runTrellis(arguments, stdin: stdin.map { Data($0.utf8) })
  }

  /// Runs `trellis` through `/bin/sh -c script`, the executable as `$0` and `arguments` after
  /// it, for what only a shell sets up (redirections, limits); returns the exit status and
  /// standard error.
  func trellisInShell(
    _ script: String, _ arguments: [String], environment: [String: String] = [:]
  ) throws -> (status: Int32, stderr: String) {
    let shell = Process()
    shell.executableURL = URL(fileURLWithPath: "/bin/sh")
    shell.arguments = ["-c", script, try PackagePaths.executable().path] + arguments
    if !environment.isEmpty {
      shell.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    }
    let errors = Pipe()
    shell.standardError = errors
    try shell.run()
    let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    shell.waitUntilExit()
    return (shell.terminationStatus, message)
  }

  /// Asserts that the command exited with status 0.
  func assertSucceeded(_ result: CommandResult, file: StaticString = #filePath, line: UInt = #line)
  {
    XCTAssertTrue(!result.crashed && result.exitCode == 0, result.summary, file: file, line: line)
  }

  /// Asserts that the command reported an error the way the CLI promises: it exited (no crash)
  /// with a non-zero status, wrote nothing to standard output, and its standard error starts with
  /// "Error: " and contains every string of `messages`.
  func assertFailed(
    _ result: CommandResult, mentioning messages: [String], file: StaticString = #filePath,
    line: UInt = #line
  ) {
    XCTAssertFalse(result.crashed, result.summary, file: file, line: line)
    XCTAssertNotEqual(result.exitCode, 0, result.summary, file: file, line: line)
    XCTAssertEqual(
      result.output, "", "an error left output behind; \(result.summary)", file: file, line: line)
    XCTAssertTrue(result.stderr.hasPrefix("Error: "), result.summary, file: file, line: line)
    for message in messages {
      let lacking = "stderr lacks \"\(message)\"; \(result.summary)"
      XCTAssertTrue(result.stderr.contains(message), lacking, file: file, line: line)
    }
  }

  /// Trains a small model on Corpora/tiny/train.conll (dev: dev.conll) with `--quiet` into `name`
  /// in this test's directory, asserts the run succeeded silently, and returns the model's path.
  @discardableResult
  func trainModel(
    _ name: String = "model", seed: Int = 1, options: [String] = [], file: StaticString = #filePath,
    line: UInt = #line
  ) throws -> String {
    let model = path(name)
    let result = try trellis(
      [
        "train", "--train", PackagePaths.tiny("train"), "--dev", PackagePaths.tiny("dev"),
        "--model", model,
        "--seed", "\(seed)", "--quiet",
      ] + Self.smallModelOptions + options)
    assertSucceeded(result, file: file, line: line)
    XCTAssertEqual(
      result.stderr + result.output, "", "--quiet printed something", file: file, line: line)
    return model
  }

  /// A copy, in this test's directory, of one model trained the first time a test asks for it,
  /// so the tests that only read a model do not each train one.
  func sharedModel() throws -> String {
    if CLITestCase.sharedModelBytes == nil {
      CLITestCase.sharedModelBytes = try Data(
        contentsOf: URL(fileURLWithPath: try trainModel("shared-model")))
    }
    let model = path("model")
    try CLITestCase.sharedModelBytes!.write(to: URL(fileURLWithPath: model))
    return model
  }

  /// Runs `trellis tag --model model input`, asserts it succeeded and returns its output.
  func tag(_ input: String, model: String, file: StaticString = #filePath, line: UInt = #line)
    throws -> String
  {
    let result = try trellis(["tag", "--model", model, input])
    assertSucceeded(result, file: file, line: line)
    return result.output
  }
}
