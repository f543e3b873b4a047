/// Sends one signed webhook body to the merchant (the HTTP implementation lives in `Billing`).
public protocol WebhookPoster: Sendable {
    /// Posts `body` for `eventID`, signed at `timestamp`.
    /// - Returns: the HTTP status, or nil with an error text when no response came (network, timeout).
    func post(body: [UInt8], eventID: String, timestamp: UInt64) async -> (status: Int?, error: String?)
}

/// Delivers due outbox messages, one pass at a time: each is posted, and its outcome recorded (delivered, scheduled
/// again by the policy, or given up). At least once: a crash between the post and the record sends it again, and
/// the merchant deduplicates by the event id.
public struct OutboxDeliverer: Sendable {
    public let outbox: Outbox
    public let poster: any WebhookPoster
    public let policy: DeliveryPolicy

    public init(outbox: Outbox, poster: any WebhookPoster, policy: DeliveryPolicy = DeliveryPolicy()) {
        self.outbox = outbox
        self.poster = poster
        self.policy = policy
    }

    /// What one pass did.
    public struct Report: Hashable, Sendable {
        public var delivered = 0
        public var failed = 0
    }

    /// Delivers the messages due at `now` that this daemon claims (`Outbox.claim`: one daemon per message).
    @discardableResult
    public func runOnce(now: UInt64) async throws -> Report {
        var report = Report()
        for message in try await outbox.claim(now: now) {
            let (status, error) = await poster.post(body: message.payload, eventID: message.eventID, timestamp: now)
            let delivered = status.map { (200..<300).contains($0) } ?? false
            try await outbox.record(message, status: status, error: delivered ? nil : error ?? status.map { "HTTP \($0)" },
                                    policy: policy, now: now)
            if delivered { report.delivered += 1 } else { report.failed += 1 }
        }
        return report
    }
}
