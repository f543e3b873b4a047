import Hummingbird
import SettleCore

/// An answer other than success, with a machine-readable code and a message a person can act on. Rendered as
/// `{"error": {"code": "...", "message": "..."}}` with its HTTP status.
public struct APIError: Error, Sendable, CustomStringConvertible {
    public var status: HTTPResponse.Status
    /// `bad_request`, `unauthorized`, `forbidden`, `not_found`, `conflict`, `unavailable` or `internal`.
    public var code: String
    public var message: String

    public init(_ status: HTTPResponse.Status, _ code: String, _ message: String) {
        self.status = status
        self.code = code
        self.message = message
    }

    public static func badRequest(_ message: String) -> APIError { APIError(.badRequest, "bad_request", message) }
    public static func notFound(_ message: String) -> APIError { APIError(.notFound, "not_found", message) }
    public static func conflict(_ message: String) -> APIError { APIError(.conflict, "conflict", message) }
    public static func unavailable(_ message: String) -> APIError { APIError(.serviceUnavailable, "unavailable", message) }

    public var description: String { "\(status.code) \(code): \(message)" }

    /// The JSON body.
    public var body: JSON { ["error": ["code": .string(code), "message": .string(message)]] }

    var response: Response {
        var headers: HTTPFields = [:]
        if status == .unauthorized { headers[.wwwAuthenticate] = "Bearer realm=\"settle\"" }
        return JSONBody.response(status, body, headers: headers)
    }
}

/// JSON responses from `SettleCore.JSON` (exact numbers and key order as built).
enum JSONBody {
    static func response(_ status: HTTPResponse.Status, _ json: JSON, headers: HTTPFields = [:]) -> Response {
        var headers = headers
        headers[.contentType] = "application/json"
        headers[.cacheControl] = "no-store"
        var bytes = json.serialized
        bytes.append(0x0a)
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}
