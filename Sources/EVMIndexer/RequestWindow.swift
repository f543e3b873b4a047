/// How many `eth_getLogs` requests the backfill keeps in flight: a pure decision, fed what happened to each request.
///
/// Additive increase, multiplicative decrease, as TCP does with its congestion window: each answer that came back
/// without a sign of overload lets the window grow by one request per window's worth of answers (up to `maximum`);
/// a sign of overload (HTTP 429 or 5xx, a `Retry-After`, a timeout) halves it, at least to one. Only one decrease
/// per generation: the answers to requests sent before the last decrease say nothing about the smaller window, so a
/// burst of 429s to eight requests in flight halves the window once, not eight times.
public struct RequestWindow: Equatable, Sendable {
    /// The most requests ever in flight (`[index] requests_in_flight`).
    public let maximum: Int
    /// The window, in requests; fractional so that growth by one takes a window's worth of answers.
    public private(set) var size: Double
    /// Bumped at each decrease; a request carries the generation it was sent in.
    public private(set) var generation: UInt64 = 0

    /// Starts at `initial` (default: `maximum`; a provider that cannot take it says so within the first answers).
    public init(maximum: Int, initial: Int? = nil) {
        self.maximum = max(1, maximum)
        self.size = Double(min(self.maximum, max(1, initial ?? maximum)))
    }

    /// Requests that may be in flight now.
    public var allowed: Int { max(1, min(maximum, Int(size))) }

    /// An answer to a request sent in `generation` came back; `overloaded` when the provider showed strain on it.
    public mutating func answered(sentIn generation: UInt64, overloaded: Bool) {
        if overloaded {
            guard generation == self.generation else { return }  // already decreased for this burst
            size = max(1, (size / 2).rounded(.down))
            self.generation &+= 1
        } else {
            size = min(Double(maximum), size + 1 / max(1, size))
        }
    }
}
