/// What the HTTP server allows one connection (`[server]` in settle.toml). The port is the one Stripe must reach, so
/// it is open to anyone: every phase of a request has a deadline, the number of connections is capped, and bodies
/// are bounded per route.
public struct ServerLimits: Sendable, Equatable {
    /// From the first byte of a request to its complete head (a trickled head, "slowloris", is cut off here).
    public var headerTimeout: Duration
    /// From the complete head to the last byte of the body.
    public var bodyTimeout: Duration
    /// A connection with no request in progress: from its opening, or from the end of the previous response.
    public var idleTimeout: Duration
    /// Open connections at most. At the cap, the connection idle the longest (no request in progress, or only part
    /// of a head) is closed to admit the new one; when every connection is busy the new one gets 503.
    public var maxConnections: Int
    /// The largest request body of the `/v1` API (JSON): 413 beyond.
    public var maxBodyBytes: Int
    /// The largest Stripe webhook body: 413 beyond.
    public var webhookMaxBodyBytes: Int

    public init(headerTimeout: Duration = .seconds(10), bodyTimeout: Duration = .seconds(30), idleTimeout: Duration = .seconds(60),
                maxConnections: Int = 1_024, maxBodyBytes: Int = 64 << 10, webhookMaxBodyBytes: Int = 1 << 20) {
        self.headerTimeout = headerTimeout
        self.bodyTimeout = bodyTimeout
        self.idleTimeout = idleTimeout
        self.maxConnections = maxConnections
        self.maxBodyBytes = maxBodyBytes
        self.webhookMaxBodyBytes = webhookMaxBodyBytes
    }

    /// Body bytes after which a request is cut off at the connection, whatever the route: the largest body any route
    /// accepts plus 64 KiB, so that a route refusing a large body still answers its 413 first, while a route that
    /// reads no body does not make the server read an endless one.
    public var connectionBodyLimit: Int { max(maxBodyBytes, webhookMaxBodyBytes) + (64 << 10) }

    var headerSeconds: Int { Int(headerTimeout.components.seconds) }
    var bodySeconds: Int { Int(bodyTimeout.components.seconds) }
    var idleSeconds: Int { Int(idleTimeout.components.seconds) }
}
