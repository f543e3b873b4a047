import SettleCore
import Settlement

/// Which period of an agreement on an item the merchant may have invoiced on request (`POST /v1/invoices`), pure.
/// The auto-invoicer never back-fills periods that ended while auto-invoicing was off; the merchant asks for such a
/// period explicitly, and only for one that has begun (later ones are the scheduler's, at their boundary).
public enum InvoiceOnRequest {
    public enum Verdict: Hashable, Sendable {
        /// Issue the period's invoice, due at its start (in the past for a back-filled period: charged at once).
        case issue(dueAt: UInt64)
        case refuse(String)
    }

    public static func decide(kind: Item.Kind, anchor: UInt64, interval: BillingInterval?, period: UInt64, now: UInt64) -> Verdict {
        guard period > 0 else { return .issue(dueAt: anchor) }
        guard kind == .subscription, let interval else { return .refuse("a one-time item has one invoice (period 0)") }
        guard let start = BillingCalendar.boundary(anchor: anchor, interval: interval, index: period) else {
            return .refuse("period \(period) is past the calendar's range (year 9999)")
        }
        guard start <= now else { return .refuse("period \(period) starts at \(start): the auto-invoicer issues it then, not before") }
        return .issue(dueAt: start)
    }
}

extension Item {
    /// The item's renewal period; nil for a one-time item (or an interval this build cannot read).
    public var billingInterval: BillingInterval? {
        guard kind == .subscription, let unit = intervalUnit.flatMap(BillingInterval.Unit.init(rawValue:)) else { return nil }
        return try? BillingInterval(unit, count: intervalCount ?? 1)
    }
}

/// Subscribing agreements to items and issuing their invoices, shared by `POST /v1/agreements`, checkout and
/// `POST /v1/invoices`: each invoice goes through `Ledger.issueInvoice` (once per agreement and period), priced in the
/// agreement's token at today's rate.
public struct ItemBilling: Sendable {
    public let ledger: Ledger
    /// How a price becomes a token amount on a chain (decimals and today's rate).
    public let pricing: @Sendable (_ chain: String) -> Ledger.Pricing

    public init(ledger: Ledger, pricing: @escaping @Sendable (_ chain: String) -> Ledger.Pricing) {
        self.ledger = ledger
        self.pricing = pricing
    }

    /// The tokens of those `offered` (a chain's, or a checkout's) that a `restriction` (an item's `tokens`, a Stripe
    /// price's `settle_tokens`) accepts, upper case, in the offered order; every offered one when there is none.
    public static func accepted(restriction: [String]?, offered: [String]) -> [String] {
        guard let restriction else { return offered.map { $0.uppercased() } }
        let allowed = Set(restriction.map { $0.uppercased() })
        return offered.map { $0.uppercased() }.filter { allowed.contains($0) }
    }

    /// Parses a Stripe `settle_tokens` metadata value ("USDC, USDT" or "usdc,usdt"): upper-case symbols, nil when
    /// absent or empty (every token accepted).
    public static func tokens(metadata value: String?) -> [String]? {
        guard let value else { return nil }
        let symbols = value.split(whereSeparator: { $0 == "," || $0 == " " }).map { $0.uppercased() }
        return symbols.isEmpty ? nil : symbols
    }

    /// Subscribes `agreement` to `item` from `start` (now when nil) and issues period 0's invoice, due then. Once:
    /// calling again names the same subscription and invoice.
    /// - Throws: `LedgerError` `.conflict` for a disabled item or an agreement on another item, `.invalidInput` when
    ///   the item's currency cannot be priced in the agreement's token.
    public func subscribe(_ agreement: Agreement, to item: Item, start: UInt64? = nil, now: UInt64) async throws -> NativeInvoice {
        let subscription = try await ledger.subscribe(agreement: agreement.id, item: item.id, anchor: start ?? now, now: now)
        return try await issue(agreement, item: item, period: 0, dueAt: subscription.anchor, now: now).invoice
    }

    /// Whether a subscription to `item` may be dated from `start` at `now`: not in the future, and begun at most two
    /// periods ago (a subscriber moved to Settle mid-period; the periods begun since are invoiced, period 0 at once and
    /// period 1 by the scheduler), never for a one-time item. Nil when it may; else why not.
    public static func refusal(start: UInt64, item: Item, now: UInt64) -> String? {
        guard start <= now else { return "'starts_at' is in the future" }
        guard let interval = item.billingInterval else { return "'starts_at' dates a subscription; item \(item.id) is a one-time payment" }
        guard let second = BillingCalendar.boundary(anchor: start, interval: interval, index: 2), second > now else {
            return "'starts_at' may be at most two periods (\(interval)) ago"
        }
        return nil
    }

    /// Issues one period of an agreement on an item on the merchant's request (`POST /v1/invoices`, `settled invoices
    /// issue`), as `InvoiceOnRequest` allows it.
    /// - Throws: `LedgerError` `.notFound` (no agreement), `.conflict` (on no item, or a period not to be issued now),
    ///   `.invalidInput` (not priceable).
    public func issueOnRequest(agreement id: Int64, period: UInt64, now: UInt64) async throws -> (invoice: NativeInvoice, created: Bool) {
        guard let agreement = try await ledger.agreement(id: id) else { throw LedgerError(.notFound, "no agreement \(id)") }
        guard let (subscription, item) = try await ledger.itemSubscription(agreement: id) else {
            throw LedgerError(.conflict, "agreement \(id) is on no item: its invoices come from Stripe")
        }
        switch InvoiceOnRequest.decide(kind: item.kind, anchor: subscription.anchor, interval: item.billingInterval, period: period, now: now) {
        case .refuse(let why):
            throw LedgerError(.conflict, why)
        case .issue(let dueAt):
            return try await issue(agreement, item: item, period: period, dueAt: dueAt, now: now)
        }
    }

    /// Issues `period`'s invoice of `agreement` on `item`, due at `dueAt` (once per agreement and period).
    public func issue(_ agreement: Agreement, item: Item, period: UInt64, dueAt: UInt64, now: UInt64) async throws -> (invoice: NativeInvoice, created: Bool) {
        let priced: (decimals: Int, rate: ExchangeRate, rateAt: UInt64, asset: String?)
        do { priced = try pricing(agreement.chain)(agreement.token, item.price.currency) } catch {
            throw LedgerError(.invalidInput, "\(item.price.currency.code) cannot be priced in \(agreement.token) on \(agreement.chain): \(error)")
        }
        return try await ledger.issueInvoice(agreement: agreement.id, item: item.id, period: period, amount: item.price, dueAt: dueAt,
                                             tokenDecimals: priced.decimals, rate: priced.rate, rateAt: priced.rateAt, asset: priced.asset, now: now)
    }
}
