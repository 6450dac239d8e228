import ArgumentParser
import Foundation
import Trellis

@main
struct TrellisCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "trellis",
    abstract:
      "Structured sequence tagging: BiLSTM encoders with CRF, perceptron, SSVM or softmax heads.",
    version: trellisVersionDescription,
    subcommands: [Train.self, Tag.self, Eval.self, Score.self, Info.self, Bench.self])
  // Every subcommand names itself (`commandName:`): left unnamed, ArgumentParser derives the
  // name by `String(describing:)` of the type at each of the ~170 lookups of a parse, dynamic
  // casts that were 6.5% of the instructions of a one-sentence `trellis tag`.
  // Every option taking numbers, here and in trellis-serve, parses `.unconditional`ly (an
  // array `.unconditionalSingleValue`ly): by default ArgumentParser reads the "-1" of
  // `--epochs -1` as an option's name and says "Missing value", where the option's range
  // check names its rule.

  /// Without a subcommand there is nothing to run: a usage error (status 64, as for a missing
  /// argument) rather than help with status 0, so a script whose subcommand went missing
  /// fails. `trellis --help` prints the help with status 0.
  func run() throws {
    let names = Self.subcommandNames.joined(separator: ", ")
    throw ValidationError("Missing subcommand: one of \(names).")
  }

  static let subcommandNames = configuration.subcommands.compactMap {
    $0.configuration.commandName
  }

  static func main() {
    holdClosedStandardDescriptors()
    // Before any work: an argument that is not UTF-8 would be read as another one.
    if let refusal = CommandLine.argumentNotUTF8 { exit(withError: ValidationError(refusal)) }
    refuseHelpOfUnknownSubcommands()
    // Before libdispatch starts its first thread, which traps when it has no descriptors.
    if let refusal = openFileLimitRefusal(program: configuration.commandName!) {
      printError(refusal)
      Foundation.exit(1)
    }
    // Before anything allocates: the thresholds every later batch's arrays are served under.
    reuseLargeFreedBlocks()
    // A kill (TERM, INT, HUP) during a model or checkpoint write leaves no temporary file
    // beside the target.
    removeTemporaryFilesOnTermination()
    // A closed pipe is a write error like any other (EPIPE), ended quietly by `finishOrExit`,
    // not a signal death.
    signal(SIGPIPE, SIG_IGN)
    // So is a file over `ulimit -f` (EFBIG): the signal ended the process silently, status
    // 153, with a temporary file left beside the model.
    signal(SIGXFSZ, SIG_IGN)
    // OpenBLAS starts a thread per core when it is opened, and Trellis stops them at once
    // (`setBLASThreadCount`); under `ulimit -v` such a thread retried its 128 MB buffer for
    // ever, and stopping it hung `train`. Started with one thread, it has none to stop. A
    // value the user set stands.
    setenv("OPENBLAS_NUM_THREADS", "1", 0)
    var subcommand: ParsableCommand.Type?
    do {
      var command = try parseAsRoot()
      subcommand = type(of: command)
      if let refusal = repeatedOptionRefusal(
        in: CommandLine.arguments.dropFirst(2), of: type(of: command))
      {
        exitWithUsageError(refusal, of: type(of: command))
      }
      try command.run()
      StandardStreams.finishOrExit()
    } catch let failure as StandardStreams.WriteFailure {
      failure.exit()
    } catch let error as OptionError {
      // An option's value found wrong once the command runs (standard input given to two
      // options, an empty output path) is a usage error, as one `validate()` finds: status
      // 64, not 1.
      exitWithUsageError(error.description, of: subcommand ?? Self.self)
    } catch {
      // --help and --version print like any other output, so a write error is not exit 0.
      guard exitCode(for: error) == .success else { exit(withError: error) }
      print(fullMessage(for: error))
      StandardStreams.finishOrExit()
      Foundation.exit(0)
    }
  }
}

extension TrellisCommand {
  /// ArgumentParser answers `help nonsense` (and `help tag nonsense`) with a help and status
  /// 0, where `trellis nonsense` is a usage error: such names are refused. Options (`help
  /// --help`) stay its own.
  fileprivate static func refuseHelpOfUnknownSubcommands() {
    let arguments = CommandLine.arguments
    let names = arguments.dropFirst(2).filter { !$0.hasPrefix("-") }
    if arguments.count > 2, arguments[1] == "help",
      let unknown = names.enumerated().first(where: {
        $0.offset > 0 || !(subcommandNames + ["help"]).contains($0.element)
      })
    {
      exit(withError: ValidationError("Unknown subcommand '\(unknown.element)'"))
    }
  }
}

