import Foundation
import SettleCore
import Store

/// When the merchant hears about a payment that cannot be collected, and when Settle stops trying.
///
/// Keys (`[dunning]` in the main config): `missed_after` (default 300 s after the due time), `late_after` (600 s),
/// `uncollectible_after` (7 days). How often a short charge is re-checked is the chain file's
/// `[settlement] retry_seconds` (default every 600 s).
public struct DunningPolicy: Hashable, Sendable {
    public var missedAfter: UInt64
    public var lateAfter: UInt64
    /// Seconds past the due time after which a charge still short of funds becomes uncollectible (the auto-cancel
    /// window); nil never gives up.
    public var uncollectibleAfter: UInt64?

    public init(missedAfter: UInt64 = 300, lateAfter: UInt64 = 600, uncollectibleAfter: UInt64? = 7 * 86_400) {
        self.missedAfter = missedAfter
        self.lateAfter = lateAfter
        self.uncollectibleAfter = uncollectibleAfter
    }
}

/// Turns what happens to charges into merchant webhooks in the outbox, each exactly once:
/// - from the ledger's history (each row marked noticed in the same transaction as the rows it writes):
///   `payment.succeeded` when a charge settles, `payment.failed` when a pull reverts, `invoice.uncollectible`,
///   `action.required` when a charge becomes `unknown` or lands after its cancellation was requested,
///   `payment.mismatch` when the final transfer delivered something else than the charge's amount;
/// - from open chain alerts (`nonce_divergence`): `action.required` once per alert;
/// - from the clock: `payment.missed` at due + 5 min and `payment.late` at due + 10 min for a charge still waiting
///   for funds, with the reason (low balance, low allowance, or both); past the auto-cancel window the charge
///   becomes uncollectible.
public struct Dunning: Sendable {
    public let ledger: Ledger
    public let policy: DunningPolicy

    public init(ledger: Ledger, policy: DunningPolicy = DunningPolicy()) {
        self.ledger = ledger
        self.policy = policy
    }

    /// What one pass did.
    public struct Report: Hashable, Sendable {
        public var enqueued = 0
        public var uncollectible = 0
    }

    /// Runs one pass at `now`: due notices first (so a charge that crosses the auto-cancel window in one step still
    /// gets its missed and late notices, in order), then the uncollectible moves, then the ledger's history.
    @discardableResult
    public func runOnce(now: UInt64) async throws -> Report {
        var report = Report()
        let policy = policy
        report.enqueued += try await ledger.database.write { db in
            var enqueued = 0
            for (kind, after, event) in [("missed", policy.missedAfter, MerchantEvent.paymentMissed), ("late", policy.lateAfter, .paymentLate)] {
                // A notice is decided once per invoice and kind (`notices`' key): a second daemon's insert finds it.
                let due = try await db.rows("""
                    SELECT \(Self.columns) FROM charges c JOIN agreements a ON a.id = c.agreement
                    WHERE c.state = 'awaiting_funds' AND c.due_at <= ? ORDER BY c.id
                    """, [.integer(Int64(clamping: now) - Int64(clamping: after))])
                for row in due {
                    let invoice = try row.text(0)
                    guard try await Outbox.noteOnce(db, invoice: invoice, kind: kind, now: now) else { continue }
                    if try await Outbox.enqueue(db, eventID: "evt_settle_\(invoice)_\(kind)", type: event, invoice: invoice,
                                                data: try Self.data(row, reason: try row.optionalText(10)), now: now) { enqueued += 1 }
                }
            }
            return enqueued
        }
        if let window = policy.uncollectibleAfter {
            for charge in try await ledger.charges(in: [.awaitingFunds]) where charge.dueAt + window <= now {
                if try await ledger.transition(charge.id, from: .awaitingFunds, to: .uncollectible,
                                               reason: "no funds \(window / 86_400) days past due (\(charge.reason ?? "short"))", now: now) {
                    report.uncollectible += 1
                }
            }
        }
        report.enqueued += try await ledger.database.write { db in try await Self.fromHistory(db, now: now) }
        for alert in try await ledger.openAlerts() {
            let data: JSON = ["chain": .string(alert.chain), "signer": .string(alert.signer), "reason": .string(alert.kind.rawValue),
                              "detail": .string(alert.detail)]
            if try await ledger.database.write({ db in
                try await Outbox.enqueue(db, eventID: "evt_settle_alert_\(alert.id)", type: .actionRequired, invoice: nil, data: data, now: now)
            }) {
                report.enqueued += 1
            }
        }
        return report
    }

    static let columns = """
        c.invoice, a.customer, a.subscription, c.pay_chain, c.pay_token, c.pay_wallet, c.amount_minor, c.currency, c.token_amount, c.token_decimals, c.reason,
        c.due_at, c.id
        """

