import Foundation

/// What one run of the `trellis` executable produced.
struct CommandResult {
  var arguments: [String]
  /// The exit status, or the signal number when `crashed`.
  var exitCode: Int32
  /// True when the process was ended by a signal (a trap or a crash), not by exiting.
  var crashed: Bool
  var stdout: Data
  var stderr: String

  /// Standard output decoded as UTF-8.
  var output: String { String(decoding: stdout, as: UTF8.self) }

  /// The command line, how it ended and its standard error, for failure messages.
  var summary: String {
    let ending = crashed ? "was killed by signal \(exitCode)" : "exited with \(exitCode)"
    return "`trellis \(arguments.joined(separator: " "))` \(ending); stderr:\n\(stderr)"
  }
}

/// Why the harness could not run `trellis` at all.
enum HarnessError: Error, CustomStringConvertible {
  case executableMissing(searched: [String])
  case standardInputTooLarge(bytes: Int)
  case timedOut(arguments: [String])

  var description: String {
    switch self {
    case .executableMissing(let searched):
      "the `trellis` executable is missing; run `swift build --build-tests` first. Looked at:\n"
        + searched.joined(separator: "\n")
    case .standardInputTooLarge(let bytes):
      "\(bytes) bytes of standard input do not fit in a pipe buffer; use a file argument instead"
    case .timedOut(let arguments):
      "`trellis \(arguments.joined(separator: " "))` did not finish; it was terminated"
    }
  }
}

/// Locations in the package under test, computed from this file's path.
enum PackagePaths {
  /// The package root: this file is Tests/CLITests/TrellisProcess.swift.
  static let root = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

  /// A fixture in Corpora/tiny: `tiny("train")` is Corpora/tiny/train.conll.
  static func tiny(_ name: String) -> String {
    root.appendingPathComponent("Corpora/tiny/\(name).conll").path
  }

  /// The directory holding the test bundle, where `swift build` also puts the executables.
  static var productsDirectory: URL {
    #if os(macOS)
      for bundle in Bundle.allBundles where bundle.bundlePath.hasSuffix(".xctest") {
        return bundle.bundleURL.deletingLastPathComponent()
      }
    #endif
    return Bundle.main.bundleURL
  }

  /// The `trellis` to test: `$TRELLIS_EXECUTABLE` when set (an installed or release build), else
  /// the built one beside the test bundle, else the one in the package's `.build/debug`.
  static func executable() throws -> URL {
    if let chosen = ProcessInfo.processInfo.environment["TRELLIS_EXECUTABLE"] {
      guard FileManager.default.isExecutableFile(atPath: chosen) else {
        throw HarnessError.executableMissing(searched: [chosen + " (from TRELLIS_EXECUTABLE)"])
      }
      return URL(fileURLWithPath: chosen)
    }
    let candidates = [
      productsDirectory.appendingPathComponent("trellis"),
      root.appendingPathComponent(".build/debug/trellis"),
    ]
    guard
      let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0.path) })
    else {
      throw HarnessError.executableMissing(searched: candidates.map(\.path))
    }
    return found
  }
}

/// Runs the built `trellis` with `arguments` and waits for it to end.
///
/// `stdin` is written to a pipe that the child reads as its standard input; without it the child
/// reads /dev/null, so a command that falls back to standard input never waits on the test's.
/// Standard output and error go to files, so neither can fill a pipe and block the child;
/// `stdout` and `stderr`, when given, replace their files (a device such as /dev/full, a pipe,
/// a file of the test's); the result's `stdout` and `stderr` are then empty.
func runTrellis(
  _ arguments: [String], stdin: Data? = nil, stdout: FileHandle? = nil,
  stderr: FileHandle? = nil, environment: [String: String] = [:],
  timeout: TimeInterval = 300
) throws -> CommandResult {
  let scratch = FileManager.default.temporaryDirectory.appendingPathComponent(
    "trellis-cli-\(UUID().uuidString)")
  try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
  defer { try? FileManager.default.removeItem(at: scratch) }
  let stdoutFile = scratch.appendingPathComponent("stdout")
  let stderrFile = scratch.appendingPathComponent("stderr")

  let process = Process()
  process.executableURL = try PackagePaths.executable()
  process.arguments = arguments
  if !environment.isEmpty {
    process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
  }
  // The handles this function opens are closed when it returns: Foundation's Process does not
  // close them, and a test process that ran `trellis` a few hundred times held some 2,000
  // descriptors, enough for `Process.run` to crash (a signal 11 in its memcpy).
  let input = try standardInput(holding: stdin)
  let output = try stdout ?? emptyFileForWriting(stdoutFile)
  let errors = try stderr ?? emptyFileForWriting(stderrFile)
  defer {
    try? input.close()
    if stdout == nil { try? output.close() }
    if stderr == nil { try? errors.close() }
  }
  process.standardInput = input
  process.standardOutput = output
  process.standardError = errors
  let exited = DispatchSemaphore(value: 0)
  process.terminationHandler = { _ in exited.signal() }
  try process.run()
  if exited.wait(timeout: .now() + timeout) == .timedOut {
    process.terminate()
    process.waitUntilExit()
    throw HarnessError.timedOut(arguments: arguments)
  }
  return CommandResult(
    arguments: arguments,
    exitCode: process.terminationStatus,
    crashed: process.terminationReason == .uncaughtSignal,
    stdout: stdout == nil ? try Data(contentsOf: stdoutFile) : Data(),
    stderr: stderr == nil ? String(decoding: try Data(contentsOf: stderrFile), as: UTF8.self) : "")
}

/// /dev/null, or the read end of a pipe that already holds `data` and is closed for writing.
///
/// The data is written before the child starts, so it must fit in the pipe's 64 KiB buffer; then
/// no writer can block, or get SIGPIPE when the child exits without reading.
private func standardInput(holding data: Data?) throws -> FileHandle {
  guard let data else { return try FileHandle(forReadingFrom: URL(fileURLWithPath: "/dev/null")) }
  guard data.count < 1 << 16 else { throw HarnessError.standardInputTooLarge(bytes: data.count) }
  let pipe = Pipe()
  try pipe.fileHandleForWriting.write(contentsOf: data)
  try pipe.fileHandleForWriting.close()
  return pipe.fileHandleForReading
}

/// Creates (or empties) the file at `url` and opens it for writing.
private func emptyFileForWriting(_ url: URL) throws -> FileHandle {
  // A file that could not be created makes the FileHandle below throw.
  _ = FileManager.default.createFile(atPath: url.path, contents: nil)
  return try FileHandle(forWritingTo: url)
}
