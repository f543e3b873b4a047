import SettleCore

/// The parts of a Stripe invoice Settle acts on, read from Stripe's JSON with precise errors for anything missing
/// or malformed (a webhook or list response Settle cannot read is refused, never guessed at).
public struct StripeInvoice: Hashable, Sendable {
    public enum Status: String, Hashable, Sendable {
        case draft, open, paid, void, uncollectible
    }

    public enum CollectionMethod: String, Hashable, Sendable {
        case chargeAutomatically = "charge_automatically"
        case sendInvoice = "send_invoice"
    }

    public var id: String
    public var customer: String
    public var subscription: String?
    public var status: Status
    public var collectionMethod: CollectionMethod
    /// Minor units still to pay (after credit notes and partial payments).
    public var amountRemaining: UInt64
    public var amountDue: UInt64
    public var currency: Currency
    /// Unix seconds; nil for a draft without one, or a `charge_automatically` invoice.
    public var dueDate: UInt64?
    public var created: UInt64
    public var finalizedAt: UInt64?
    public var metadata: [String: String]
    /// Metadata of the subscription, when Stripe included it (`subscription_details.metadata` in newer API versions).
    public var subscriptionMetadata: [String: String]

    /// When the invoice is due for collection: its due date, else when it was finalized, else when it was created.
    public var dueAt: UInt64 { dueDate ?? finalizedAt ?? created }

    /// Reads an invoice object.
    /// - Throws: `BillingError.malformed` naming the field.
    public init(json: JSON) throws(BillingError) {
        func string(_ key: String) throws(BillingError) -> String {
            guard let value = json[key]?.stringValue, !value.isEmpty else { throw BillingError(.malformed, "invoice field \(key) is missing or not a string") }
            return value
        }
        // Stripe's integers (amounts, Unix times) are signed 64-bit, and so is the ledger that stores them: past
        // 2^63 - 1 is malformed, never a trap further on.
        func number(_ key: String) throws(BillingError) -> UInt64 {
            guard let value = json[key]?.int64Value, let number = UInt64(exactly: value) else {
                throw BillingError(.malformed, "invoice field \(key) is missing or not an integer from 0 to 2^63 - 1")
            }
            return number
        }
        func optionalNumber(_ value: JSON?, _ key: String) throws(BillingError) -> UInt64? {
            guard let value, !value.isNull else { return nil }
            guard let signed = value.int64Value, let number = UInt64(exactly: signed) else {
                throw BillingError(.malformed, "invoice field \(key) is not an integer from 0 to 2^63 - 1")
            }
            return number
        }
        // Ids end up in request paths (`/v1/invoices/{id}/pay`, `/v1/customers/{customer}`): only Stripe ids
        // (letters, digits and _) are read; anything else is malformed.
        func stripeID(_ value: String, _ what: String) throws(BillingError) -> String {
            do { return try StripeID.checked(value, what) } catch { throw BillingError(.malformed, "invoice field \(what): \(error.message)") }
        }
        guard json["object"]?.stringValue == "invoice" else { throw BillingError(.malformed, "object is not an invoice") }
        id = try stripeID(try string("id"), "id")
        // `customer` and `subscription` are ids, or expanded objects carrying one.
        guard let customer = json["customer"]?.stringValue ?? json["customer"]?["id"]?.stringValue else {
            throw BillingError(.malformed, "invoice \(id) has no customer")
        }
        self.customer = try stripeID(customer, "customer")
        subscription = try (json["subscription"]?.stringValue ?? json["subscription"]?["id"]?.stringValue
            ?? json["parent"]?["subscription_details"]?["subscription"]?.stringValue).map { (value) throws(BillingError) in try stripeID(value, "subscription") }
        let statusText = try string("status")
        guard let status = Status(rawValue: statusText) else { throw BillingError(.malformed, "invoice \(id) has unknown status \(statusText)") }
        self.status = status
        let method = json["collection_method"]?.stringValue ?? "charge_automatically"
        guard let collectionMethod = CollectionMethod(rawValue: method) else {
            throw BillingError(.malformed, "invoice \(id) has unknown collection_method \(method)")
        }
        self.collectionMethod = collectionMethod
        amountDue = try number("amount_due")
        amountRemaining = try optionalNumber(json["amount_remaining"], "amount_remaining") ?? amountDue
        let code = try string("currency")
        do { currency = try Currency(code: code) } catch { throw BillingError(.malformed, "invoice \(id): \(error)") }
        dueDate = try optionalNumber(json["due_date"], "due_date")
        created = try number("created")
        finalizedAt = try optionalNumber(json["status_transitions"]?["finalized_at"], "status_transitions.finalized_at")
        metadata = Self.strings(json["metadata"])
        subscriptionMetadata = Self.strings(json["subscription_details"]?["metadata"] ?? json["parent"]?["subscription_details"]?["metadata"])
    }

    /// The string members of a metadata object. A key given twice is read as `JSON`'s subscript reads it: the first
    /// one counts (a later duplicate cannot change what Settle reads).
    static func strings(_ json: JSON?) -> [String: String] {
        guard case .object(let members)? = json else { return [:] }
        var out: [String: String] = [:]
        var seen: Set<String> = []
        for member in members where seen.insert(member.key).inserted {
            if let text = member.value.stringValue { out[member.key] = text }
        }
        return out
    }
}
