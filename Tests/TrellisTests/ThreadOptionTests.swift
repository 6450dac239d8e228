import Foundation
import XCTest

@testable import Trellis

/// `TaggingOptions.threads`: results do not depend on it, out-of-range values are refused, and
/// a JSON object that leaves it out decodes to the default.
final class ThreadOptionTests: XCTestCase {
  /// One batch (batch size 32: one or two threads inside a pass) and many batches (batch
  /// size 1: dealt out to the workers), with confidences and n-best lists, under 1, 2 and 3
  /// threads.
  /// The Swift calls take options `validate()` refuses as the nearest in range, where a batch
  /// size below 1 stopped the process ("Range requires lowerBound <= upperBound").
  func testSwiftCallsTakeOptionsOutOfRangeAsTheNearestInRange() throws {
    let model = try ConcurrencyTests.loaded.get()
    let sentences = ConcurrencyTests.fewSentences
    let nearest = model.analyze(sentences, options: TaggingOptions(batchSize: 1, threads: 1))
    for (batchSize, threads, nbest) in [(0, 1, 0), (-1, 0, -3), (Int.min, -5, 0)] {
      let options = TaggingOptions(nbest: nbest, batchSize: batchSize, threads: threads)
      XCTAssertThrowsError(try options.validate())
      XCTAssertEqual(model.analyze(sentences, options: options), nearest, "\(options)")
      XCTAssertEqual(model.tag(sentences, options: options), nearest.map(\.labels))
    }
    // Above the limits: the limits (every sentence in one batch at most; 1,024 workers would
    // each have taken a thread).
    let largest = model.analyze(
      sentences,
      options: TaggingOptions(
        nbest: TaggingOptions.nbestLimit, batchSize: TaggingOptions.batchSizeLimit,
        threads: TaggingOptions.threadsLimit))
    let beyond = TaggingOptions(nbest: Int.max, batchSize: Int.max, threads: Int.max)
    XCTAssertThrowsError(try beyond.validate())
    XCTAssertEqual(model.analyze(sentences, options: beyond), largest)
  }

  func testThreadCountDoesNotChangeResults() throws {
    let model = try ConcurrencyTests.loaded.get()
    let sentences = ConcurrencyTests.fewSentences
    for batchSize in [1, 32] {
      func analyses(threads: Int) -> [Analysis] {
        model.analyze(
          sentences,
          options: TaggingOptions(
            confidence: true, nbest: 2, batchSize: batchSize, threads: threads))
      }
      let oneThread = analyses(threads: 1)
      XCTAssertEqual(oneThread.map(\.tokens), sentences)
      for threads in [2, 3] {
        XCTAssertEqual(
          analyses(threads: threads), oneThread, "batch size \(batchSize), \(threads) threads")
      }
    }
  }

  func testThreadCountOutsideItsRangeIsRefused() {
    for threads in [0, -1, TaggingOptions.threadsLimit + 1] {
      XCTAssertThrowsError(try TaggingOptions(threads: threads).validate()) { error in
        XCTAssertEqual((error as? OptionError)?.option, "threads")
      }
    }
    XCTAssertNoThrow(try TaggingOptions(threads: 1).validate())
    XCTAssertNoThrow(try TaggingOptions().validate())
  }

  func testDefaultIsTheActiveCores() {
    XCTAssertEqual(TaggingOptions().threads, ProcessInfo.processInfo.activeProcessorCount)
  }

  /// Fields left out of a JSON object keep their defaults; given ones are read.
  func testDecodingKeepsDefaultsForMissingFields() throws {
    let decode = { (json: String) in
      try JSONDecoder().decode(TaggingOptions.self, from: Data(json.utf8))
    }
    XCTAssertEqual(try decode("{}"), TaggingOptions())
    XCTAssertEqual(
      try decode(#"{"nbest": 3, "threads": 1}"#), TaggingOptions(nbest: 3, threads: 1))
    let all = TaggingOptions(
      constrained: false, confidence: true, nbest: 2, batchSize: 7, threads: 5)
    XCTAssertEqual(try decode(String(decoding: try JSONEncoder().encode(all), as: UTF8.self)), all)
    XCTAssertThrowsError(try decode(#"{"threads": "many"}"#))
  }
}
