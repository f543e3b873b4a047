/// A Stripe object id as it may appear in a request path: letters, digits and `_`, at most 255 characters. Ids
/// from outside (an operator's `{invoice}`, a webhook) are checked before they become part of a URL path, so
/// `in_1/../../customers` or `in_1?expand=…` can never address another resource.
public enum StripeID {
    /// The id itself, or `BillingError.invalidInput` naming the field.
    public static func checked(_ id: String, _ what: String = "invoice id") throws(BillingError) -> String {
        guard !id.isEmpty, id.utf8.count <= 255,
              id.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) || $0 == 0x5F }) else {
            throw BillingError(.invalidInput, "'\(id.prefix(80))' is not a Stripe \(what) (letters, digits and _ only, at most 255)")
        }
        return id
    }
}
