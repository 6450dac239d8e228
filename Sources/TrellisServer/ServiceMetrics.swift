import Foundation
import Hummingbird
import NIOHTTP1

/// What `GET /metrics` reports, in Prometheus's text format: the requests answered by endpoint
/// and status, the sentences and tokens tagged, the work waiting, and how long `/v1/tag`
/// requests took. An operator sees there how often requests are refused (503s when
/// `maxQueuedTokens` is too low, 400s from a client's bug) and the latency clients get.
/// Answers the HTTP parser or the connection's pacing gave before a request reached the router
/// (a malformed head, a 408) are not counted.
final class ServiceMetrics: @unchecked Sendable {
  /// Upper bounds of the latency histogram's buckets, in seconds (the last is +Inf).
  static let latencyBounds: [Double] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
  ]

  private let lock = NSLock()
  /// Requests answered, by endpoint (or "other": any other path, so that a scan of paths
  /// cannot grow the answer) and status code.
  private var requests: [Endpoint: Int] = [:]
  private var sentencesTagged = 0
  private var tokensTagged = 0
  /// `/v1/tag` requests by the first bucket their time fits, then their sum and count.
  private var latencyCounts = [Int](repeating: 0, count: ServiceMetrics.latencyBounds.count + 1)
  private var latencySum = 0.0

  private struct Endpoint: Hashable, Comparable {
    var path: String
    var status: Int
    static func < (a: Endpoint, b: Endpoint) -> Bool { (a.path, a.status) < (b.path, b.status) }
  }

  /// Counts one answer to `path` (an endpoint's, or "other") with `status`, and for `/v1/tag`
  /// its time.
  func recordAnswer(path: String, status: Int, seconds: Double) {
    lock.withLock {
      requests[Endpoint(path: path, status: status), default: 0] += 1
      guard path == "/v1/tag" else { return }
      let bucket =
        Self.latencyBounds.firstIndex { seconds <= $0 } ?? Self.latencyBounds.count
      latencyCounts[bucket] += 1
      latencySum += seconds
    }
  }

  /// Counts a batch's sentences and tokens once they are tagged.
  func recordTagged(sentences: Int, tokens: Int) {
    lock.withLock {
      sentencesTagged += sentences
      tokensTagged += tokens
    }
  }

  /// The exposition, with `queuedWork` as the queue has it now (`TaggingQueue.work`).
  func exposition(queuedWork: Int) -> String {
    lock.withLock {
      var lines = [
        "# HELP trellis_requests_total Requests answered, by endpoint and status.",
        "# TYPE trellis_requests_total counter",
      ]
      for (endpoint, count) in requests.sorted(by: { $0.key < $1.key }) {
        lines.append(
          "trellis_requests_total{path=\"\(endpoint.path)\",status=\"\(endpoint.status)\"} \(count)"
        )
      }
      lines += [
        "# HELP trellis_sentences_tagged_total Sentences tagged.",
        "# TYPE trellis_sentences_tagged_total counter",
        "trellis_sentences_tagged_total \(sentencesTagged)",
        "# HELP trellis_tokens_tagged_total Tokens tagged.",
        "# TYPE trellis_tokens_tagged_total counter",
        "trellis_tokens_tagged_total \(tokensTagged)",
        "# HELP trellis_queued_tokens Work waiting to be tagged, in tokens tagged plainly "
          + "(bounded by --max-queued-tokens).",
        "# TYPE trellis_queued_tokens gauge",
        "trellis_queued_tokens \(queuedWork)",
        "# HELP trellis_tag_request_seconds From a /v1/tag request's head to its answer, ready.",
        "# TYPE trellis_tag_request_seconds histogram",
      ]
      var cumulative = 0
      for (index, count) in latencyCounts.enumerated() {
        cumulative += count
        let bound =
          index < Self.latencyBounds.count ? "\(Self.latencyBounds[index])" : "+Inf"
        lines.append("trellis_tag_request_seconds_bucket{le=\"\(bound)\"} \(cumulative)")
      }
      lines += [
        "trellis_tag_request_seconds_sum \(latencySum)",
        "trellis_tag_request_seconds_count \(cumulative)",
      ]
      return lines.joined(separator: "\n") + "\n"
    }
  }
}

/// A request whose body stopped arriving other than by the end of the client's input (which
/// is answered 400): `ClientPacing` answered 408 and closed the connection, or it failed. The
/// router has no answer to give, so `MetricsMiddleware` counts none (as an error without a
/// status, it was counted a 500 that was never sent).
struct BodyNotReceived: Error {
  var reason: any Error
}

/// Times every request the router sees and counts its answer's status in `metrics`, the
/// status of an error thrown on its way out included (500 for an error without one, 400 for
/// the parser's refusal of a body), but for `BodyNotReceived`.
struct MetricsMiddleware<Context: RequestContext>: RouterMiddleware {
  let metrics: ServiceMetrics
  let endpoints: Set<String>

  func handle(
    _ request: Request, context: Context,
    next: (Request, Context) async throws -> Response
  ) async throws -> Response {
    let started = ContinuousClock.now
    // The path as the router matches it ("/v1/tag/" is its endpoint), else "other".
    let path = "/" + request.uri.path.split(separator: "/").joined(separator: "/")
    let label = endpoints.contains(path) ? path : "other"
    func record(_ status: HTTPResponse.Status) {
      let elapsed = ContinuousClock.now - started
      let seconds =
        Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
      metrics.recordAnswer(path: label, status: status.code, seconds: seconds)
    }
    do {
      let response = try await next(request, context)
      record(response.status)
      return response
    } catch let error as BodyNotReceived {
      throw error
    } catch let error as HTTPParserError {
      // A body the parser refused (a malformed chunk), which Hummingbird answers 400.
      record(.badRequest)
      throw error
    } catch {
      record((error as? any HTTPResponseError)?.status ?? .internalServerError)
      throw error
    }
  }
}
