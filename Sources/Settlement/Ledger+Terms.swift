import Foundation
import SettleCore
import Store

extension Ledger {
    /// States in which no transaction of the charge exists that could still land: its terms may change and it may be
    /// cancelled without leaving money in flight.
    public static let quiescentStates: Set<ChargeState> = [.ingested, .due, .awaitingFunds]

    /// Changes what a charge asks for (the invoice's amount or due date changed in billing), only while no transaction
    /// of it could land. The change is recorded in the charge's history.
    /// - Returns: false when the charge has moved on (a transaction exists), so the terms were left as they were.
    /// - Throws: `LedgerError.invalidInput` for a zero amount or a rate that overflows.
    @discardableResult
    public func updateTerms(_ charge: Charge, amount: Money, tokenDecimals: Int, rate: ExchangeRate, rateAt: UInt64, dueAt: UInt64,
                            now: UInt64 = UInt64(Date().timeIntervalSince1970)) async throws -> Bool {
        guard amount.minorUnits > 0 else { throw LedgerError(.invalidInput, "invoice \(charge.invoice): a charge needs a positive amount") }
        let (minorUnits, storedRateAt, storedDueAt) = try Self.storable(amount: amount, rateAt: rateAt, dueAt: dueAt, invoice: charge.invoice)
        let tokenAmount = try amount.tokenAmount(decimals: tokenDecimals, rate: rate)
        let note = "terms: \(charge.amount.minorUnits)→\(amount.minorUnits) \(amount.currency.code), due \(charge.dueAt)→\(dueAt)"
        return try await database.write { db in
            let states = Self.quiescentStates.map { "'\($0.rawValue)'" }.sorted().joined(separator: ", ")
            guard let updated = try await db.row("""
                UPDATE charges SET amount_minor = ?, currency = ?, token_amount = ?, token_decimals = ?, rate = ?, rate_at = ?, due_at = ?,
                updated_at = ? WHERE id = ? AND state IN (\(states)) RETURNING state
                """, [
                    .integer(minorUnits), .text(amount.currency.code), .blob(tokenAmount.baseUnits.bigEndianBytes),
                    .integer(Int64(tokenDecimals)), .text(rate.description), .integer(storedRateAt), .integer(storedDueAt),
                    .integer(Int64(clamping: now)), .integer(charge.id),
                ]) else { return false }
            let current = try updated.text(0)
            try await Self.event(db, charge.id, from: current, to: current, reason: note, now: now)
            return true
        }
    }

    /// Cancels a charge because billing no longer wants it (invoice voided, uncollectible, or paid elsewhere). With no
    /// transaction that could land, it is `cancelled` at once; with one in flight (signed, broadcast, included or
    /// unknown) it becomes `cancel_requested`: `ChargeLifecycle` makes it `cancelled` once every attempt is proven
    /// dead, or `settled` (and the merchant is told) if one lands. Signed bytes may already sit in a node's pool.
    /// - Returns: the state the charge is left in: `cancelled`, `cancel_requested`, or the final state that kept it.
    @discardableResult
    public func cancel(_ charge: Int64, reason: String, now: UInt64 = UInt64(Date().timeIntervalSince1970)) async throws -> ChargeState {
        for _ in 0..<4 {  // a concurrent move between the read and the compare-and-set: read again
            guard let current = try await self.charge(id: charge) else { throw LedgerError(.notFound, "no charge \(charge)") }
            let target: ChargeState
            if Self.quiescentStates.contains(current.state) {
                target = .cancelled
            } else if current.state.hasLiveAttempt, current.state != .cancelRequested {
                target = .cancelRequested
            } else {
                return current.state
            }
            if try await transition(charge, from: current.state, to: target, reason: reason, now: now) { return target }
        }
        throw LedgerError(.conflict, "charge \(charge) kept moving while being cancelled")
    }

    /// Makes a charge that waits for funds due at once (a manual retry after the customer topped up or raised the
    /// allowance). A charge not yet due, already due, or in flight is left alone.
    /// - Returns: the charge's state afterwards.
    @discardableResult
    public func retryNow(_ charge: Int64, now: UInt64 = UInt64(Date().timeIntervalSince1970)) async throws -> ChargeState {
        guard let current = try await self.charge(id: charge) else { throw LedgerError(.notFound, "no charge \(charge)") }
        guard current.state == .awaitingFunds else { return current.state }
        if try await transition(charge, from: .awaitingFunds, to: .due, reason: "manual retry", now: now) { return .due }
        return try await self.charge(id: charge)?.state ?? current.state
    }

    /// The attempt whose transfer settled the charge (the included one), or nil.
    public func settlingAttempt(charge: Int64) async throws -> Attempt? {
        try await attempts(charge: charge).last { $0.outcome == .included }
    }
}

extension Ledger {
    /// How a charge is priced in a token: its decimals and the rate from the invoice's currency (with when the rate
    /// was taken). Given by billing, which knows the chain files and the rates.
    public typealias Pricing = @Sendable (_ token: String, _ currency: Currency) throws -> (decimals: Int, rate: ExchangeRate, rateAt: UInt64, asset: String?)