    /// The `data` of a merchant event about a charge, from a row of `columns`.
    static func data(_ row: SQLRow, reason: String?, txHash: String? = nil) throws -> JSON {
        let tokenAmount = (try? UInt256(bigEndian: try row.blob(8)))?.description ?? "0"
        var members: [(key: String, value: JSON)] = [
            ("invoice", .string(try row.text(0))), ("customer", .string(try row.text(1))),
            ("subscription", try row.optionalText(2).map { .string($0) } ?? .null), ("chain", .string(try row.text(3))),
            ("token", .string(try row.text(4))), ("wallet", .string(try row.text(5))), ("amount", .number(String(try row.int64(6)))),
            ("currency", .string(try row.text(7).lowercased())), ("token_amount", .string(tokenAmount)),
            ("token_decimals", .number(String(try row.int64(9)))), ("due_at", .number(String(try row.int64(11)))),
        ]
        if let reason {
            members.append(("reason", .string(reason)))
            members.append(("reasons", .array(reason.split(separator: "+").map { .string(String($0)) })))
        }
        if let txHash { members.append(("tx_hash", .string(txHash))) }
        return .object(members)
    }

    /// Reads the ledger's history rows not yet noticed and enqueues what they mean, marking them noticed in the same
    /// transaction. On PostgreSQL the rows are claimed (`SKIP LOCKED`): two daemons never read the same row, and a
    /// row committed late (ids are not committed in order) is still read, unlike with a cursor over ids.
    private static func fromHistory(_ db: any SQLSession, now: UInt64) async throws -> Int {
        let lock = db.backend == .postgres ? " FOR UPDATE OF e SKIP LOCKED" : ""
        let rows = try await db.rows("""
            SELECT \(columns), e.id, e.from_state, e.to_state, e.reason FROM charge_events e
            JOIN charges c ON c.id = e.charge JOIN agreements a ON a.id = c.agreement
            WHERE e.noticed IS NULL ORDER BY e.id LIMIT 1000\(lock)
            """, [])
        var pending: [(eventID: String, type: MerchantEvent, invoice: String, data: JSON)] = []
        func settlingHash(_ charge: Int64) async throws -> String? {
            try await db.row("SELECT tx_id FROM attempts WHERE charge = ? AND outcome = 'included' ORDER BY sequence DESC LIMIT 1",
                             [.integer(charge)])?.text(0)
        }
        for row in rows {
            let last = try row.int64(13)
            let invoice = try row.text(0)
            let from = try row.text(14), to = try row.text(15)
            let reason = try row.optionalText(16)
            switch (from, to) {
            case (_, ChargeState.settled.rawValue) where from != to:
                let hash = try await settlingHash(try row.int64(12))
                pending.append(("evt_settle_\(invoice)_succeeded", .paymentSucceeded, invoice, try data(row, reason: nil, txHash: hash)))
                if from == ChargeState.cancelRequested.rawValue {
                    pending.append(("evt_settle_\(invoice)_paid_after_cancel", .actionRequired, invoice,
                                    try data(row, reason: "paid_after_cancel: the payment landed after the invoice was closed; refund or re-open it",
                                             txHash: hash)))
                }
            case (let from, ChargeState.awaitingFunds.rawValue) where ChargeState(rawValue: from)?.hasLiveAttempt == true:
                pending.append(("evt_settle_\(invoice)_failed_\(last)", .paymentFailed, invoice, try data(row, reason: reason)))
            case (_, ChargeState.reversed.rawValue) where from != to:
                let hash = try await settlingHash(try row.int64(12))
                pending.append(("evt_settle_\(invoice)_reversed_\(last)", .paymentReversed, invoice, try data(row, reason: reason, txHash: hash)))
            case (_, ChargeState.mismatch.rawValue) where from != to:
                let hash = try await settlingHash(try row.int64(12))
                pending.append(("evt_settle_\(invoice)_mismatch", .paymentMismatch, invoice, try data(row, reason: reason, txHash: hash)))
            case (_, ChargeState.unknown.rawValue) where from != to:
                pending.append(("evt_settle_\(invoice)_unknown_\(last)", .actionRequired, invoice,
                                try data(row, reason: "unknown: no node proves whether the payment transaction landed; inspect the chain")))
            case (_, ChargeState.uncollectible.rawValue) where from != to:
                pending.append(("evt_settle_\(invoice)_uncollectible", .invoiceUncollectible, invoice, try data(row, reason: reason)))
            default:
                break
            }
        }
        var enqueued = 0
        for item in pending where try await Outbox.enqueue(db, eventID: item.eventID, type: item.type, invoice: item.invoice, data: item.data, now: now) {
            enqueued += 1
        }
        for row in rows {
            try await db.run("UPDATE charge_events SET noticed = ? WHERE id = ?", [.unsigned(now), .integer(try row.int64(13))])
        }
        return enqueued
    }
}
