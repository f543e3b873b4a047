import Billing
import SettleCore

/// The body of `POST /v1/agreements`: `{"customer", "subscription"?, "chain", "token", "wallet"}`, each a non-empty
/// string; any other member is refused. Chain, token and wallet are checked against the configured chains by the
/// route.
struct AgreementRequest: Hashable, Sendable {
    static let fields: Set<String> = ["customer", "subscription", "chain", "token", "wallet", "item", "starts_at"]

    var customer: String
    var subscription: String?
    var chain: String
    var token: String
    var wallet: String
    /// An item of Settle's own billing the agreement subscribes to (`/v1/items`).
    var item: String?
    /// When the subscription to `item` began (Unix seconds); now when absent. Checked against the item by the route.
    var startsAt: UInt64?

    /// - Throws: `APIError` 400 naming the field.
    init(body bytes: [UInt8]) throws(APIError) {
        let body: JSON
        do { body = try JSON(parsing: bytes) } catch { throw .badRequest("the body is not JSON: \(error)") }
        guard case .object(let members) = body else { throw .badRequest("the body must be a JSON object") }
        var seen = Set<String>()
        for (key, _) in members where !seen.insert(key).inserted {
            throw .badRequest("field '\(key)' appears twice (send each field once)")
        }
        if let unknown = members.first(where: { !Self.fields.contains($0.key) }) {
            throw .badRequest("unknown field '\(unknown.key)' (fields: \(Self.fields.sorted().joined(separator: ", ")))")
        }
        func field(_ name: String) throws(APIError) -> String? {
            guard let value = body[name], !value.isNull else { return nil }
            guard let text = value.stringValue, !text.isEmpty else { throw .badRequest("field '\(name)' must be a non-empty string") }
            return text
        }
        func required(_ name: String) throws(APIError) -> String {
            guard let text = try field(name) else { throw .badRequest("field '\(name)' is required") }
            return text
        }
        // Stripe ids: what Stripe would never have named is refused, not stored (billing matches agreements by them).
        func stripeID(_ name: String, _ text: String?) throws(APIError) -> String? {
            guard let text else { return nil }
            do { return try StripeID.checked(text, "\(name) id") } catch { throw .badRequest("field '\(name)': \(error.message)") }
        }
        customer = try stripeID("customer", try required("customer")) ?? ""
        chain = try required("chain")
        token = try required("token")
        wallet = try required("wallet")
        subscription = try stripeID("subscription", try field("subscription"))
        item = try field("item")
        if let value = body["starts_at"], !value.isNull {
            guard item != nil else { throw .badRequest("'starts_at' goes with 'item' (when the subscription to it began)") }
            guard case .number(let text) = value, let seconds = UInt64(text), seconds <= UInt64(Int64.max) else {
                throw .badRequest("'starts_at' must be a time in Unix seconds")
            }
            startsAt = seconds
        }
    }
}
