import SettleCore

/// Stripe's webhooks in: verify the signature, store the event durably, and only then answer 2xx. A duplicate event
/// id is acknowledged and not stored again; anything unverifiable or unreadable is refused and nothing is stored.
public struct StripeInbox: Sendable {
    public let store: BillingStore
    /// Webhook signing secrets (`whsec_…`); several during a rotation.
    public let secrets: [String]
    public let tolerance: UInt64

    public init(store: BillingStore, secrets: [String], tolerance: UInt64 = WebhookSignature.defaultTolerance) {
        self.store = store
        self.secrets = secrets
        self.tolerance = tolerance
    }

    public enum Receipt: Hashable, Sendable {
        case stored(eventID: String)
        case duplicate(eventID: String)
    }

    /// Verifies and stores one delivery.
    /// - Throws: `BillingError` (`invalidSignature`, `staleSignature`, `malformed`: answer 400), or a store error
    ///   (answer 500, so Stripe delivers again).
    public func receive(payload: [UInt8], signatureHeader: String?, now: UInt64) async throws -> Receipt {
        guard let signatureHeader else { throw BillingError(.invalidSignature, "no Stripe-Signature header") }
        try WebhookSignature.verify(payload: payload, header: signatureHeader, secrets: secrets, now: now, tolerance: tolerance)
        let event = try StripeEventEnvelope(payload: payload)
        let id = event.id
        let stored = try await store.insert(id: id, type: event.type, objectID: event.objectID, created: event.created, payload: payload, now: now)
        return stored ? .stored(eventID: id) : .duplicate(eventID: id)
    }
}
