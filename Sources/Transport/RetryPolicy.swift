/// How `JSONRPCClient` retries failures that are worth retrying (network errors, timeouts, HTTP 429 and 5xx,
/// malformed responses): exponential backoff with full jitter, moving to the next endpoint on each failure.
///
/// Keys and defaults: `maximumAttempts` 6, `baseDelay` 100 ms, `maximumDelay` 10 s. A `Retry-After` header is
/// honoured (capped at `maximumDelay`).
public struct RetryPolicy: Sendable {
    /// Total attempts per call, across all endpoints (1 = no retry).
    public var maximumAttempts: Int
    /// Delay before the second attempt; doubles each time.
    public var baseDelay: Duration
    /// Upper bound of any one delay.
    public var maximumDelay: Duration

    public init(maximumAttempts: Int = 6, baseDelay: Duration = .milliseconds(100), maximumDelay: Duration = .seconds(10)) {
        self.maximumAttempts = max(1, maximumAttempts)
        self.baseDelay = baseDelay
        self.maximumDelay = maximumDelay
    }

    /// Delay before attempt `attempt` (1-based; attempt 1 has none), given the server's `Retry-After` if any.
    public func delay(beforeAttempt attempt: Int, retryAfter: Double?, random: Double) -> Duration {
        if attempt <= 1 { return .zero }
        if let retryAfter, retryAfter >= 0 {  // NaN fails the comparison and falls through to backoff
            // A header from outside: infinite or beyond Int64 milliseconds waits the maximum, never traps.
            let milliseconds = (retryAfter * 1000).rounded(.up)
            guard milliseconds.isFinite, let exact = Int64(exactly: min(milliseconds, 9.0e15)) else { return maximumDelay }
            return min(.milliseconds(exact), maximumDelay)
        }
        let exponent = min(attempt - 2, 30)
        let ceiling = min(baseDelay * (1 << exponent), maximumDelay)
        // Full jitter: uniform in [0, ceiling].
        return ceiling * max(0, min(1, random))
    }
}
