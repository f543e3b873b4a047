import SettleCore

/// The envelope of a Stripe event as a webhook delivers it: what the inbox stores before answering 2xx. The object
/// inside is not read here (it is fetched from Stripe again when the event is processed).
public struct StripeEventEnvelope: Hashable, Sendable {
    public var id: String
    public var type: String
    /// Unix seconds, at most 2^63 - 1 (Stripe's integers are signed 64-bit, and so is the inbox's column).
    public var created: UInt64
    /// The id of `data.object` (the invoice, subscription, …), when it has one.
    public var objectID: String?

    /// Reads an event body.
    /// - Throws: `BillingError.malformed` when it is not JSON or lacks object `event`, id, type, created or
    ///   data.object.
    public init(payload: [UInt8]) throws(BillingError) {
        let event: JSON
        do { event = try JSON(parsing: payload) } catch { throw BillingError(.malformed, "the event body is not JSON") }
        guard event["object"]?.stringValue == "event", let id = event["id"]?.stringValue, !id.isEmpty,
              let type = event["type"]?.stringValue, !type.isEmpty, let signed = event["created"]?.int64Value,
              let created = UInt64(exactly: signed), event["data"]?["object"] != nil else {
            throw BillingError(.malformed, "the event lacks object, id, type, created (0 to 2^63 - 1) or data.object")
        }
        self.id = id
        self.type = type
        self.created = created
        objectID = event["data"]?["object"]?["id"]?.stringValue
    }
}