    /// Records who pays with which wallet, replacing the token and wallet when billing changed them (the customer
    /// moved to another wallet or token). In the same transaction, every charge of the agreement with no transaction
    /// that could land (`ingested`, `due`, `awaiting_funds`) is re-pinned to the new wallet and, for a new token,
    /// re-priced with `pricing` (the new token's decimals and rate); each change is a charge event naming old and new
    /// terms. Charges in flight keep what they pinned. Without `pricing`, a token change leaves those charges on the
    /// token they were priced in (recorded as such).
    public func upsertAgreement(customer: String, subscription: String?, chain: String, token: String, wallet: String,
                                pricing: Pricing? = nil, now: UInt64 = UInt64(Date().timeIntervalSince1970)) async throws -> Agreement {
        try await database.write { db in
            if let row = try await Self.agreementRow(db, customer: customer, subscription: subscription, chain: chain) {
                let id = try row.int64(0)
                guard try row.text(1) != token || row.text(2) != wallet else {
                    return Agreement(id: id, customer: customer, subscription: subscription, chain: chain, token: token, wallet: wallet)
                }
                try await db.run("UPDATE agreements SET token = ?, wallet = ? WHERE id = ?", [.text(token), .text(wallet), .integer(id)])
                try await Self.repin(db, agreement: id, token: token, wallet: wallet, pricing: pricing, now: now)
                return Agreement(id: id, customer: customer, subscription: subscription, chain: chain, token: token, wallet: wallet)
            }
            guard let inserted = try await db.row("""
                INSERT INTO agreements(customer, subscription, chain, token, wallet, created_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING id
                """, [.text(customer), subscription.sqlValue, .text(chain), .text(token), .text(wallet), .unsigned(now)]) else {
                throw StoreError(.corruptValue, "an inserted agreement returned no id")
            }
            return Agreement(id: try inserted.int64(0), customer: customer, subscription: subscription, chain: chain, token: token, wallet: wallet)
        }
    }

    /// Re-pins (and re-prices) the agreement's charges with no live transaction, inside the caller's transaction.
    private static func repin(_ db: any SQLSession, agreement: Int64, token: String, wallet: String, pricing: Pricing?, now: UInt64) async throws {
        let states = quiescentStates.map { "'\($0.rawValue)'" }.sorted().joined(separator: ", ")
        let charges = try await db.rows("SELECT \(columns) FROM charges WHERE agreement = ? AND state IN (\(states)) ORDER BY id\(db.forUpdate)",
                                        [.integer(agreement)]).map(charge)
        for charge in charges {
            var newToken = charge.terms.token
            var asset = charge.terms.asset
            var amount = charge.tokenAmount
            var rate = charge.rate
            var rateAt = charge.rateAt
            var note = "terms: wallet \(charge.terms.wallet) → \(wallet)"
            if token != charge.terms.token {
                if let pricing {
                    let priced = try pricing(token, charge.amount.currency)
                    amount = try charge.amount.tokenAmount(decimals: priced.decimals, rate: priced.rate)
                    (newToken, rate, rateAt, asset) = (token, priced.rate, priced.rateAt, priced.asset)
                    note += "; token \(charge.terms.token) (\(charge.tokenAmount.decimals) decimals, \(charge.tokenAmount.baseUnits)) → \(token) (\(amount.decimals) decimals, \(amount.baseUnits))"
                } else {
                    note += "; token kept \(charge.terms.token) (the new token \(token) could not be priced here)"
                }
            }
            try await db.run("""
                UPDATE charges SET pay_token = ?, pay_wallet = ?, pay_asset = ?, token_amount = ?, token_decimals = ?, rate = ?, rate_at = ?,
                updated_at = ? WHERE id = ? AND state IN (\(states))
                """, [
                    .text(newToken), .text(wallet), asset.map { .text($0) } ?? .null, .blob(amount.baseUnits.bigEndianBytes), .integer(Int64(amount.decimals)), .text(rate.description),
                    .integer(Int64(clamping: rateAt)), .integer(Int64(clamping: now)), .integer(charge.id),
                ])
            try await event(db, charge.id, from: charge.state.rawValue, to: charge.state.rawValue, reason: note, now: now)
        }
    }

    /// Every agreement, oldest first.
    public func agreements() async throws -> [Agreement] {
        try await database.read { db in
            try await db.rows("SELECT id, customer, subscription, chain, token, wallet FROM agreements ORDER BY id", []).map(Self.agreement)
        }
    }

    /// One customer's agreements (unique per customer, subscription and chain: an index serves this).
    public func agreements(customer: String) async throws -> [Agreement] {
        try await database.read { db in
            try await db.rows("SELECT id, customer, subscription, chain, token, wallet FROM agreements WHERE customer = ? ORDER BY id",
                              [.text(customer)]).map(Self.agreement)
        }
    }
}

extension Ledger {
    /// When the charge last moved to `state` (Unix seconds), or nil if it never did. Stable once written: requests
    /// built from it are the same on every retry.
    public func lastMove(_ charge: Int64, to state: ChargeState) async throws -> UInt64? {
        try await database.read { db in
            try await db.row("SELECT max(at) FROM charge_events WHERE charge = ? AND to_state = ? AND from_state != to_state",
                             [.integer(charge), .text(state.rawValue)])?.optionalUInt64(0)
        }
    }
}
