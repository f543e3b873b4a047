/// The error the transport throws. Messages never include URLs (they may carry provider API keys) or bodies.
public struct TransportError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What kind of failure this is.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let raw: String
        private init(_ raw: String) { self.raw = raw }

        /// The connection could not be made (refused, DNS, TLS handshake).
        public static let connectFailed = Code("connectFailed")
        /// The request took longer than its timeout.
        public static let timedOut = Code("timedOut")
        /// The connection broke or the response was cut short.
        public static let connectionLost = Code("connectionLost")
        /// The response body exceeded the configured limit.
        public static let responseTooLarge = Code("responseTooLarge")
        /// The task waiting for the response was cancelled.
        public static let cancelled = Code("cancelled")
        /// The client was shut down.
        public static let shutDown = Code("shutDown")
        /// The request could not be built (bad URL, bad header).
        public static let invalidRequest = Code("invalidRequest")
        /// The server answered with an HTTP status the caller treats as an error.
        public static let httpStatus = Code("httpStatus")
        /// Any other libcurl failure.
        public static let other = Code("other")

        public var description: String { raw }
    }

    /// What kind of failure this is.
    public var code: Code
    /// What happened, safe to log.
    public var message: String
    /// The HTTP status, for `.httpStatus`.
    public var status: Int?
    /// Seconds the server asked us to wait (`Retry-After`), when it did.
    public var retryAfter: Double?

    public init(_ code: Code, _ message: String, status: Int? = nil, retryAfter: Double? = nil) {
        self.code = code
        self.message = message
        self.status = status
        self.retryAfter = retryAfter
    }

    /// True for failures worth retrying: network trouble, timeouts, 429 and 5xx.
    public var isRetryable: Bool {
        switch code {
        case .connectFailed, .timedOut, .connectionLost: return true
        case .httpStatus: return status == 429 || (status ?? 0) >= 500
        default: return false
        }
    }

    public var description: String {
        var text = "\(code): \(message)"
        if let status { text += " (HTTP \(status))" }
        return text
    }
}
