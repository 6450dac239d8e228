import ConllEval
import XCTest

@testable import Trellis

/// Model selection and early stopping (`TrainingState.select`, `continues`): an epoch is kept
/// only when its dev F1 beats every earlier epoch's (a tie keeps the earlier one, but for
/// ties at 0), and training stops after `patience` epochs in a row without a better dev F1.
final class ModelSelectionTests: XCTestCase {
  /// Dev counts with `correct` of 4 one-token gold chunks found and nothing else predicted:
  /// F1 0, 40, 66.7, 85.7 and 100 for 0 to 4.
  func dev(correct: Int) -> ConllCounts {
    var counts = ConllCounts()
    counts.add(
      gold: [String](repeating: "B-x", count: 4),
      predicted: [String](repeating: "B-x", count: correct)
        + [String](repeating: "O", count: 4 - correct))
    return counts
  }

  func state() -> TrainingState {
    smallRun(on: [Sentence(tokens: ["to", "boston"], labels: ["O", "B-city"])]).state
  }

  /// Runs the epochs whose dev scores have `correct` chunks each, as `Trainer.train` does
  /// (select, then count the epoch); returns which were kept, whether another would run after
  /// each, and the state after the last.
  func epochs(
    _ correct: [Int?], options: TrainingOptions = TrainingOptions(), epochsBeforeStopping: Int = 0
  ) -> (kept: [Bool], continues: [Bool], state: TrainingState) {
    var state = state()
    var (kept, continues) = ([Bool](), [Bool]())
    for c in correct {
      kept.append(state.select(dev: c.map { dev(correct: $0) }))
      state.completedEpochs += 1
      continues.append(
        state.continues(options: options, epochsBeforeStopping: epochsBeforeStopping))
    }
    return (kept, continues, state)
  }

  func testAnEpochIsKeptOnlyWhenItBeatsEveryEarlierOne() {
    let correct = [1, 3, 3, 2, 4, 4]
    let (kept, _, state) = epochs(correct)
    XCTAssertEqual(kept, [true, true, false, false, true, false])
    XCTAssertEqual(state.record.selectedEpoch, 5, "the first of the two epochs at F1 100")
    XCTAssertEqual(state.bestF1, dev(correct: 4).f1)
    XCTAssertEqual(state.epochsWithoutImprovement, 1)
    XCTAssertEqual(state.record.devF1History, correct.map { dev(correct: $0).f1 })
  }

  func testTrainingStopsAfterPatienceEpochsWithoutABetterDevF1() {
    var options = TrainingOptions()
    options.epochs = 100
    options.patience = 2
    // A tie is no improvement: two of them end the run.
    XCTAssertEqual(epochs([2, 2, 2], options: options).continues, [true, true, false])
    // An improvement starts the count again.
    XCTAssertEqual(
      epochs([2, 1, 3, 1, 1], options: options).continues, [true, true, true, true, false])
    options.patience = 0
    XCTAssertEqual(epochs([2, 1, 1, 1], options: options).continues, [true, true, true, true])
  }

  /// Until some epoch finds a dev chunk right its F1 of 0 tells nothing: each such epoch is
  /// kept and patience does not run; once one has, an F1 of 0 is no better than any other.
  func testUntilADevChunkIsFoundRightTheLatestEpochIsKeptAndPatienceWaits() {
    var options = TrainingOptions()
    (options.epochs, options.patience) = (100, 2)
    let zeros = epochs([0, 0, 0, 0, 1, 1, 1], options: options)
    XCTAssertEqual(zeros.kept, [true, true, true, true, true, false, false])
    XCTAssertEqual(zeros.continues, [true, true, true, true, true, true, false])
    XCTAssertEqual(zeros.state.record.selectedEpoch, 5)
    let late = epochs([1, 0, 0], options: options)
    XCTAssertEqual(late.kept, [true, false, false])
    XCTAssertEqual(late.continues, [true, true, false])
    XCTAssertEqual(late.state.record.selectedEpoch, 1)
  }

  /// Patience ends no run before `epochsBeforeStopping` epochs: on a corpus of a few dozen
  /// sentences an epoch is one or two updates, and the chunks that its first, barely trained
  /// epochs found by chance set a bar that the next ten did not pass.
  func testPatienceWaitsForTheUpdatesBeforeStopping() {
    var options = TrainingOptions()
    (options.epochs, options.patience) = (100, 2)
    let chance = [1, 0, 0, 0, 2, 0, 0]
    XCTAssertEqual(
      epochs(chance, options: options).continues, [true, true, false, false, true, true, false])
    let waiting = epochs(chance, options: options, epochsBeforeStopping: 5)
    XCTAssertEqual(waiting.continues, [true, true, true, true, true, true, false])
    XCTAssertEqual(waiting.state.record.selectedEpoch, 5)
    // 1,000 updates: 500 epochs of 53 sentences in batches of 32, 8 of ATIS's 4,478.
    XCTAssertEqual(TrainingState.epochsBeforeStopping(sentences: 53, batchSize: 32), 500)
    XCTAssertEqual(TrainingState.epochsBeforeStopping(sentences: 4478, batchSize: 32), 8)
    XCTAssertEqual(TrainingState.epochsBeforeStopping(sentences: 0, batchSize: 32), 1000)
  }

