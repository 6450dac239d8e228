import Foundation
import Trellis
import XCTest

/// `trellis tag`'s memory follows its longest sentence and its read-ahead, not its input:
/// batches of long lines stay within `TaggerModel.batchTokenStepLimit` token-steps, and a group
/// of input within `Tag.bytesReadAhead` bytes. Each test measures the process's peak resident
/// memory against a bound far below what it took without the limit.
final class MemoryBoundTests: CLITestCase {
  /// Runs `trellis arguments`, standard output to /dev/null, and returns its exit status and
  /// its peak resident memory in KB. A small Python process starts it and reads its children's
  /// `ru_maxrss`: a child this test process spawned would count this process's memory too, as
  /// a vfork'd child's exec records the memory it shared.
  func peakMemory(_ arguments: [String]) throws -> (status: Int32, kilobytes: Int) {
    let measure = """
      import resource, subprocess, sys
      done = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL)
      print(done.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
      """
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", "-c", measure, try PackagePaths.executable().path] + arguments
    let output = Pipe()
    process.standardOutput = output
    try process.run()
    let printed = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    let fields = printed.split(separator: " ").compactMap {
      Int($0.trimmingCharacters(in: .whitespacesAndNewlines))
    }
    guard process.terminationStatus == 0, fields.count == 2 else {
      throw POSIXError(.EIO)
    }
    return (Int32(fields[0]), fields[1])
  }

  /// 40 text lines of 3,000 tokens: one batch of 32 of them was 96,000 token-steps (a peak of
  /// about 200 MB with the shared model); within the limit a pass holds two (about 50 MB).
  func testBatchesOfLongLinesStayWithinTheTokenStepLimit() throws {
    XCTAssertLessThan(2 * 3_000, TaggerModel.batchTokenStepLimit)
    let words = ["show", "me", "flights", "to", "boston"]
    let line = (0..<3_000).map { words[$0 % words.count] }.joined(separator: " ")
    let file = try write(String(repeating: line + "\n", count: 40), to: "long-lines.txt")
    let (status, peak) = try peakMemory([
      "tag", "--model", try sharedModel(), "--input", "text", "--threads", "1", file,
    ])
    XCTAssertEqual(status, 0)
    XCTAssertLessThan(peak, 120_000, "peak resident memory \(peak) KB")
  }

  /// `eval` reads and tags a group of sentences at a time (`Eval.groupSize`): its peak does
  /// not grow with the test file. It held the whole file, about 200 bytes a token: 20,000 and
  /// 80,000 sentences of two tokens peaked 51 MB apart.
  func testEvalHoldsAGroupNotTheFile() throws {
    func peak(sentences: Int) throws -> Int {
      let file = try write(
        String(repeating: "show\tO\nboston\tB-toloc.city_name\n\n", count: sentences),
        to: "eval-\(sentences).conll")
      let (status, peak) = try peakMemory(["eval", "--model", try sharedModel(), "--test", file])
      XCTAssertEqual(status, 0)
      return peak
    }
    let (small, large) = (try peak(sentences: 20_000), try peak(sentences: 80_000))
    XCTAssertLessThan(large - small, 10_000, "peaks of \(small) and \(large) KB")
  }

  /// 2,000 requests of one token, each carrying a field of 20 KB: 40 MB of input, read ahead
  /// whole and copied into the answers (a peak of about 230 MB); now 2 MiB a group (50 MB).
  func testAGroupOfInputHoldsAtMostTheReadAheadBytes() throws {
    let field = String(repeating: "x", count: 20_000)
    let requests = (0..<2_000).map { #"{"id":\#($0),"tokens":["boston"],"note":"\#(field)"}"# }
    let file = try write(requests.joined(separator: "\n") + "\n", to: "large-fields.jsonl")
    let (status, peak) = try peakMemory([
      "tag", "--model", try sharedModel(), "--input", "jsonl", file,
    ])
    XCTAssertEqual(status, 0)
    XCTAssertLessThan(peak, 120_000, "peak resident memory \(peak) KB")
  }
}

extension MemoryBoundTests {
  /// A `"text"` request of 8 MiB of punctuation, 8 million tokens, is refused past
  /// `Sentence.tokenLimit` tokens without keeping them: cut whole first, it took about 600 MB,
  /// and with one letter outside ASCII, whose path kept every character, 206 MB.
  func testATextOfTooManyTokensIsRefusedWithoutKeepingThem() throws {
    for last in ["", "é"] {
      let dots = String(repeating: ".", count: 8 << 20)
      let file = try write("{\"text\":\"\(dots)\(last)\"}\n", to: "dots.jsonl")
      let (status, peak) = try peakMemory([
        "tag", "--model", try sharedModel(), "--input", "jsonl", "--on-error", "skip", file,
      ])
      XCTAssertEqual(status, 0)
      XCTAssertLessThan(peak, 120_000, "peak resident memory \(peak) KB, text ending \(last)")
    }
  }

  /// Two sentences of 6,000 tokens in batches of their own, with `--nbest 100`: each search
  /// keeps 24 million entries (384 MB with the shared model's 40 labels), and the two threads
  /// searched both at once (a peak of 790 MB); together they pass 2²⁵ entries, so now they
  /// take turns (435 MB with a release build).
  func testLargeNBestSearchesTakeTurns() throws {
    let words = ["show", "me", "flights", "to", "boston"]
    let line = (0..<6_000).map { words[$0 % words.count] }.joined(separator: " ")
    let file = try write(line + "\n" + line + "\n", to: "long.txt")
    let (status, peak) = try peakMemory([
      "tag", "--model", try sharedModel(), "--input", "text", "--format", "json", "--nbest",
      "100", "--threads", "2", file,
    ])
    XCTAssertEqual(status, 0)
    XCTAssertLessThan(peak, 600_000, "peak resident memory \(peak) KB")
  }

  /// Sentences past `TaggerModel.batchTokenStepLimit` are tagged one at a time, each pass on
  /// both threads: on two workers at once, two sentences of 60,000 tokens took 262 MB where
  /// one took 146 MB (a debug build).
  func testLongSentencesAreTaggedOneAtATime() throws {
    let words = ["show", "me", "flights", "to", "boston"]
    let line = (0..<60_000).map { words[$0 % words.count] }.joined(separator: " ")
    XCTAssertGreaterThan(60_000, TaggerModel.batchTokenStepLimit)
    func peak(lines: Int) throws -> Int {
      let file = try write(String(repeating: line + "\n", count: lines), to: "\(lines).txt")
      let (status, peak) = try peakMemory([
        "tag", "--model", try sharedModel(), "--input", "text", "--threads", "2", file,
      ])
      XCTAssertEqual(status, 0)
      return peak
    }
    let (one, two) = (try peak(lines: 1), try peak(lines: 2))
    XCTAssertLessThan(Double(two), 1.3 * Double(one), "peaks of \(one) and \(two) KB")
  }
}
