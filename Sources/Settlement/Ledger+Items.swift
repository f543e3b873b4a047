import Foundation
import SettleCore
import Store

/// What a payment is for when Settle bills by itself (no Stripe): a subscription (every `intervalCount`
/// `intervalUnit`s) or a one-time payment, at a price, in some or all of the configured tokens.
public struct Item: Hashable, Sendable {
    public enum Kind: String, Hashable, Sendable {
        case subscription
        case oneTime = "one_time"
    }

    public var id: String
    public var name: String
    public var kind: Kind
    /// `hour`, `day`, `week`, `month` or `year` (subscriptions only).
    public var intervalUnit: String?
    public var intervalCount: UInt32?
    public var price: Money
    /// The token symbols it may be paid in (upper case); nil: every configured token.
    public var tokens: [String]?
    /// Payments the suggested allowance covers, instead of the interval's default (a spending cap).
    public var allowancePayments: UInt64?
    /// False once disabled: no new agreements; existing ones keep being billed.
    public var active: Bool
    /// Renewals are invoiced at each period's end.
    public var autoInvoicing: Bool
    /// When auto-invoicing was last turned on (its creation if never off).
    public var autoInvoicingSince: UInt64
    public var createdAt: UInt64

    public init(id: String, name: String, kind: Kind, intervalUnit: String?, intervalCount: UInt32?, price: Money, tokens: [String]?,
                allowancePayments: UInt64?, active: Bool = true, autoInvoicing: Bool = true, autoInvoicingSince: UInt64, createdAt: UInt64) {
        self.id = id
        self.name = name
        self.kind = kind
        self.intervalUnit = intervalUnit
        self.intervalCount = intervalCount
        self.price = price
        self.tokens = tokens
        self.allowancePayments = allowancePayments
        self.active = active
        self.autoInvoicing = autoInvoicing
        self.autoInvoicingSince = autoInvoicingSince
        self.createdAt = createdAt
    }
}

/// An agreement on an item: when it started (period 0's start) and the last period invoiced.
public struct ItemSubscription: Hashable, Sendable {
    public var agreement: Int64
    public var item: String
    public var anchor: UInt64
    public var lastPeriod: UInt64

    public init(agreement: Int64, item: String, anchor: UInt64, lastPeriod: UInt64) {
        self.agreement = agreement
        self.item = item
        self.anchor = anchor
        self.lastPeriod = lastPeriod
    }
}

/// An invoice Settle issued for one period of an agreement on an item. Its id is the charge's invoice.
public struct NativeInvoice: Hashable, Sendable {
    public var id: String
    public var agreement: Int64
    public var item: String
    public var period: UInt64
    public var amount: Money
    public var dueAt: UInt64

    /// The prefix of every native invoice id (Stripe's are `in_…`).
    public static let prefix = "sinv_"

    /// The id of period `period` of `agreement`: the same on every daemon and every retry.
    public static func id(agreement: Int64, period: UInt64) -> String { "\(prefix)\(agreement)_\(period)" }

    /// Whether a charge's invoice is one Settle issued (reported to nobody but the merchant's webhooks).
    public static func isNative(_ invoice: String) -> Bool { invoice.hasPrefix(prefix) }
}

extension Ledger {
    static let itemColumns = """
        id, name, kind, interval_unit, interval_count, amount_minor, currency, tokens, allowance_payments, active, auto_invoicing,
        auto_invoicing_since, created_at
        """

    public func createItem(_ item: Item) async throws {
        guard item.price.minorUnits > 0, item.price.minorUnits <= UInt64(Int64.max) else {
            throw LedgerError(.invalidInput, "item \(item.id): the price must be positive and below 2^63")
        }
        try await database.write { db in
            let inserted = try await db.run("""
                INSERT INTO items(\(Self.itemColumns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO NOTHING
                """, [
                    .text(item.id), .text(item.name), .text(item.kind.rawValue), item.intervalUnit.sqlValue,
                    item.intervalCount.map { .integer(Int64($0)) } ?? .null, .integer(Int64(item.price.minorUnits)), .text(item.price.currency.code),
                    item.tokens.map { .text($0.joined(separator: ",")) } ?? .null, item.allowancePayments.map { .integer(Int64(clamping: $0)) } ?? .null,
                    .integer(item.active ? 1 : 0), .integer(item.autoInvoicing ? 1 : 0), .integer(Int64(clamping: item.autoInvoicingSince)),
                    .integer(Int64(clamping: item.createdAt)),
                ])
            guard inserted == 1 else { throw LedgerError(.conflict, "item \(item.id) exists") }
        }
    }

