import XCTest

@testable import Trellis

/// `n` in base 26, a to z: a distinct word of letters for each n.
private func letters(_ n: Int) -> String {
  var (n, word) = (n, "")
  repeat {
    word.append(Character(UnicodeScalar(UInt8(97 + n % 26))))
    n /= 26
  } while n > 0
  return "q" + word
}

/// Word dropout (`TrainingRun.batch`): a word that occurs once in the training data is read
/// as `<unk>` with probability `unknownReplacement`, so that `<unk>` is trained; every other
/// word is read as itself.
final class WordDropoutTests: XCTestCase {
  /// 40 sentences of 50 tokens: "the", then 49 words that occur nowhere else (1,960
  /// singletons in all), spelt in letters, since digits all read as 0.
  let train = (0..<40).map { s in
    Sentence(
      tokens: ["the"] + (1..<50).map { letters(s * 50 + $0) },
      labels: ["O"] + [String](repeating: "B-word", count: 49))
  }
  let singletonCount = 40 * 49

  /// How many tokens of one batch of every training sentence read as `<unk>`, and how many
  /// of them are the word "the".
  func unknowns(rate: Double) -> (all: Int, the: Int) {
    var options = TrainingOptions()
    options.unknownReplacement = rate
    let run = smallRun(on: train, options: options)
    let batch = run.batch(Array(train.indices))
    let unknown = Int32(ReservedWord.unknownId)
    let B = batch.size
    var (all, the) = (0, 0)
    for b in 0..<B {
      for t in 0..<batch.lengths[b] where batch.wordIds[t * B + b] == unknown {
        all += 1
        if t == 0 { the += 1 }
      }
    }
    return (all, the)
  }

  func testSingletonsAndOnlySingletonsAreReadAsUnknownAtTheGivenRate() {
    XCTAssertEqual(unknowns(rate: 0).all, 0)
    XCTAssertEqual(unknowns(rate: 1).all, singletonCount)
    XCTAssertEqual(unknowns(rate: 1).the, 0, "a word seen 40 times is never dropped")
    // Binomial(1,960, 0.5): mean 980, standard deviation 22; the bounds are 4.5 of them.
    let half = unknowns(rate: 0.5)
    XCTAssertEqual(half.the, 0)
    XCTAssertTrue((880...1080).contains(half.all), "\(half.all) of \(singletonCount)")
  }
}
