import Logging
import Settlement
import SettleCore

/// What both executors do with `ChargeLifecycle`'s `record` and `alert` actions: write the change (with the retry
/// time a move to `awaiting_funds` needs), pass the `after_record` crash point, and log what happened. The
/// family-specific actions (`send`, `replace`) stay in the executors.
struct LifecycleEffects: Sendable {
    let ledger: Ledger
    let chain: String
    let logger: Logger

    /// When a charge that waits now is looked at again: the i-th wait of a charge uses entry i of `schedule`, the last
    /// repeats (from the chain file's `[settlement] retry_seconds`).
    func nextAttempt(_ charge: Charge, now: UInt64, schedule: [UInt64]) async throws -> UInt64 {
        let waits = try await ledger.history(charge.id).filter { $0.to == .awaitingFunds }.count
        let wait = schedule.isEmpty ? 600 : schedule[min(waits, schedule.count - 1)]
        return now.addingReportingOverflow(wait).overflow ? .max : now + wait
    }

    /// A due charge that cannot be pulled now waits with `reason` on the retry schedule; nothing is sent (no fee).
    func wait(_ charge: Charge, reason: String, detail: String? = nil, now: UInt64, schedule: [UInt64]) async throws {
        if let detail {
            logger.warning("the pull cannot succeed now; the charge waits for the cause to clear", metadata: [
                "chain": "\(chain)", "invoice.id": "\(charge.invoice)", "reason": "\(reason)", "detail": "\(detail)",
            ])
        }
        try await ledger.transition(charge.id, from: .due, to: .awaitingFunds, reason: reason,
                                    nextAttemptAt: try await nextAttempt(charge, now: now, schedule: schedule), now: now)
    }

    func record(_ change: LedgerChange, charge: Charge, now: UInt64, schedule: [UInt64]) async throws {
        let retryAt = change.move?.to == .awaitingFunds ? try await nextAttempt(charge, now: now, schedule: schedule) : nil
        try await ledger.apply(change, charge: charge.id, nextAttemptAt: retryAt, now: now)
        CrashPoint.reach(.afterRecord)
        if let move = change.move {
            logger.info("payment moved", metadata: [
                "chain": "\(chain)", "invoice.id": "\(charge.invoice)", "from": "\(move.from.rawValue)", "to": "\(move.to.rawValue)",
                "reason": "\(change.reason ?? "")",
            ])
        }
    }

    func report(_ alert: LifecycleAlert, charge: Charge) {
        switch alert {
        case .unknown(let reason):
            logger.critical("payment state unknown: no node proves whether the transaction landed; it is never signed again by itself — inspect the chain", metadata: [
                "chain": "\(chain)", "invoice.id": "\(charge.invoice)", "reason": "\(reason)",
            ])
        case .paidAfterCancel:
            logger.critical("a payment landed for an invoice whose cancellation was requested: refund or re-open it", metadata: [
                "chain": "\(chain)", "invoice.id": "\(charge.invoice)",
            ])
        case .mismatch:
            logger.critical("the final transfer did not deliver exactly the charge's amount: mismatch, Stripe left unpaid", metadata: [
                "chain": "\(chain)", "invoice.id": "\(charge.invoice)",
            ])
        }
    }
}
