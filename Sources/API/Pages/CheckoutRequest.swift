import Billing
import Foundation
import SettleCore
import Settlement

/// The body of `POST /v1/checkout_sessions`, checked, then completed from Stripe (what is bought: the price's amount,
/// currency, interval and product name) and stored with the session, so the page never asks Stripe to render.
///
/// ```json
/// {"customer": "cus_…", "subscription": "sub_…", "upgrade": "price_…", "price": "price_…",
///  "chains": ["base"], "tokens": ["USDC"], "pay_invoice_immediately": true,
///  "success_url": "https://merchant.example/thanks", "expires_in": 3600, "days_until_due": 0}
/// ```
/// `customer` is required, and either `subscription` (switched to Settle, optionally to the `upgrade` price), `price`
/// (a new Stripe subscription) or `item` (one of Settle's own items, `/v1/items`: a subscription renewed by Settle, or
/// a one-time payment; its first payment is taken in the checkout). Chains and tokens default to every configured
/// one; an item's `tokens`, or a Stripe price's `settle_tokens` metadata ("USDC,USDT"), narrow them.
struct CheckoutRequest: Hashable, Sendable {
    static let fields: Set<String> = ["customer", "subscription", "upgrade", "price", "item", "chains", "tokens", "pay_invoice_immediately",
                                      "success_url", "expires_in", "days_until_due"]

    struct Plan: Hashable, Sendable {
        var name: String
        /// Minor units of `currency` per payment.
        var amount: UInt64
        var currency: String
        var interval: String
        var intervalCount: UInt64
    }

    var customer: String
    var subscription: String?
    var upgrade: String?
    var price: String?
    /// Accepted chains and tokens (upper case); every configured one when the merchant named none.
    var chains: [String]
    var tokens: [String]
    var payNow: Bool
    var successURL: String?
    var lifetime: UInt64
    var daysUntilDue: UInt64
    /// One of Settle's own items (`/v1/items`) instead of a Stripe subscription or price.
    var nativeItem: String?
    /// Filled by `resolve`: what is bought, and the subscription item an upgrade replaces.
    var plan = Plan(name: "", amount: 0, currency: "usd", interval: "month", intervalCount: 1)
    var item: String?
    /// Filled by `resolve` for an item with its own spending cap: the payments one suggested allowance covers.
    var allowancePayments: UInt64?
    /// Whether the merchant named the tokens (then the item or price may not narrow them silently).
    var tokensNamed = false

