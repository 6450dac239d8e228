import Foundation

/// The head's prepared decoder for one version of the parameters and one constraint setting;
/// tagging one sentence at a time would otherwise rebuild Viterbi's L² table per sentence.
final class DecoderCache: @unchecked Sendable {
  private var cached: (version: Int, constrained: Bool, decoder: any SequenceDecoder)?
  private let lock = NSLock()

  func decoder(version: Int, constrained: Bool, make: () -> any SequenceDecoder)
    -> any SequenceDecoder
  {
    lock.withLock {
      if let cached, cached.version == version, cached.constrained == constrained {
        return cached.decoder
      }
      let decoder = make()
      cached = (version, constrained, decoder)
      return decoder
    }
  }
}
