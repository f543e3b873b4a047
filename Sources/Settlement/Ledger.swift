import Foundation
import SettleCore
import Store

/// The charges ledger in SQLite. Every change is a compare-and-set on the charge's state inside one transaction,
/// with the move recorded in `charge_events`: two executors racing on one charge cannot both move it.
public final class Ledger: Sendable {
    public let database: Database

    public init(database: Database) {
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
            try db.statement("""
                INSERT INTO agreements(customer, subscription, chain, token, wallet, created_at) VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT(customer, subscription, chain) DO NOTHING
                """).run([.text(customer), subscription.map { .text($0) } ?? .null, .text(chain), .text(token), .text(wallet), .integer(Int64(now))])
            let select = try db.statement("""
                SELECT id, token, wallet FROM agreements WHERE customer = ? AND subscription IS ? AND chain = ?
                """)
            select.bind(customer, at: 1)
            if let subscription { select.bind(subscription, at: 2) } else { select.bindNull(at: 2) }
            select.bind(chain, at: 3)
            guard try select.step() else { throw LedgerError(.notFound, "agreement vanished") }
            guard select.text(1) == token, select.text(2) == wallet else {
                throw LedgerError(.conflict, "customer \(customer) already pays on \(chain) with \(select.text(1)) from \(select.text(2))")
            }
            return Agreement(id: select.int64(0), customer: customer, subscription: subscription, chain: chain, token: token, wallet: wallet)
        }
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
            // The agreement's chain, token and wallet are pinned with the charge (copied in the same statement).
            try db.statement("""
                INSERT INTO charges(invoice, agreement, amount_minor, currency, token_amount, token_decimals, rate, rate_at, due_at,
                                    state, created_at, updated_at, pay_chain, pay_token, pay_wallet, pay_asset, pay_treasury)
                SELECT ?, a.id, ?, ?, ?, ?, ?, ?, ?, 'ingested', ?, ?, a.chain, a.token, a.wallet, ?, ? FROM agreements a WHERE a.id = ?
                ON CONFLICT(invoice) DO NOTHING
                """).run([
                    .text(invoice), .integer(minorUnits), .text(amount.currency.code),
                    .blob(tokenAmount.baseUnits.bigEndianBytes), .integer(Int64(tokenDecimals)), .text(rate.description),
                    .integer(rateAt), .integer(dueAt), .integer(Int64(clamping: now)), .integer(Int64(clamping: now)),
                    asset.map { .text($0) } ?? .null, treasury.map { .text($0) } ?? .null, .integer(agreement),
                ])
            let created = db.changes == 1
            guard let charge = try Self.charge(db, invoice: invoice) else { throw LedgerError(.notFound, "no agreement \(agreement) for invoice \(invoice)") }
            if !created, charge.agreement != agreement || charge.amount != amount {
                throw LedgerError(.conflict, "invoice \(invoice) is already charged as \(charge.amount) on agreement \(charge.agreement)")
            }
            return (charge, created)
        }
    }

    /// Moves a charge from `from` to `to` if — and only if — it is still in `from` (compare-and-set).
    /// - Returns: false when another writer moved it first (nothing changed).
    /// - Throws: `LedgerError.invalidTransition` for a move the state machine forbids.
    @discardableResult
    public func transition(_ charge: Int64, from: ChargeState, to: ChargeState, reason: String? = nil, nextAttemptAt: UInt64? = nil,
                           now: UInt64 = UInt64(Date().timeIntervalSince1970)) async throws -> Bool {
        try await database.write { db in
            try Self.move(db, charge, from: from, to: to, reason: reason, nextAttemptAt: nextAttemptAt, now: now)
        }
    }

    /// What the chain said about attempts and what it means for their charge, written in ONE transaction: attempt
    /// outcomes first, then each compare-and-set move in order (a move whose `from` no longer holds is skipped). A kill
    /// can never leave an attempt's outcome recorded without its charge's move, which would strand the charge.
    public func record(_ outcomes: [(attempt: Int64, outcome: Attempt.Outcome, block: UInt64?)], charge: Int64,
                       moves: [(from: ChargeState, to: ChargeState)], reason: String? = nil, nextAttemptAt: UInt64? = nil,
                       now: UInt64 = UInt64(Date().timeIntervalSince1970)) async throws {
        try await database.write { db in  // a forbidden move throws, and the whole transaction rolls back
            for item in outcomes { try Self.setOutcome(db, item.attempt, item.outcome, block: item.block) }
            for move in moves {
                try Self.move(db, charge, from: move.from, to: move.to, reason: reason, nextAttemptAt: nextAttemptAt, now: now)
            }
        }
    }

    /// The compare-and-set move with its event row, inside the caller's transaction.
    @discardableResult
    static func move(_ db: SQLiteConnection, _ charge: Int64, from: ChargeState, to: ChargeState, reason: String?,
                             nextAttemptAt: UInt64?, now: UInt64) throws -> Bool {
        guard from.successors.contains(to) else {
            throw LedgerError(.invalidTransition, "a charge cannot go from \(from.rawValue) to \(to.rawValue)")
        }
        try db.statement("""
            UPDATE charges SET state = ?, reason = ?, next_attempt_at = ?, updated_at = ? WHERE id = ? AND state = ?
            """).run([.text(to.rawValue), reason.map { .text($0) } ?? .null, nextAttemptAt.map { .integer(Int64($0)) } ?? .null,
                      .integer(Int64(now)), .integer(charge), .text(from.rawValue)])
        guard db.changes == 1 else { return false }
        try db.statement("INSERT INTO charge_events(charge, at, from_state, to_state, reason) VALUES (?, ?, ?, ?, ?)")
            .run([.integer(charge), .integer(Int64(now)), .text(from.rawValue), .text(to.rawValue), reason.map { .text($0) } ?? .null])
        return true
    }

    /// The charge with this id, or nil.
    public func charge(id: Int64) async throws -> Charge? {
        try await database.read { db in
            let select = try db.statement("SELECT \(Self.columns) FROM charges WHERE id = ?")
            select.bind(id, at: 1)
            return try select.step() ? try Self.row(select) : nil
        }
    }

    /// The agreement with this id, or nil.
    public func agreement(id: Int64) async throws -> Agreement? {
        try await database.read { db in
            let select = try db.statement("SELECT customer, subscription, chain, token, wallet FROM agreements WHERE id = ?")
            select.bind(id, at: 1)
            guard try select.step() else { return nil }
            return Agreement(id: id, customer: select.text(0), subscription: select.isNull(1) ? nil : select.text(1),
                             chain: select.text(2), token: select.text(3), wallet: select.text(4))
        }
    }

    /// The charge of an invoice, or nil.
    public func charge(invoice: String) async throws -> Charge? {
        try await database.read { db in try Self.charge(db, invoice: invoice) }
    }

    /// Charges in `states`, oldest due first; `dueBy` keeps those due (or retrying) at or before it.
    public func charges(in states: Set<ChargeState>, dueBy: UInt64? = nil) async throws -> [Charge] {
        try await database.read { db in
            let list = states.map(\.rawValue).sorted()
            let select = try db.statement("""
                SELECT \(Self.columns) FROM charges WHERE state IN (\(list.map { _ in "?" }.joined(separator: ", ")))
                AND (? IS NULL OR coalesce(next_attempt_at, due_at) <= ?) ORDER BY due_at, id
                """)
            for (i, state) in list.enumerated() { select.bind(state, at: Int32(i + 1)) }
            let n = Int32(list.count)
            if let dueBy { select.bind(Int64(dueBy), at: n + 1); select.bind(Int64(dueBy), at: n + 2) } else {
                select.bindNull(at: n + 1)
                select.bindNull(at: n + 2)
            }
            var out: [Charge] = []
            while try select.step() { out.append(try Self.row(select)) }
            return out
        }
    }

    /// The state moves of a charge, oldest first.
    public func history(_ charge: Int64) async throws -> [(from: ChargeState, to: ChargeState, reason: String?)] {
        try await database.read { db in
            let select = try db.statement("SELECT from_state, to_state, reason FROM charge_events WHERE charge = ? ORDER BY rowid")
            select.bind(charge, at: 1)
            var out: [(ChargeState, ChargeState, String?)] = []
            while try select.step() {
                guard let from = ChargeState(rawValue: select.text(0)), let to = ChargeState(rawValue: select.text(1)) else {
                    throw StoreError(.corruptValue, "charge event with an unknown state")
                }
                out.append((from, to, select.isNull(2) ? nil : select.text(2)))
            }
            return out
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

    static func charge(_ db: SQLiteConnection, invoice: String) throws -> Charge? {
        let select = try db.statement("SELECT \(columns) FROM charges WHERE invoice = ?")
        select.bind(invoice, at: 1)
        return try select.step() ? try row(select) : nil
    }

    static func row(_ select: SQLiteStatement) throws -> Charge {
        guard let state = ChargeState(rawValue: select.text(10)) else { throw StoreError(.corruptValue, "charge state \(select.text(10))") }
        // A damaged or hand-edited file is a corrupt value, never a trap (negative numbers, decimals past the schema's).
        let decimals = select.int(6)
        guard (0...77).contains(decimals) else { throw StoreError(.corruptValue, "charge token decimals \(decimals)") }
        return Charge(
            id: select.int64(0), invoice: select.text(1), agreement: select.int64(2),
            amount: Money(minorUnits: try select.uint64(3), currency: try Currency(code: select.text(4))),
            tokenAmount: TokenAmount(baseUnits: try UInt256(bigEndian: select.blob(5)), decimals: decimals),
            rate: try ExchangeRate(decimal: select.text(7)), rateAt: try select.uint64(8), dueAt: try select.uint64(9),
            state: state, reason: select.isNull(11) ? nil : select.text(11),
            nextAttemptAt: try select.optionalUInt64(12),
            terms: ChargeTerms(chain: select.text(13), token: select.text(14), wallet: select.text(15),
                               asset: select.isNull(16) ? nil : select.text(16), treasury: select.isNull(17) ? nil : select.text(17)))
    }
}

extension Ledger {
    /// The schema this build migrates to: module name and latest version (for `settled doctor`).
    public static var schema: (module: String, version: Int) { (LedgerSchema.module, LedgerSchema.migrations.count) }
}
