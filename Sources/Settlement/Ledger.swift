import Foundation
import SettleCore
import Store

/// The charges ledger, on SQLite or PostgreSQL (`SQLStore`). Every change is a compare-and-set on the charge's state
/// inside one transaction, with the move recorded in `charge_events`: two executors racing on one charge (in one
/// daemon or in two) cannot both move it.
public final class Ledger: Sendable {
    public let database: any SQLStore

    public init(database: any SQLStore) {
        self.database = database
    }

    public func migrate() async throws {
        try await database.migrate(module: LedgerSchema.module, LedgerSchema.migrations)
    }

    /// Records who pays with which wallet; the same terms again return the same agreement.
    /// - Throws: `LedgerError.conflict` when the customer already has an agreement on the chain with other terms.
    public func agreement(customer: String, subscription: String?, chain: String, token: String, wallet: String,
                          now: UInt64 = UInt64(Date().timeIntervalSince1970)) async throws -> Agreement {
        try await database.write { db in
            try await db.run("""
                INSERT INTO agreements(customer, subscription, chain, token, wallet, created_at) VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT(customer, subscription, chain) DO NOTHING
                """, [.text(customer), subscription.sqlValue, .text(chain), .text(token), .text(wallet), .integer(Int64(clamping: now))])
            guard let row = try await Self.agreementRow(db, customer: customer, subscription: subscription, chain: chain) else {
                throw LedgerError(.notFound, "agreement vanished")
            }
            guard try row.text(1) == token, try row.text(2) == wallet else {
                throw LedgerError(.conflict, "customer \(customer) already pays on \(chain) with \(try row.text(1)) from \(try row.text(2))")
            }
            return Agreement(id: try row.int64(0), customer: customer, subscription: subscription, chain: chain, token: token, wallet: wallet)
        }
    }

    /// `id, token, wallet` of the agreement of a customer (and subscription, or none) on a chain, locked for the
    /// transaction on PostgreSQL.
    static func agreementRow(_ db: any SQLSession, customer: String, subscription: String?, chain: String) async throws -> SQLRow? {
        if let subscription {
            return try await db.row("SELECT id, token, wallet FROM agreements WHERE customer = ? AND subscription = ? AND chain = ?\(db.forUpdate)",
                                    [.text(customer), .text(subscription), .text(chain)])
        }
        return try await db.row("SELECT id, token, wallet FROM agreements WHERE customer = ? AND subscription IS NULL AND chain = ?\(db.forUpdate)",
                                [.text(customer), .text(chain)])
    }

    /// Creates the charge for an invoice, or returns the existing one when the same invoice arrives again (duplicate
    /// webhooks, restarts, two creators racing): one row per invoice, always.
    /// - Throws: `LedgerError.conflict` when the invoice exists with another amount, currency or agreement.
    public func createCharge(invoice: String, agreement: Int64, amount: Money, tokenDecimals: Int, rate: ExchangeRate,
                             rateAt: UInt64, dueAt: UInt64, asset: String? = nil, treasury: String? = nil,
                             now: UInt64 = UInt64(Date().timeIntervalSince1970)) async throws -> (charge: Charge, created: Bool) {
        guard amount.minorUnits > 0 else { throw LedgerError(.invalidInput, "invoice \(invoice): a charge needs a positive amount") }
        let (minorUnits, rateAt, dueAt) = try Self.storable(amount: amount, rateAt: rateAt, dueAt: dueAt, invoice: invoice)
        let tokenAmount = try amount.tokenAmount(decimals: tokenDecimals, rate: rate)
        return try await database.write { db in
            try await Self.insertCharge(db, invoice: invoice, agreement: agreement, amount: amount, minorUnits: minorUnits, tokenAmount: tokenAmount,
                                        tokenDecimals: tokenDecimals, rate: rate, rateAt: rateAt, dueAt: dueAt, asset: asset, treasury: treasury, now: now)
        }
    }

    /// `createCharge` inside the caller's transaction (a native invoice and its charge commit together).
    static func insertCharge(_ db: any SQLSession, invoice: String, agreement: Int64, amount: Money, minorUnits: Int64, tokenAmount: TokenAmount,
                             tokenDecimals: Int, rate: ExchangeRate, rateAt: Int64, dueAt: Int64, asset: String?, treasury: String?,
                             now: UInt64) async throws -> (charge: Charge, created: Bool) {
        // The agreement's chain, token and wallet are pinned with the charge (copied in the same statement).
        let inserted = try await db.run("""
            INSERT INTO charges(invoice, agreement, amount_minor, currency, token_amount, token_decimals, rate, rate_at, due_at,
                                state, created_at, updated_at, pay_chain, pay_token, pay_wallet, pay_asset, pay_treasury)
            SELECT ?, a.id, ?, ?, ?, ?, ?, ?, ?, 'ingested', ?, ?, a.chain, a.token, a.wallet, ?, ? FROM agreements a WHERE a.id = ?
            ON CONFLICT(invoice) DO NOTHING
            """, [
                .text(invoice), .integer(minorUnits), .text(amount.currency.code),
                .blob(tokenAmount.baseUnits.bigEndianBytes), .integer(Int64(tokenDecimals)), .text(rate.description),
                .integer(rateAt), .integer(dueAt), .integer(Int64(clamping: now)), .integer(Int64(clamping: now)),
                asset.sqlValue, treasury.sqlValue, .integer(agreement),
            ])
        let created = inserted == 1
        guard let charge = try await Self.charge(db, invoice: invoice) else { throw LedgerError(.notFound, "no agreement \(agreement) for invoice \(invoice)") }
        if !created, charge.agreement != agreement || charge.amount != amount {
            throw LedgerError(.conflict, "invoice \(invoice) is already charged as \(charge.amount) on agreement \(charge.agreement)")
        }
        return (charge, created)
    }