    /// Checks the merchant's body. - Throws: `APIError` 400 naming the field, 404 for a chain not configured.
    init(body bytes: [UInt8], configured: [String: any ChainView]) throws(APIError) {
        let body: JSON
        do { body = try JSON(parsing: bytes) } catch { throw .badRequest("the body is not JSON: \(error)") }
        guard case .object(let members) = body else { throw .badRequest("the body must be a JSON object") }
        var seen = Set<String>()
        for (key, _) in members where !seen.insert(key).inserted { throw .badRequest("field '\(key)' appears twice (send each field once)") }
        if let unknown = members.first(where: { !Self.fields.contains($0.key) }) {
            throw .badRequest("unknown field '\(unknown.key)' (fields: \(Self.fields.sorted().joined(separator: ", ")))")
        }
        func string(_ name: String) throws(APIError) -> String? {
            guard let value = body[name], !value.isNull else { return nil }
            guard let text = value.stringValue, !text.isEmpty, text.utf8.count <= 2_048 else {
                throw .badRequest("field '\(name)' must be a non-empty string")
            }
            return text
        }
        func stripeID(_ name: String) throws(APIError) -> String? {
            guard let text = try string(name) else { return nil }
            do { return try StripeID.checked(text, "\(name) id") } catch { throw .badRequest("field '\(name)': \(error.message)") }
        }
        func strings(_ name: String) throws(APIError) -> [String]? {
            guard let value = body[name], !value.isNull else { return nil }
            guard let list = value.arrayValue, !list.isEmpty, list.count <= 64 else { throw .badRequest("field '\(name)' must be a non-empty list of strings") }
            var out: [String] = []
            for element in list {
                guard let text = element.stringValue, !text.isEmpty, text.utf8.count <= 64 else { throw .badRequest("field '\(name)' must be a list of non-empty strings") }
                out.append(text)
            }
            return out
        }
        func unsigned(_ name: String, _ range: ClosedRange<UInt64>, _ fallback: UInt64) throws(APIError) -> UInt64 {
            guard let value = body[name], !value.isNull else { return fallback }
            guard case .number(let text) = value, let number = UInt64(text), range.contains(number) else {
                throw .badRequest("field '\(name)' must be a whole number from \(range.lowerBound) to \(range.upperBound)")
            }
            return number
        }
        guard let customer = try stripeID("customer") else { throw .badRequest("field 'customer' is required") }
        self.customer = customer
        subscription = try stripeID("subscription")
        upgrade = try stripeID("upgrade")
        price = try stripeID("price")
        if let item = try string("item") {
            guard item.hasPrefix("item_"), item.utf8.count <= 64 else { throw .badRequest("field 'item' must be an item id (item_…, see /v1/items)") }
            guard subscription == nil, price == nil, upgrade == nil else {
                throw .badRequest("'item' is one of Settle's own items: give it without 'subscription', 'price' or 'upgrade'")
            }
            nativeItem = item
        }
        switch (subscription, price) {
        case (nil, nil) where nativeItem == nil:
            throw .badRequest("give 'subscription' (to switch it to Settle), 'price' (to subscribe the customer) or 'item' (one of Settle's own)")
        case (.some, .some): throw .badRequest("give 'subscription' or 'price', not both")
        case (nil, .some) where upgrade != nil: throw .badRequest("'upgrade' changes an existing 'subscription'; for a new one give 'price' alone")
        default: break
        }
        let names = try strings("chains") ?? configured.keys.sorted()
        for name in names where configured[name] == nil {
            throw APIError.notFound("chain '\(name)' is not configured (chains: \(configured.keys.sorted().joined(separator: ", ")))")
        }
        chains = names
        let allTokens = Set(names.flatMap { configured[$0]?.tokens.map(\.symbol) ?? [] })
        let asked = try strings("tokens")?.map { $0.uppercased() }
        if let asked, let missing = asked.first(where: { !allTokens.contains($0) }) {
            throw .badRequest("token '\(missing)' is not on any of the chains \(names.joined(separator: ", ")) (tokens: \(allTokens.sorted().joined(separator: ", ")))")
        }
        tokens = asked ?? allTokens.sorted()
        tokensNamed = asked != nil
        if let value = body["pay_invoice_immediately"], !value.isNull {
            guard case .bool(let flag) = value else { throw .badRequest("field 'pay_invoice_immediately' must be true or false") }
            guard nativeItem == nil || flag else { throw .badRequest("an item's first payment is taken in the checkout: 'pay_invoice_immediately' cannot be false") }
            payNow = flag
        } else {
            payNow = nativeItem != nil
        }
        successURL = try string("success_url")
        if let url = successURL {
            guard let parsed = URL(string: url), let scheme = parsed.scheme?.lowercased(), scheme == "https" || (scheme == "http" && ["127.0.0.1", "localhost"].contains(parsed.host ?? "")),
                  parsed.host?.isEmpty == false else {
                throw .badRequest("field 'success_url' must be an https URL (http only to 127.0.0.1 or localhost)")
            }
        }
        lifetime = try unsigned("expires_in", 5...CheckoutService.maximumLifetime, CheckoutService.defaultLifetime)
        daysUntilDue = try unsigned("days_until_due", 0...365, 0)
    }

    /// Reads what `resolve` stored.
    init(stored bytes: [UInt8]) throws {
        let json = try JSON(parsing: bytes)
        func text(_ key: String) -> String? { json[key]?.stringValue }
        func number(_ key: String) -> UInt64? { json[key]?.stringValue.flatMap { UInt64($0) } ?? (json[key].flatMap { if case .number(let n) = $0 { UInt64(n) } else { nil } }) }
        guard let customer = text("customer"), let plan = json["plan"], let name = plan["name"]?.stringValue, let currency = plan["currency"]?.stringValue,
              let interval = plan["interval"]?.stringValue, case .number(let amountText)? = plan["amount"], let amount = UInt64(amountText),
              case .number(let countText)? = plan["interval_count"], let count = UInt64(countText) else {
            throw APIError(.internalServerError, "internal", "a stored checkout session cannot be read")
        }
        self.customer = customer
        subscription = text("subscription")
        upgrade = text("upgrade")
        price = text("price")
        chains = (json["chains"]?.arrayValue ?? []).compactMap(\.stringValue)
        tokens = (json["tokens"]?.arrayValue ?? []).compactMap(\.stringValue)
        payNow = json["pay_invoice_immediately"] == .bool(true)
        successURL = text("success_url")
        lifetime = number("expires_in") ?? CheckoutService.defaultLifetime
        daysUntilDue = number("days_until_due") ?? 0
        self.plan = Plan(name: name, amount: amount, currency: currency, interval: interval, intervalCount: count)
        item = text("item")
        nativeItem = text("native_item")
        allowancePayments = number("allowance_payments")
    }

    var json: JSON {
        func text(_ value: String?) -> JSON { value.map { .string($0) } ?? .null }
        return ["customer": .string(customer), "subscription": text(subscription), "upgrade": text(upgrade), "price": text(price),
                "chains": .array(chains.map { .string($0) }), "tokens": .array(tokens.map { .string($0) }), "pay_invoice_immediately": .bool(payNow),
                "success_url": text(successURL), "expires_in": .number(String(lifetime)), "days_until_due": .number(String(daysUntilDue)),
                "item": text(item), "native_item": text(nativeItem), "allowance_payments": allowancePayments.map { .number(String($0)) } ?? .null,
                "plan": ["name": .string(plan.name), "amount": .number(String(plan.amount)), "currency": .string(plan.currency),
                         "interval": .string(plan.interval), "interval_count": .number(String(plan.intervalCount))]]
    }

