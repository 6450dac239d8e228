import Hummingbird
import Trellis

/// A request the service refuses, answered with `status` and `{"error": "message"}`, the shape
/// of a refused JSON-lines request.
struct ServiceError: Error, HTTPResponseError {
  var status: HTTPResponse.Status
  var message: String

  static func badRequest(_ message: String) -> ServiceError {
    ServiceError(status: .badRequest, message: message)
  }

  var headers: HTTPFields { [.contentType: "application/json"] }

  func response(from request: Request, context: some RequestContext) throws -> Response {
    jsonResponse("{\"error\":\(RawJSON.string(message))}\n", status: status)
  }
}

/// A response carrying `json`, a complete JSON text.
func jsonResponse(_ json: String, status: HTTPResponse.Status = .ok) -> Response {
  Response(
    status: status, headers: [.contentType: "application/json"],
    body: ResponseBody(byteBuffer: ByteBuffer(string: json)))
}