    /// Moves a charge from `from` to `to` if — and only if — it is still in `from` (compare-and-set).
    /// - Returns: false when another writer moved it first (nothing changed).
    /// - Throws: `LedgerError.invalidTransition` for a move the state machine forbids.
    @discardableResult
    public func transition(_ charge: Int64, from: ChargeState, to: ChargeState, reason: String? = nil, nextAttemptAt: UInt64? = nil,
                           now: UInt64 = UInt64(Date().timeIntervalSince1970)) async throws -> Bool {
        try await database.write { db in
            try await Self.move(db, charge, from: from, to: to, reason: reason, nextAttemptAt: nextAttemptAt, now: now)
        }
    }

    /// What the chain said about attempts and what it means for their charge, written in ONE transaction: attempt
    /// outcomes first, then each compare-and-set move in order (a move whose `from` no longer holds is skipped). A kill
    /// can never leave an attempt's outcome recorded without its charge's move, which would strand the charge.
    public func record(_ outcomes: [(attempt: Int64, outcome: Attempt.Outcome, block: UInt64?)], charge: Int64,
                       moves: [(from: ChargeState, to: ChargeState)], reason: String? = nil, nextAttemptAt: UInt64? = nil,
                       now: UInt64 = UInt64(Date().timeIntervalSince1970)) async throws {
        try await database.write { db in  // a forbidden move throws, and the whole transaction rolls back
            for item in outcomes { try await Self.setOutcome(db, item.attempt, item.outcome, block: item.block) }
            for move in moves {
                try await Self.move(db, charge, from: move.from, to: move.to, reason: reason, nextAttemptAt: nextAttemptAt, now: now)
            }
        }
    }

    /// The compare-and-set move with its event row, inside the caller's transaction.
    @discardableResult
    static func move(_ db: any SQLSession, _ charge: Int64, from: ChargeState, to: ChargeState, reason: String?,
                     nextAttemptAt: UInt64?, now: UInt64) async throws -> Bool {
        guard from.successors.contains(to) else {
            throw LedgerError(.invalidTransition, "a charge cannot go from \(from.rawValue) to \(to.rawValue)")
        }
        let moved = try await db.run("""
            UPDATE charges SET state = ?, reason = ?, next_attempt_at = ?, updated_at = ? WHERE id = ? AND state = ?
            """, [.text(to.rawValue), reason.sqlValue, .unsigned(nextAttemptAt), .integer(Int64(clamping: now)), .integer(charge), .text(from.rawValue)])
        guard moved == 1 else { return false }
        try await event(db, charge, from: from.rawValue, to: to.rawValue, reason: reason, now: now)
        return true
    }

    /// A row of the charge's history, inside the caller's transaction.
    static func event(_ db: any SQLSession, _ charge: Int64, from: String, to: String, reason: String?, now: UInt64) async throws {
        try await db.run("INSERT INTO charge_events(charge, at, from_state, to_state, reason) VALUES (?, ?, ?, ?, ?)",
                         [.integer(charge), .integer(Int64(clamping: now)), .text(from), .text(to), reason.sqlValue])
    }

    /// The charge with this id, or nil.
    public func charge(id: Int64) async throws -> Charge? {
        try await database.read { db in try await db.row("SELECT \(Self.columns) FROM charges WHERE id = ?", [.integer(id)]).map(Self.charge) }
    }

    /// The agreement with this id, or nil.
    public func agreement(id: Int64) async throws -> Agreement? {
        try await database.read { db in
            try await db.row("SELECT id, customer, subscription, chain, token, wallet FROM agreements WHERE id = ?", [.integer(id)]).map(Self.agreement)
        }
    }

    /// The charge of an invoice, or nil.
    public func charge(invoice: String) async throws -> Charge? {
        try await database.read { db in try await Self.charge(db, invoice: invoice) }
    }