/// Prints `message` as a usage error of `subcommand`, with its usage line, and exits 64.
func exitWithUsageError(_ message: String, of subcommand: ParsableCommand.Type) -> Never {
  let usage = "Usage: \(TrellisCommand.usageString(for: subcommand))"
  printError(
    lines: ["Error: \(message)"] + usage.split(separator: "\n").map(String.init)
      + ["  See 'trellis \(CommandLine.arguments[1]) --help' for more information."])
  Foundation.exit(ExitCode.validationFailure.rawValue)
}

/// Write errors on standard output and error end the command with a non-zero status, never a
/// trap and never exit 0 with output lost.
enum StandardStreams {
  /// Set when a progress or diagnostic line could not be written to standard error; the
  /// command goes on (the model is what matters) but ends with status 1.
  nonisolated(unsafe) static var standardErrorFailed = false

  struct WriteFailure: Error {
    var stream: String
    var code: Int32

    /// A closed pipe (the reader is gone) ends quietly with 128 + SIGPIPE, as a shell reports
    /// a writer killed by SIGPIPE; anything else prints its reason and ends with 1.
    func exit() -> Never {
      if code == EPIPE { Foundation.exit(128 + SIGPIPE) }
      printError("Error: \(stream): \(String(cString: strerror(code)))")
      Foundation.exit(1)
    }
  }

  /// Writes to standard output, throwing on failure.
  static func write(_ bytes: [UInt8]) throws {
    fflush(stdout)  // keep order with anything `print` buffered
    do {
      try bytes.withUnsafeBytes { try writeAll($0, to: STDOUT_FILENO) }
    } catch let error as POSIXError {
      throw WriteFailure(stream: "standard output", code: error.code.rawValue)
    }
  }

  /// Flushes what `print` buffered; a write error of the run ends the process with
  /// `WriteFailure.exit` (never status 0).
  static func finishOrExit() {
    if fflush(stdout) != 0 || ferror(stdout) != 0 {
      WriteFailure(stream: "standard output", code: errno == 0 ? EIO : errno).exit()
    }
    if standardErrorFailed { WriteFailure(stream: "standard error", code: EIO).exit() }
  }
}

/// Writes `line` and a line feed to standard error (`printError(lines:)`).
func printError(_ line: String) { printError(lines: [line]) }

/// Writes each of `lines` and a line feed to standard error, their control characters as
/// escapes (`visibleControlCharacters`), line feeds too: notes and errors quote paths,
/// labels and tokens, and a line feed in a file's name began a line of its own in a note
/// (`wrote n` and `Error: x.model …` for a model named so).
func printError(lines: [String]) {
  let visible = lines.map { visibleControlCharacters($0) + "\n" }.joined()
  do { try FileHandle.standardError.write(contentsOf: Data(visible.utf8)) } catch {
    StandardStreams.standardErrorFailed = true
  }
}

extension EncoderKind: ExpressibleByArgument {}
extension HeadKind: ExpressibleByArgument {}
extension OptimizerKind: ExpressibleByArgument {}
extension TagScheme: ExpressibleByArgument {}
extension EmbeddingScope: ExpressibleByArgument {}

/// A floating-point option's value as `Value` reads it (ArgumentParser's own reading), but a
/// number other than 0 too small for `Value` is refused, not read as 0: `--clip 1e-400` turned
/// clipping off and `--dropout 1e-50` dropout, where `--config` refuses such a number.
func floatingPointValue<Value: BinaryFloatingPoint & LosslessStringConvertible>(
  _ text: String
) throws -> Value {
  guard let value = Value(text) else { throw ValidationError("not a number") }
  if value == 0 && isNonzeroNumeral(text) {
    let least = String(format: "%.1e", Double(Value.leastNonzeroMagnitude))
    throw ValidationError("below about \(least) in size, it would read as 0")
  }
  return value
}

/// Runs a library `validate()`, turning its `OptionError` into ArgumentParser's usage error
/// (exit 64, with the command's usage line).
func validated(_ validate: () throws -> Void) throws {
  do { try validate() } catch let error as OptionError { throw ValidationError(error.description) }
}
extension FeatureColumn: ExpressibleByArgument {}
