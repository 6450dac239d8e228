import ArgumentParser
import Trellis

@main
struct TrellisCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "trellis",
    abstract: "Structured sequence tagging: BiLSTM encoders with CRF, perceptron, SSVM or softmax heads.",
    subcommands: [Train.self, Tag.self, Eval.self, Score.self])
}

extension EncoderKind: ExpressibleByArgument {}
extension HeadKind: ExpressibleByArgument {}
extension OptimizerKind: ExpressibleByArgument {}