    /// Charges in `states`, oldest due first; `dueBy` keeps those due (or retrying) at or before it.
    public func charges(in states: Set<ChargeState>, dueBy: UInt64? = nil) async throws -> [Charge] {
        let list = states.map(\.rawValue).sorted()
        guard !list.isEmpty else { return [] }
        var values: [SQLValue] = list.map { .text($0) }
        var condition = "state IN (\(list.map { _ in "?" }.joined(separator: ", ")))"
        if let dueBy {
            condition += " AND coalesce(next_attempt_at, due_at) <= ?"
            values.append(.integer(Int64(clamping: dueBy)))
        }
        return try await database.read { [values, condition] db in
            try await db.rows("SELECT \(Self.columns) FROM charges WHERE \(condition) ORDER BY due_at, id", values).map(Self.charge)
        }
    }

    /// The charges of one agreement, newest first (at most `limit`).
    public func charges(agreement: Int64, limit: Int = 50) async throws -> [Charge] {
        try await database.read { db in
            try await db.rows("SELECT \(Self.columns) FROM charges WHERE agreement = ? ORDER BY id DESC LIMIT ?",
                              [.integer(agreement), .integer(Int64(max(1, min(limit, 1_000))))]).map(Self.charge)
        }
    }

    /// The state moves of a charge, oldest first.
    public func history(_ charge: Int64) async throws -> [(from: ChargeState, to: ChargeState, reason: String?)] {
        try await database.read { db in
            try await db.rows("SELECT from_state, to_state, reason FROM charge_events WHERE charge = ? ORDER BY id", [.integer(charge)]).map { row in
                guard let from = ChargeState(rawValue: try row.text(0)), let to = ChargeState(rawValue: try row.text(1)) else {
                    throw StoreError(.corruptValue, "charge event with an unknown state")
                }
                return (from, to, try row.optionalText(2))
            }
        }
    }

    /// A charge's amount and times as the ledger stores them (SQLite's signed 64-bit integers). They come from Stripe
    /// and the rate provider: past 2^63 - 1 is refused, never a trap.
    static func storable(amount: Money, rateAt: UInt64, dueAt: UInt64, invoice: String) throws(LedgerError) -> (Int64, Int64, Int64) {
        guard let minorUnits = Int64(exactly: amount.minorUnits) else {
            throw LedgerError(.invalidInput, "invoice \(invoice): \(amount.minorUnits) minor units do not fit the ledger")
        }
        guard let rateAt = Int64(exactly: rateAt), let dueAt = Int64(exactly: dueAt) else {
            throw LedgerError(.invalidInput, "invoice \(invoice): a rate time of \(rateAt) or due time of \(dueAt) does not fit the ledger")
        }
        return (minorUnits, rateAt, dueAt)
    }

    // MARK: - Rows

    static let columns = """
        id, invoice, agreement, amount_minor, currency, token_amount, token_decimals, rate, rate_at, due_at, state, reason, next_attempt_at,
        pay_chain, pay_token, pay_wallet, pay_asset, pay_treasury
        """

    static func charge(_ db: any SQLSession, invoice: String) async throws -> Charge? {
        try await db.row("SELECT \(columns) FROM charges WHERE invoice = ?", [.text(invoice)]).map(charge)
    }

    /// A charge from a row of `columns`. A damaged or hand-edited database is a corrupt value, never a trap
    /// (negative numbers, decimals past the schema's).
    static func charge(_ row: SQLRow) throws -> Charge {
        guard let state = ChargeState(rawValue: try row.text(10)) else { throw StoreError(.corruptValue, "charge state \(try row.text(10))") }
        let decimals = try row.int(6)
        guard (0...77).contains(decimals) else { throw StoreError(.corruptValue, "charge token decimals \(decimals)") }
        return Charge(
            id: try row.int64(0), invoice: try row.text(1), agreement: try row.int64(2),
            amount: Money(minorUnits: try row.uint64(3), currency: try Currency(code: try row.text(4))),
            tokenAmount: TokenAmount(baseUnits: try UInt256(bigEndian: try row.blob(5)), decimals: decimals),
            rate: try ExchangeRate(decimal: try row.text(7)), rateAt: try row.uint64(8), dueAt: try row.uint64(9),
            state: state, reason: try row.optionalText(11),
            nextAttemptAt: try row.optionalUInt64(12),
            terms: ChargeTerms(chain: try row.text(13), token: try row.text(14), wallet: try row.text(15),
                               asset: try row.optionalText(16), treasury: try row.optionalText(17)))
    }

    /// An agreement from `id, customer, subscription, chain, token, wallet`.
    static func agreement(_ row: SQLRow) throws -> Agreement {
        Agreement(id: try row.int64(0), customer: try row.text(1), subscription: try row.optionalText(2),
                  chain: try row.text(3), token: try row.text(4), wallet: try row.text(5))
    }
}

extension Ledger {
    /// The schema this build migrates to: module name and latest version (for `settled doctor`).
    public static func schema(_ backend: SQLBackend) -> (module: String, version: Int) {
        (LedgerSchema.module, LedgerSchema.migrations.list(backend).count)
    }
}