    /// What is bought: one of Settle's items from the ledger, else from Stripe (checking the ids name this customer's
    /// objects). The item's accepted tokens, or the Stripe price's `settle_tokens`, narrow the session's tokens.
    mutating func resolve(stripe: StripeClient, ledger: Ledger) async throws {
        if let nativeItem {
            guard let item = try await ledger.item(id: nativeItem) else { throw APIError.notFound("no item '\(nativeItem)' (see /v1/items)") }
            guard item.active else { throw APIError.conflict("item \(item.id) is disabled: it takes no new checkouts") }
            plan = Plan(name: item.name, amount: item.price.minorUnits, currency: item.price.currency.code.lowercased(),
                        interval: item.kind == .oneTime ? Self.oneTime : item.intervalUnit ?? "month", intervalCount: UInt64(item.intervalCount ?? 1))
            allowancePayments = item.allowancePayments
            try narrow(to: item.tokens, by: "item \(item.id)")
            return
        }
        guard stripe.isConfigured else {
            throw APIError.conflict("no Stripe account is configured here: a checkout names one of Settle's own items ('item')")
        }
        do {
            let customer = try await stripe.get("/v1/customers/\(self.customer)")
            guard customer["deleted"] != .bool(true) else { throw APIError.notFound("customer \(self.customer) is deleted in Stripe") }
            var priceID = price ?? upgrade
            if let subscription {
                let object = try await stripe.get("/v1/subscriptions/\(subscription)")
                guard object["customer"]?.stringValue == self.customer else {
                    throw APIError.badRequest("subscription \(subscription) is not customer \(self.customer)'s")
                }
                guard let first = object["items"]?["data"]?.arrayValue?.first else { throw APIError.conflict("subscription \(subscription) has no item") }
                item = first["id"]?.stringValue
                if priceID == nil { priceID = first["price"]?["id"]?.stringValue ?? first["plan"]?["id"]?.stringValue }
            }
            guard let priceID else { throw APIError.conflict("no price to show") }
            let price = try await stripe.get("/v1/prices/\(priceID)", ["expand": ["product"]])
            guard case .number(let amountText)? = price["unit_amount"], let amount = UInt64(amountText), amount > 0 else {
                throw APIError.conflict("price \(priceID) has no positive unit_amount: a checkout collects a paid price")
            }
            guard let currency = price["currency"]?.stringValue, let recurring = price["recurring"], let interval = recurring["interval"]?.stringValue,
                  ["day", "week", "month", "year"].contains(interval) else {
                throw APIError.conflict("price \(priceID) is not a recurring price with a day, week, month or year interval")
            }
            var count: UInt64 = 1
            if case .number(let text)? = recurring["interval_count"], let number = UInt64(text), number > 0 { count = number }
            let name = price["product"]?["name"]?.stringValue ?? price["nickname"]?.stringValue ?? priceID
            plan = Plan(name: name, amount: amount, currency: currency, interval: interval, intervalCount: count)
            try narrow(to: ItemBilling.tokens(metadata: price["metadata"]?["settle_tokens"]?.stringValue), by: "price \(priceID) (settle_tokens)")
        } catch let error as StripeError {
            if error.status == 404 { throw APIError.notFound("Stripe does not know it: \(error)") }
            throw APIError(.badGateway, "stripe_unavailable", "Stripe could not be read: \(error)")
        }
    }

    /// The plan's interval for a one-time item.
    static let oneTime = "one_time"

    /// Narrows the session's tokens to those `accepted` (nil: all). A token the merchant named that is not accepted is
    /// a 400; nothing left is a 409.
    mutating func narrow(to accepted: [String]?, by what: String) throws(APIError) {
        guard let accepted else { return }
        let allowed = Set(accepted.map { $0.uppercased() })
        if tokensNamed, let refused = tokens.first(where: { !allowed.contains($0) }) {
            throw .badRequest("token '\(refused)' is not accepted by \(what) (accepted: \(accepted.joined(separator: ", ")))")
        }
        tokens = tokens.filter { allowed.contains($0) }
        guard !tokens.isEmpty else {
            throw .conflict("\(what) accepts \(accepted.joined(separator: ", ")), none of which is configured on \(chains.joined(separator: ", "))")
        }
    }

    /// A chain this session accepts.
    func chain(_ name: String, in configured: [String: any ChainView]) throws(APIError) -> any ChainView {
        guard chains.contains(name), let chain = configured[name] else {
            throw .badRequest("chain '\(name)' is not accepted here (chains: \(chains.joined(separator: ", ")))")
        }
        return chain
    }

    /// A token this session accepts.
    func check(token: String) throws(APIError) {
        guard tokens.contains(token.uppercased()) else { throw .badRequest("token '\(token)' is not accepted here (tokens: \(tokens.joined(separator: ", ")))") }
    }
}
