import ArgumentParser
import Trellis

@main
struct TrellisCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "trellis",
    abstract: "Structured sequence tagging: BiLSTM encoders with CRF, perceptron, SSVM or softmax heads.",
    subcommands: [Train.self, Tag.self, Eval.self, Score.self, Bench.self])

  /// The products here are small (B = 32 rows per step) and the two encoder directions already
  /// run on the two cores; OpenBLAS's own threads would only contend with them.
  static func main() {
    setBLASThreadCount(1)
    Self.main(nil)
  }
}

extension EncoderKind: ExpressibleByArgument {}
extension HeadKind: ExpressibleByArgument {}
extension OptimizerKind: ExpressibleByArgument {}
extension TagScheme: ExpressibleByArgument {}

/// Runs a library `validate()`, turning its `OptionError` into ArgumentParser's usage error
/// (exit 64, with the command's usage line).
func validated(_ validate: () throws -> Void) throws {
  do { try validate() } catch let error as OptionError { throw ValidationError(error.description) }
}