    public func item(id: String) async throws -> Item? {
        try await database.read { db in try await db.row("SELECT \(Self.itemColumns) FROM items WHERE id = ?", [.text(id)]).map(Self.item) }
    }

    public func items() async throws -> [Item] {
        try await database.read { db in try await db.rows("SELECT \(Self.itemColumns) FROM items ORDER BY created_at, id", []).map(Self.item) }
    }

    /// Enables or disables an item (new agreements only; existing ones keep being billed).
    @discardableResult
    public func setItem(_ id: String, active: Bool) async throws -> Bool {
        try await updateItem(id, active: active, autoInvoicing: nil, now: 0) != nil
    }

    /// Turns auto-invoicing on or off. Turned on, it counts from `now`: periods that ended while it was off are not
    /// invoiced (`AutoInvoicing.due`). Turning it on while on changes nothing.
    @discardableResult
    public func setAutoInvoicing(_ id: String, on: Bool, now: UInt64) async throws -> Bool {
        try await updateItem(id, active: nil, autoInvoicing: on, now: now) != nil
    }

    /// Changes whichever of `active` and `autoInvoicing` is given, in one transaction, and answers the item as it is
    /// then; nil when there is no such item (`POST /v1/items/{id}`, `settled items set`).
    public func updateItem(_ id: String, active: Bool?, autoInvoicing: Bool?, now: UInt64) async throws -> Item? {
        try await database.write { db in
            if let active { _ = try await db.run("UPDATE items SET active = ? WHERE id = ?", [.integer(active ? 1 : 0), .text(id)]) }
            if autoInvoicing == true {
                // Turned on again: after the item's creation even within its first second (the auto-invoicer tells a
                // renewal turned on again from one never off by `auto_invoicing_since > created_at`).
                _ = try await db.run("""
                    UPDATE items SET auto_invoicing = 1,
                        auto_invoicing_since = CASE WHEN auto_invoicing = 1 THEN auto_invoicing_since WHEN ? > created_at THEN ? ELSE created_at + 1 END
                    WHERE id = ?
                    """, [.integer(Int64(clamping: now)), .integer(Int64(clamping: now)), .text(id)])
            } else if autoInvoicing == false {
                _ = try await db.run("UPDATE items SET auto_invoicing = 0 WHERE id = ?", [.text(id)])
            }
            return try await db.row("SELECT \(Self.itemColumns) FROM items WHERE id = ?", [.text(id)]).map(Self.item)
        }
    }

    /// Subscribes `agreement` to `item` from `anchor` (period 0, paid at subscription). Once per agreement.
    public func subscribe(agreement: Int64, item: String, anchor: UInt64, now: UInt64) async throws -> ItemSubscription {
        try await database.write { db in
            guard let row = try await db.row("SELECT active FROM items WHERE id = ?", [.text(item)]) else { throw LedgerError(.notFound, "no item \(item)") }
            guard try row.int64(0) == 1 else { throw LedgerError(.conflict, "item \(item) is disabled: it takes no new agreements") }
            _ = try await db.run("""
                INSERT INTO item_subscriptions(agreement, item, anchor, last_period, created_at) VALUES (?, ?, ?, 0, ?) ON CONFLICT(agreement) DO NOTHING
                """, [.integer(agreement), .text(item), .integer(Int64(clamping: anchor)), .integer(Int64(clamping: now))])
            guard let stored = try await Self.subscription(db, agreement: agreement) else { throw LedgerError(.notFound, "no agreement \(agreement)") }
            guard stored.item == item else { throw LedgerError(.conflict, "agreement \(agreement) is already on item \(stored.item)") }
            return stored
        }
    }

