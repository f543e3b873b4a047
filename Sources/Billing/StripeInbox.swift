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
        let event: JSON
        do { event = try JSON(parsing: payload) } catch { throw BillingError(.malformed, "the event body is not JSON") }
        guard event["object"]?.stringValue == "event", let id = event["id"]?.stringValue, !id.isEmpty,
              let type = event["type"]?.stringValue, !type.isEmpty, let signed = event["created"]?.int64Value,
              let created = UInt64(exactly: signed), event["data"]?["object"] != nil else {
            // `created` is a Unix time, stored as SQLite's signed 64-bit integer: past 2^63 - 1 is malformed, not a trap.
            throw BillingError(.malformed, "the event lacks object, id, type, created (0 to 2^63 - 1) or data.object")
        }
        let objectID = event["data"]?["object"]?["id"]?.stringValue
        let stored = try await store.insert(id: id, type: type, objectID: objectID, created: created, payload: payload, now: now)
        return stored ? .stored(eventID: id) : .duplicate(eventID: id)
    }
}
