import XCTest

@testable import Trellis

/// The character CNN's own steps around its product, bit for bit against plain loops: the
/// windows it builds (each slot a row of the character table, `<pad>` past the word's ends)
/// and the max pooling over its activations (each filter's largest, the earliest window on a
/// tie). Sizes below and above the 16 lanes those steps take at a time, and between
/// multiples of 16, where the last 16 overlap the ones before.
final class CharacterCNNTests: XCTestCase {
  /// A batch's ids are its sentences' one after another, each token's range moved by the
  /// ids before it; empty tokens and sentences keep their places.
  func testCharacterIdsAppendSentences() {
    let sentences: [[[Int32]]] = [[[2, 3], [], [4]], [], [[5, 6, 7]], [[]]]
    var batch = CharacterIds()
    for sentence in sentences {
      var ids = CharacterIds()
      for word in sentence { ids.appendToken(word) }
      XCTAssertEqual(ids.tokenCount, sentence.count)
      batch.append(ids)
    }
    let words = sentences.flatMap { $0 }
    XCTAssertEqual(batch.tokenCount, words.count)
    XCTAssertEqual((0..<batch.tokenCount).map { Array(batch.ids[batch.range(of: $0)]) }, words)
  }

  func testWindowsAndMaxPoolingMatchPlainLoops() throws {
    for (embeddingSize, filters) in [(2, 3), (16, 16), (18, 17), (30, 30), (33, 32), (7, 40)] {
      let store = ParameterStore()
      let cnn = CharacterCNN(
        characters: 9, embeddingSize: embeddingSize, filters: filters, store: store)
      try store.allocate()
      var rng = SplitMix64(seed: UInt64(embeddingSize * 100 + filters))
      cnn.initialize(store, rng: &rng)
      // Words of 0 to 12 characters at every other row; an empty word has no window.
      var words = (0..<24).map { t in (0..<(t % 13)).map { _ in Int32(2 + rng.next() % 7) } }
      // Ties: a word of one repeated character has windows whose middle slots agree.
      words.append([Int32](repeating: 4, count: 6))
      var tokens = CharacterIds()
      for word in words { tokens.appendToken(word) }
      let rows = words.indices.map { 2 * $0 }
      var features = [Float](repeating: 0, count: 2 * words.count * filters)
      let workspace = CharacterWorkspace()
      features.withUnsafeMutableBufferPointer {
        cnn.forward(
          store: store, tokens: tokens, rows: rows, features: $0.baseAddress!,
          workspace: workspace, concurrently: false)
      }
      let (Dc, F) = (embeddingSize, filters)
      let table = store.value(cnn.embedding)
      var p = 0
      for (t, word) in words.enumerated() {
        let n = word.count
        var best = [Float](repeating: -.infinity, count: F)
        var winners = [Int32](repeating: 0, count: F)
        for position in 0..<n {
          for k in 0..<3 {
            let index = position + k - 1
            let id =
              index >= 0 && index < n ? Int(word[index]) : ReservedWord.paddingId
            for d in 0..<Dc {
              XCTAssertEqual(
                workspace.windows.pointer[(p + position) * 3 * Dc + k * Dc + d].bitPattern,
                table[id * Dc + d].bitPattern, "window slot \(k), Dc \(Dc)")
            }
          }
          for f in 0..<F {
            let z = workspace.activations.pointer[(p + position) * F + f]
            if z > best[f] {
              best[f] = z
              winners[f] = Int32(p + position)
            }
          }
        }
        for f in 0..<F {
          let feature = n == 0 ? 0 : best[f]
          XCTAssertEqual(
            features[rows[t] * F + f].bitPattern, feature.bitPattern,
            "token \(t), filter \(f) of \(F)")
          if n > 0 {
            XCTAssertEqual(workspace.argmax[t * F + f], winners[f], "token \(t), filter \(f)")
          }
        }
        p += n
      }
    }
  }
}
