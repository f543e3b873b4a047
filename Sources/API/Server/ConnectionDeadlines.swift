/// The deadlines of one HTTP/1.1 connection, as a state machine without I/O. The server's channel handlers feed it
/// what they see (bytes, a request head, the end of a request, the end of a response) with the monotonic time in
/// nanoseconds, and arm one timer for `deadline`; when it fires, `expired(now:)` says whether to close.
///
/// Phases and their deadlines:
/// - `idle` (no request in progress): `idleTimeout` from the opening or from the end of the last response;
/// - `readingHead` (bytes of a request arrived, its head is not complete): `headerTimeout` from the first byte;
/// - `readingBody` (the head is complete, the body is not): `bodyTimeout` from the head;
/// - `responding` (the request is read, the response is being made): no read deadline; the handler's own work is
///   bounded elsewhere (database and node timeouts, shutdown).
///
/// A connection is `evictable` — closed first when the server is at its connection cap — when it has no request
/// that the server is working on: idle, or with only part of a head.
public struct ConnectionDeadlines: Sendable, Equatable {
    public enum Phase: String, Sendable, Equatable {
        case idle, readingHead, readingBody, responding
    }

    public struct Limits: Sendable, Equatable {
        public var header: UInt64
        public var body: UInt64
        public var idle: UInt64
        /// Body bytes of one request beyond which the connection is closed.
        public var bodyBytes: Int

        /// Nanoseconds.
        public init(header: UInt64, body: UInt64, idle: UInt64, bodyBytes: Int) {
            self.header = header
            self.body = body
            self.idle = idle
            self.bodyBytes = bodyBytes
        }
    }

    public let limits: Limits
    public private(set) var phase: Phase = .idle
    /// When the current phase must have ended (nanoseconds, monotonic); nil while responding.
    public private(set) var deadline: UInt64?
    /// Since when the connection has been in `phase` (for choosing whom to evict: the longest idle).
    public private(set) var since: UInt64
    /// Requests whose head arrived and whose response has not ended (pipelining can make it 2 or more).
    private var outstanding = 0
    /// A request head arrived and its end has not.
    private var reading = false
    /// Body bytes read of the request being read.
    private var bodyBytes = 0
    /// Bytes of a next request arrived while a response was being made.
    private var pendingBytesSince: UInt64?

    public init(limits: Limits, openedAt now: UInt64) {
        self.limits = limits
        since = now
        deadline = Self.adding(now, limits.idle)
    }

    public var evictable: Bool { phase == .idle || phase == .readingHead }

    /// Raw bytes arrived (before HTTP decoding).
    public mutating func bytes(now: UInt64) {
        switch phase {
        case .idle: enter(.readingHead, now: now, for: limits.header)
        case .responding where pendingBytesSince == nil: pendingBytesSince = now
        case .readingHead, .readingBody, .responding: break
        }
    }

    /// A complete request head was decoded.
    public mutating func head(now: UInt64) {
        outstanding += 1
        reading = true
        bodyBytes = 0
        pendingBytesSince = nil
        enter(.readingBody, now: now, for: limits.body)
    }

    /// A chunk of `count` body bytes. Returns false when the request's body is now larger than any route accepts:
    /// close the connection.
    public mutating func body(count: Int) -> Bool {
        let (sum, overflow) = bodyBytes.addingReportingOverflow(count)
        bodyBytes = overflow ? Int.max : sum
        return bodyBytes <= limits.bodyBytes
    }

    /// The request's end was read.
    public mutating func end(now: UInt64) {
        reading = false
        if outstanding > 0 {
            phase = .responding
            deadline = nil
            since = now
        } else {
            enter(.idle, now: now, for: limits.idle)
        }
    }

    /// A response ended.
    public mutating func responded(now: UInt64) {
        outstanding = max(0, outstanding - 1)
        if reading {
            return  // a pipelined request's body is still being read: its deadline stands
        } else if outstanding > 0 {
            phase = .responding
            deadline = nil
        } else if let first = pendingBytesSince {
            pendingBytesSince = nil
            phase = .readingHead
            since = first
            deadline = Self.adding(first, limits.header)
        } else {
            enter(.idle, now: now, for: limits.idle)
        }
    }

    /// The timer fired at `now`: true when the phase's deadline has passed and the connection must close.
    public func expired(now: UInt64) -> Bool {
        guard let deadline else { return false }
        return now >= deadline
    }

    private mutating func enter(_ next: Phase, now: UInt64, for limit: UInt64) {
        phase = next
        since = now
        deadline = Self.adding(now, limit)
    }

    private static func adding(_ a: UInt64, _ b: UInt64) -> UInt64 {
        let (sum, overflow) = a.addingReportingOverflow(b)
        return overflow ? .max : sum
    }
}
