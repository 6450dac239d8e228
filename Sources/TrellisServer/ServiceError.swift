import Hummingbird
import Trellis

/// A request the service refuses, answered with `status` and `{"error": "message"}`, the shape
/// of a refused JSON-lines request.
struct ServiceError: Error, HTTPResponseError {
  var status: HTTPResponse.Status
  var message: String
  /// Headers besides the content type (`Allow` of a 405).
  var extraHeaders: HTTPFields = [:]

  static func badRequest(_ message: String) -> ServiceError {
    ServiceError(status: .badRequest, message: message)
  }

  func response(from request: Request, context: some RequestContext) throws -> Response {
    var response = jsonResponse("{\"error\":\(RawJSON.string(message))}\n", status: status)
    response.headers.append(contentsOf: extraHeaders)
    return response
  }
}

/// Answers a request that no route matched as every refusal is answered, `{"error": "…"}`:
/// 405 with `Allow` when the path is an endpoint asked with another method, else 404 naming
/// the endpoints. (The router's own answer to both was a bare 404 with an empty body.)
struct UnmatchedRequests<Context: RequestContext>: RouterMiddleware {
  let endpoints: [String: HTTPRequest.Method]

  func handle(
    _ request: Request, context: Context,
    next: (Request, Context) async throws -> Response
  ) async throws -> Response {
    do {
      return try await next(request, context)
    } catch let error as HTTPError where error.status == .notFound {
      let asked = "\(request.method) \(request.uri.path)"
      // The path as the router matches it: "/v1/tag/" and "//health" are its endpoints.
      let path = "/" + request.uri.path.split(separator: "/").joined(separator: "/")
      if let method = endpoints[path] {
        let allowed = method == .get ? "GET, HEAD" : method.rawValue
        throw ServiceError(
          status: .methodNotAllowed, message: "\(asked): this endpoint takes \(allowed)",
          extraHeaders: [.allow: allowed])
      }
      let known = endpoints.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }
      throw ServiceError(
        status: .notFound,
        message: "\(asked): no such endpoint (\(known.joined(separator: ", ")))")
    }
  }
}

/// Whether a request's Content-Length says its body is over `limit` bytes: such a body is
/// refused (413) before it is read, and never asked for (`100 Continue`).
func declaresBodyOver(_ limit: Int, _ fields: HTTPFields) -> Bool {
  fields[.contentLength].flatMap { Int($0) }.map { $0 > limit } ?? false
}

/// A response carrying `json`, a complete JSON text.
func jsonResponse(_ json: String, status: HTTPResponse.Status = .ok) -> Response {
  Response(
    status: status, headers: [.contentType: "application/json"],
    body: ResponseBody(byteBuffer: ByteBuffer(string: json)))
}
