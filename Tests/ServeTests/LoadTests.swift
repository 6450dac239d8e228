import Foundation
import XCTest

/// Many requests from 32 connections at once to a `trellis-serve` process on 127.0.0.1: every
/// one answered, every answer byte for byte what `trellis tag --input jsonl` writes for its
/// sentences. Prints requests/s, tokens/s and latency; asserts no figure.
///
/// `TRELLIS_LOAD_REQUESTS` (default 2,000) sets the count, `TRELLIS_LOAD_SENTENCES` (default
/// 1) the sentences per request; `make load-test` runs 10,000 against a release build.
final class LoadTests: XCTestCase {
  static let connections = 32

  private func setting(_ name: String, _ fallback: Int) -> Int {
    ProcessInfo.processInfo.environment[name].flatMap { Int($0) } ?? fallback
  }

  func testEveryRequestFromConcurrentConnectionsIsAnsweredAsTheCLIDoes() async throws {
    let requestCount = setting("TRELLIS_LOAD_REQUESTS", 2000)
    let perRequest = setting("TRELLIS_LOAD_SENTENCES", 1)
    let sentences = try tokenRequests(from: "Corpora/synthetic/test.conll", limit: 500)
    let expectedLines = try cliAnswers(sentences.map(\.line), canonical: false)
    let server = try ServerProcess()
    let client = HTTPClient(connections: Self.connections)
    // Request r asks for sentences r·k … r·k + k - 1 (mod the count), answered by those lines.
    func indices(_ request: Int) -> [Int] {
      (0..<perRequest).map { (request * perRequest + $0) % sentences.count }
    }

    let started = Date()
    let outcomes = try await withThrowingTaskGroup(of: [Outcome].self) { group in
      for connection in 0..<Self.connections {
        group.addTask {
          var outcomes: [Outcome] = []
          for request in stride(from: connection, to: requestCount, by: Self.connections) {
            let mine = indices(request)
            let body = tagBody(mine.map { sentences[$0].line })
            let sent = Date()
            let outcome: Outcome
            do {
              let answer = try await client.post(server.url("/v1/tag"), body)
              let expected =
                "{\"results\":[" + mine.map { expectedLines[$0] }.joined(separator: ",")
                + "]}\n"
              outcome =
                answer.status != 200
                ? .failed("request \(request): status \(answer.status): \(answer.text)")
                : answer.text != expected
                  ? .failed("request \(request): \(answer.text) instead of \(expected)")
                  : .answered(seconds: Date().timeIntervalSince(sent))
            } catch {
              outcome = .failed("request \(request): \(error)")
            }
            outcomes.append(outcome)
          }
          return outcomes
        }
      }
      return try await group.reduce(into: []) { $0 += $1 }
    }
    let elapsed = Date().timeIntervalSince(started)

    let failures = outcomes.compactMap(\.failure)
    XCTAssertEqual(outcomes.count, requestCount, "requests lost")
    XCTAssertEqual(failures.count, 0, failures.prefix(5).joined(separator: "\n"))
    let latencies = outcomes.compactMap(\.seconds).sorted()
    let tokens = (0..<requestCount).reduce(0) {
      $0 + indices($1).reduce(0) { $0 + sentences[$1].tokens }
    }
    func percentile(_ p: Double) -> Double {
      latencies.isEmpty
        ? .nan : latencies[min(latencies.count - 1, Int(p * Double(latencies.count)))] * 1000
    }
    print(
      String(
        format: "load: %d requests of %d sentence(s) (%d tokens) from %d connections in %.2f s: "
          + "%.0f requests/s, %.0f tokens/s, latency p50 %.2f ms, p99 %.2f ms, %d failed",
        requestCount, perRequest, tokens, Self.connections, elapsed, Double(requestCount) / elapsed,
        Double(tokens) / elapsed, percentile(0.5), percentile(0.99), failures.count))
    kill(server.process.processIdentifier, SIGTERM)
    XCTAssertTrue(server.waitForExit(seconds: 60))
    XCTAssertEqual(server.process.terminationStatus, 0, server.stderr)
  }

  private enum Outcome {
    case answered(seconds: Double)
    case failed(String)

    var seconds: Double? {
      if case .answered(let seconds) = self { return seconds }
      return nil
    }

    var failure: String? {
      if case .failed(let message) = self { return message }
      return nil
    }
  }
}