  /// A checkpoint's kept epoch and count after it must be what its dev history gives today
  /// (`checkSelection`): one written when the first of epochs at 0 was kept, and each counted
  /// against patience, resumed with that choice and stopped where a run goes on.
  func testACheckpointSelectedByAnotherRuleIsRefused() throws {
    let run = epochs([0, 0, 0])
    XCTAssertNoThrow(try run.state.checkSelection(checkpoint: "c"))
    XCTAssertTrue(TrainingState.selection(replaying: [0, 0, 0]) == (3, 0))
    XCTAssertTrue(TrainingState.selection(replaying: [1, 3, 0, 2]) == (2, 2))
    var earlier = run.state
    (earlier.record.selectedEpoch, earlier.epochsWithoutImprovement) = (1, 2)
    XCTAssertThrowsError(try earlier.checkSelection(checkpoint: "c")) {
      XCTAssertEqual(
        "\($0)",
        "c: kept epoch 1 with 2 epochs after it without a better dev F1, where this version "
          + "keeps epoch 3 with 0 (an earlier version's model selection): remove it to start "
          + "afresh")
    }
  }

  /// Where a run with other limits would have stopped, replayed from a record of epochs
  /// (`stoppingPoint`, which refuses a resume that cannot end as an uninterrupted run):
  /// the first epoch after which those epochs, run as `Trainer.train` runs them, would not
  /// have continued, if it comes before the last.
  func testTheStoppingPointIsWhereTheLimitsWouldHaveStoppedTheRun() {
    var options = TrainingOptions()
    (options.epochs, options.patience) = (30, 2)
    XCTAssertEqual(
      TrainingState.stoppingPoint(
        devF1History: [40, 50, 50, 50, 60, 60], completedEpochs: 6, options: options,
        epochsBeforeStopping: 0), 4)
    var rng = SplitMix64(seed: 7)
    for _ in 0..<2000 {
      let hasDev = rng.next() % 4 != 0
      let correct = (0..<1 + Int(rng.next() % 8)).map { _ in hasDev ? Int(rng.next() % 5) : nil }
      (options.epochs, options.patience) = (1 + Int(rng.next() % 8), Int(rng.next() % 4))
      let before = Int(rng.next() % 4)
      let run = epochs(correct, options: options, epochsBeforeStopping: before)
      let expected = run.continues.dropLast().firstIndex(of: false).map { $0 + 1 }
      XCTAssertEqual(
        TrainingState.stoppingPoint(
          devF1History: run.state.record.devF1History, completedEpochs: correct.count,
          options: options, epochsBeforeStopping: before), expected,
        "\(correct), \(options.epochs), \(options.patience), \(before)")
    }
  }

  /// Without a dev set every epoch is kept, the latest being the model, and only `epochs`
  /// ends the run.
  func testWithoutADevSetTheLatestEpochIsKeptUntilTheLastEpoch() {
    var options = TrainingOptions()
    options.epochs = 3
    options.patience = 1
    let run = epochs([nil, nil, nil], options: options)
    XCTAssertEqual(run.kept, [true, true, true])
    XCTAssertEqual(run.continues, [true, true, false])
    XCTAssertEqual(run.state.record.selectedEpoch, 3)
    XCTAssertEqual(run.state.record.epochsRun, 3)
  }

  /// The dev set's digest (`TrainingState.devSHA256`), which a resumed run must match, is
  /// SHA-256 over the fields as documented: a tab after each field, a newline after each line
  /// and after each sentence. So the same lines cut into other sentences are another dev set,
  /// and the same fields on other lines of a file the same one. No sentences: the SHA-256 of
  /// no bytes.
  func testTheDevDigestIsOfTheFieldsLinesAndSentences() {
    let whole = [Sentence(fields: [["a", "B-x"], ["b", "O"]], firstLine: 1)]
    let cut = [
      Sentence(fields: [["a", "B-x"]], firstLine: 1), Sentence(fields: [["b", "O"]], firstLine: 3),
    ]
    var expected = SHA256()
    expected.update(Array("a\tB-x\t\nb\tO\t\n\n".utf8))
    XCTAssertEqual(TrainingState.sentencesSHA256(of: whole), expected.hexDigest())
    XCTAssertNotEqual(
      TrainingState.sentencesSHA256(of: cut), TrainingState.sentencesSHA256(of: whole))
    var moved = whole
    moved[0].firstLine = 7
    XCTAssertEqual(
      TrainingState.sentencesSHA256(of: moved), TrainingState.sentencesSHA256(of: whole))
    XCTAssertEqual(
      TrainingState.sentencesSHA256(of: []),
      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
  }
}