    /// Every agreement on a subscription item, with its item: what the auto-invoicer looks at.
    public func itemSubscriptions() async throws -> [(subscription: ItemSubscription, item: Item)] {
        try await database.read { db in
            let columns = Self.itemColumns.split(separator: ",").map { "i." + $0.trimmingCharacters(in: .whitespacesAndNewlines) }.joined(separator: ", ")
            return try await db.rows("""
                SELECT s.agreement, s.item, s.anchor, s.last_period, \(columns) FROM item_subscriptions s JOIN items i ON i.id = s.item
                WHERE i.kind = 'subscription' ORDER BY s.agreement
                """, []).map { row in
                (ItemSubscription(agreement: try row.int64(0), item: try row.text(1), anchor: try row.uint64(2), lastPeriod: try row.uint64(3)),
                 try Self.item(row, offset: 4))
            }
        }
    }

    /// Issues period `period`'s invoice of an agreement on an item, with its charge, in one transaction: once per
    /// agreement and period whatever the number of callers, restarts or daemons (the invoice's UNIQUE (agreement,
    /// period), and its id derived from both). A conflict on either is the same invoice: `ON CONFLICT DO NOTHING` names
    /// no constraint (racing on PostgreSQL, one insert met the id's key first and failed with a duplicate key when
    /// only (agreement, period) was named). The subscription's `last_period` moves forward, never back.
    /// - Returns: the invoice and whether this call issued it.
    public func issueInvoice(agreement: Int64, item: String, period: UInt64, amount: Money, dueAt: UInt64, tokenDecimals: Int, rate: ExchangeRate,
                             rateAt: UInt64, asset: String? = nil, now: UInt64) async throws -> (invoice: NativeInvoice, created: Bool) {
        let id = NativeInvoice.id(agreement: agreement, period: period)
        guard amount.minorUnits > 0 else { throw LedgerError(.invalidInput, "invoice \(id): a charge needs a positive amount") }
        guard period <= UInt64(Int64.max) else { throw LedgerError(.invalidInput, "period \(period) is out of range") }
        let (minorUnits, storedRateAt, storedDue) = try Self.storable(amount: amount, rateAt: rateAt, dueAt: dueAt, invoice: id)
        let tokenAmount = try amount.tokenAmount(decimals: tokenDecimals, rate: rate)
        return try await database.write { db in
            let inserted = try await db.run("""
                INSERT INTO native_invoices(id, agreement, item, period, amount_minor, currency, due_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT DO NOTHING
                """, [.text(id), .integer(agreement), .text(item), .integer(Int64(period)), .integer(minorUnits), .text(amount.currency.code),
                      .integer(storedDue), .integer(Int64(clamping: now))])
            if inserted == 1 {
                _ = try await Self.insertCharge(db, invoice: id, agreement: agreement, amount: amount, minorUnits: minorUnits, tokenAmount: tokenAmount,
                                                tokenDecimals: tokenDecimals, rate: rate, rateAt: storedRateAt, dueAt: storedDue, asset: asset,
                                                treasury: nil, now: now)
                _ = try await db.run("UPDATE item_subscriptions SET last_period = ? WHERE agreement = ? AND last_period < ?",
                                     [.integer(Int64(period)), .integer(agreement), .integer(Int64(period))])
            }
            guard let row = try await db.row("SELECT id, agreement, item, period, amount_minor, currency, due_at FROM native_invoices WHERE agreement = ? AND period = ?",
                                             [.integer(agreement), .integer(Int64(period))]) else {
                throw StoreError(.corruptValue, "native invoice \(id) vanished in its own transaction")
            }
            return (try Self.nativeInvoice(row), inserted == 1)
        }
    }

    /// The invoices issued for an agreement, in period order.
    public func nativeInvoices(agreement: Int64) async throws -> [NativeInvoice] {
        try await database.read { db in
            try await db.rows("SELECT id, agreement, item, period, amount_minor, currency, due_at FROM native_invoices WHERE agreement = ? ORDER BY period",
                              [.integer(agreement)]).map(Self.nativeInvoice)
        }
    }

    /// One invoice of Settle's own billing.
    public func nativeInvoice(id: String) async throws -> NativeInvoice? {
        try await database.read { db in
            try await db.row("SELECT \(Self.nativeInvoiceColumns) FROM native_invoices WHERE id = ?", [.text(id)]).map(Self.nativeInvoice)
        }
    }

