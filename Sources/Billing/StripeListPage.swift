import SettleCore

/// One page of a Stripe list endpoint (`{"object": "list", "data": [...], "has_more": …}`).
public struct StripeListPage: Hashable, Sendable {
    public var objects: [JSON]
    /// The id to pass as `starting_after` for the next page; nil on the last page.
    public var nextAfter: String?

    /// Reads a page.
    /// - Throws: `StripeError` (type `malformed`) when `data` is not an array.
    public init(json page: JSON) throws(StripeError) {
        guard let data = page["data"]?.arrayValue else {
            throw StripeError(status: 200, type: "malformed", message: "list response without data")
        }
        objects = data
        nextAfter = page["has_more"]?.boolValue == true ? data.last?["id"]?.stringValue : nil
    }
}
