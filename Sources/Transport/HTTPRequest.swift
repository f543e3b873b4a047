/// One HTTP request for `HTTPClient`.
public struct HTTPRequest: Sendable {
    /// HTTP method.
    public enum Method: String, Sendable {
        case get = "GET", post = "POST", put = "PUT", delete = "DELETE"
    }

    /// Absolute `http://` or `https://` URL. Treated as secret (it may carry an API key): never logged.
    public var url: String
    public var method: Method
    /// Header lines as name/value pairs.
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]
    /// Whole-request timeout.
    public var timeout: Duration
    /// Connect timeout.
    public var connectTimeout: Duration
    /// Largest response body accepted; a larger one fails with `.responseTooLarge` — or, with `truncatesLargeResponse`,
    /// ends the transfer there. Each caller sets its own (JSON-RPC, Stripe, merchant webhooks); the default is for
    /// the rest.
    public var maximumResponseBytes: Int
    /// For callers that need only the status: a body past `maximumResponseBytes` stops the transfer without an
    /// error, and the response comes back with its status and the body cut at the limit (`HTTPResponse.truncated`).
    public var truncatesLargeResponse = false

    /// The default `maximumResponseBytes`.
    public static let defaultMaximumResponseBytes = 16 << 20

    public init(
        url: String, method: Method = .get, headers: [(name: String, value: String)] = [], body: [UInt8] = [],
        timeout: Duration = .seconds(30), connectTimeout: Duration = .seconds(10),
        maximumResponseBytes: Int = HTTPRequest.defaultMaximumResponseBytes
    ) {
        self.url = url
        self.method = method
        self.headers = headers
        self.body = body
        self.timeout = timeout
        self.connectTimeout = connectTimeout
        self.maximumResponseBytes = maximumResponseBytes
    }
}

/// A complete HTTP response.
public struct HTTPResponse: Sendable {
    /// Status code of the final response (after any `100 Continue`).
    public var status: Int
    /// Header lines of the final response, names as sent.
    public var headers: [(name: String, value: String)]
    /// The body, decompressed.
    public var body: [UInt8]
    /// The body was cut at the request's `maximumResponseBytes` (only with `truncatesLargeResponse`).
    public var truncated = false

    public init(status: Int, headers: [(name: String, value: String)], body: [UInt8]) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// The first header with this name (case-insensitive).
    public func header(_ name: String) -> String? {
        let lower = name.lowercased()
        return headers.first { $0.name.lowercased() == lower }?.value
    }

    /// `Retry-After` in seconds (delta-seconds form), when present.
    public var retryAfter: Double? {
        header("Retry-After").flatMap { Double(trimmed($0)) }
    }
}

private func trimmed(_ text: String) -> Substring {
    var s = text[...]
    while let c = s.first, c == " " || c == "\t" { s.removeFirst() }
    while let c = s.last, c == " " || c == "\t" || c == "\r" || c == "\n" { s.removeLast() }
    return s
}