    /// Native invoices in (agreement, period) order after the given position: one page of `GET /v1/invoices`.
    public func nativeInvoices(after position: (agreement: Int64, period: UInt64)?, agreement only: Int64? = nil, limit: Int) async throws -> [NativeInvoice] {
        let (agreement, period) = position.map { ($0.agreement, Int64(clamping: $0.period)) } ?? (Int64.min, Int64.min)
        var sql = "SELECT \(Self.nativeInvoiceColumns) FROM native_invoices WHERE (agreement > ? OR (agreement = ? AND period > ?))"
        var values: [SQLValue] = [.integer(agreement), .integer(agreement), .integer(period)]
        if let only {
            sql += " AND agreement = ?"
            values.append(.integer(only))
        }
        values.append(.integer(Int64(max(0, limit))))
        return try await database.read { [sql, values] db in
            try await db.rows(sql + " ORDER BY agreement, period LIMIT ?", values).map(Self.nativeInvoice)
        }
    }

    /// The item an agreement is subscribed to, with its subscription; nil for an agreement billed by Stripe.
    public func itemSubscription(agreement: Int64) async throws -> (subscription: ItemSubscription, item: Item)? {
        try await database.read { db in
            guard let subscription = try await Self.subscription(db, agreement: agreement) else { return nil }
            guard let item = try await db.row("SELECT \(Self.itemColumns) FROM items WHERE id = ?", [.text(subscription.item)]).map(Self.item) else {
                throw StoreError(.corruptValue, "agreement \(agreement) is subscribed to a missing item \(subscription.item)")
            }
            return (subscription, item)
        }
    }

    static let nativeInvoiceColumns = "id, agreement, item, period, amount_minor, currency, due_at"

    static func subscription(_ db: any SQLSession, agreement: Int64) async throws -> ItemSubscription? {
        try await db.row("SELECT agreement, item, anchor, last_period FROM item_subscriptions WHERE agreement = ?", [.integer(agreement)]).map { row in
            ItemSubscription(agreement: try row.int64(0), item: try row.text(1), anchor: try row.uint64(2), lastPeriod: try row.uint64(3))
        }
    }

    static func item(_ row: SQLRow) throws -> Item { try item(row, offset: 0) }

    static func item(_ row: SQLRow, offset o: Int) throws -> Item {
        guard let kind = Item.Kind(rawValue: try row.text(o + 2)) else { throw StoreError(.corruptValue, "item kind '\(try row.text(o + 2))'") }
        let count = row.isNull(o + 4) ? nil : try row.int64(o + 4)
        guard count.map({ (1...Int64(UInt32.max)).contains($0) }) ?? true else { throw StoreError(.corruptValue, "item interval count \(count ?? 0)") }
        let minor = try row.int64(o + 5)
        guard minor > 0 else { throw StoreError(.corruptValue, "item price \(minor)") }
        let currency: Currency
        do { currency = try Currency(code: try row.text(o + 6)) } catch { throw StoreError(.corruptValue, "item currency: \(error)") }
        let payments = row.isNull(o + 8) ? nil : try row.int64(o + 8)
        guard payments.map({ $0 >= 1 }) ?? true else { throw StoreError(.corruptValue, "item allowance payments \(payments ?? 0)") }
        return Item(id: try row.text(o), name: try row.text(o + 1), kind: kind, intervalUnit: try row.optionalText(o + 3), intervalCount: count.map { UInt32($0) },
                    price: Money(minorUnits: UInt64(minor), currency: currency),
                    tokens: try row.optionalText(o + 7).map { $0.split(separator: ",").map(String.init) },
                    allowancePayments: payments.map { UInt64($0) }, active: try row.int64(o + 9) == 1, autoInvoicing: try row.int64(o + 10) == 1,
                    autoInvoicingSince: try row.uint64(o + 11), createdAt: try row.uint64(o + 12))
    }

    static func nativeInvoice(_ row: SQLRow) throws -> NativeInvoice {
        let minor = try row.int64(4)
        guard minor > 0 else { throw StoreError(.corruptValue, "native invoice amount \(minor)") }
        let currency: Currency
        do { currency = try Currency(code: try row.text(5)) } catch { throw StoreError(.corruptValue, "native invoice currency: \(error)") }
        return NativeInvoice(id: try row.text(0), agreement: try row.int64(1), item: try row.text(2), period: try row.uint64(3),
                             amount: Money(minorUnits: UInt64(minor), currency: currency), dueAt: try row.uint64(6))
    }
}
