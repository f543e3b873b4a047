import Foundation
import SettleCore
import Settlement
import Store
import TestSupport
import Testing
import Synchronization

/// A ledger and outbox in one temporary database, with one agreement and helpers to place charges in states.
struct NotifyFixture {
    let ledger: Ledger
    let outbox: Outbox
    let agreement: Agreement

    static func make(_ backend: SQLBackend = .sqlite) async throws -> NotifyFixture {
        let database = try await TestDatabases.fresh(backend, "notify")
        let ledger = Ledger(database: database)
        try await ledger.migrate()
        let outbox = Outbox(database: database)
        try await outbox.migrate()
        let agreement = try await ledger.agreement(customer: "cus_1", subscription: "sub_1", chain: "base", token: "USDC", wallet: "0xabc")
        return NotifyFixture(ledger: ledger, outbox: outbox, agreement: agreement)
    }

    /// A charge due at `dueAt`, moved to awaiting_funds for `reason`.
    func shortCharge(_ invoice: String, dueAt: UInt64, reason: String) async throws -> Charge {
        let charge = try await ledger.createCharge(invoice: invoice, agreement: agreement.id, amount: Money(minorUnits: 2500, currency: try Currency(code: "usd")),
                                                   tokenDecimals: 6, rate: .parity, rateAt: 0, dueAt: dueAt, now: dueAt).charge
        try await ledger.transition(charge.id, from: .ingested, to: .due, now: dueAt)
        try await ledger.transition(charge.id, from: .due, to: .awaitingFunds, reason: reason, nextAttemptAt: dueAt + 600, now: dueAt)
        return charge
    }

    func types(_ invoice: String? = nil) async throws -> [String] {
        try await outbox.messages(invoice: invoice).map(\.type)
    }
}

@Suite("Dunning: missed at due + 5 min, late at + 10 min, uncollectible after the window, each notice once")
struct DunningTests {
    @Test("notices follow the injected clock to the second, say why, and are never repeated", arguments: SQLBackend.allCases)
    func missedAndLate(backend: SQLBackend) async throws {
        let f = try await NotifyFixture.make(backend)
        let due: UInt64 = 1_800_000_000
        _ = try await f.shortCharge("in_short", dueAt: due, reason: "low_balance+low_allowance")
        let dunning = Dunning(ledger: f.ledger)
        try await dunning.runOnce(now: due + 299)
        #expect(try await f.types().isEmpty)
        try await dunning.runOnce(now: due + 300)
        #expect(try await f.types() == ["payment.missed"])
        try await dunning.runOnce(now: due + 599)
        #expect(try await f.types() == ["payment.missed"])
        try await dunning.runOnce(now: due + 600)
        try await dunning.runOnce(now: due + 601)
        #expect(try await f.types() == ["payment.missed", "payment.late"])
        let missed = try JSON(parsing: try #require(try await f.outbox.messages().first).payload)
        #expect(missed["type"] == "payment.missed" && missed["id"] == "evt_settle_in_short_missed")
        #expect(missed["data"]?["reason"] == "low_balance+low_allowance")
        #expect(missed["data"]?["reasons"] == ["low_balance", "low_allowance"])
        #expect(missed["data"]?["invoice"] == "in_short" && missed["data"]?["token_amount"] == "25000000")
    }

    @Test("past the auto-cancel window the charge becomes uncollectible and the merchant hears it once", arguments: SQLBackend.allCases)
    func uncollectible(backend: SQLBackend) async throws {
        let f = try await NotifyFixture.make(backend)
        let due: UInt64 = 1_800_000_000
        let charge = try await f.shortCharge("in_gone", dueAt: due, reason: "low_allowance")
        let dunning = Dunning(ledger: f.ledger, policy: DunningPolicy(uncollectibleAfter: 7 * 86_400))
        try await dunning.runOnce(now: due + 7 * 86_400 - 1)
        #expect(try await f.ledger.charge(id: charge.id)?.state == .awaitingFunds)
        let report = try await dunning.runOnce(now: due + 7 * 86_400)
        #expect(report.uncollectible == 1)
        #expect(try await f.ledger.charge(id: charge.id)?.state == .uncollectible)
        try await dunning.runOnce(now: due + 8 * 86_400)
        #expect(try await f.types() == ["payment.missed", "payment.late", "invoice.uncollectible"])
    }

    @Test("settled and reverted moves in the ledger's history become payment.succeeded (with the tx hash) and payment.failed", arguments: SQLBackend.allCases)
    func fromHistory(backend: SQLBackend) async throws {
        let f = try await NotifyFixture.make(backend)
        let charge = try await f.ledger.createCharge(invoice: "in_ok", agreement: f.agreement.id, amount: Money(minorUnits: 100, currency: try Currency(code: "usd")),
                                                     tokenDecimals: 6, rate: .parity, rateAt: 0, dueAt: 10, now: 10).charge
        try await f.ledger.transition(charge.id, from: .ingested, to: .due, now: 10)
        let attempt = try #require(try await f.ledger.signEVMAttempt(charge: charge.id, chain: "base", signer: "0xspender", chainPending: 0, head: nil, now: 10) { nonce in
            SignedPayload(transactionID: "0xfeed\(nonce)", raw: [1, 2, 3])
        }.attempt)
        try await f.ledger.record([(attempt.id, .reverted, 5)], charge: charge.id, moves: [(.signed, .broadcast), (.broadcast, .awaitingFunds)],
                                  reason: "reverted", now: 11)
        try await f.ledger.transition(charge.id, from: .awaitingFunds, to: .due, now: 12)
        let second = try #require(try await f.ledger.signEVMAttempt(charge: charge.id, chain: "base", signer: "0xspender", chainPending: 1, head: nil, now: 12) { nonce in
            SignedPayload(transactionID: "0xbeef\(nonce)", raw: [4])
        }.attempt)
        try await f.ledger.record([(second.id, .included, 9)], charge: charge.id, moves: [(.signed, .broadcast), (.broadcast, .included), (.included, .settled)], now: 13)
        let dunning = Dunning(ledger: f.ledger)
        try await dunning.runOnce(now: 14)
        try await dunning.runOnce(now: 15)  // the cursor moved: nothing twice
        let messages = try await f.outbox.messages()
        #expect(messages.map(\.type) == ["payment.failed", "payment.succeeded"])
        let succeeded = try JSON(parsing: messages[1].payload)
        #expect(succeeded["data"]?["tx_hash"] == .string(second.transactionID))
    }
}

@Suite("Dunning: what needs a person becomes action.required, once")
struct ActionRequiredTests {
    @Test("unknown, paid after a cancellation request, and a nonce divergence each tell the merchant once; a revert from any in-flight state is payment.failed", arguments: SQLBackend.allCases)
    func actionRequired(backend: SQLBackend) async throws {
        let f = try await NotifyFixture.make(backend)
        let usd = try Currency(code: "usd")
        func signed(_ invoice: String, _ tx: String) async throws -> (Charge, Attempt) {
            let charge = try await f.ledger.createCharge(invoice: invoice, agreement: f.agreement.id, amount: Money(minorUnits: 100, currency: usd),
                                                         tokenDecimals: 6, rate: .parity, rateAt: 0, dueAt: 10, now: 10).charge
            try await f.ledger.transition(charge.id, from: .ingested, to: .due, now: 10)
            let nonce = try await f.ledger.nextNonce(chain: "base", signer: "0xspender")
            let attempt = try #require(try await f.ledger.signEVMAttempt(charge: charge.id, chain: "base", signer: "0xspender",
                                                                         chainPending: nonce, head: nil, now: 10) { _ in
                SignedPayload(transactionID: tx, raw: [1])
            }.attempt)
            return (charge, attempt)
        }
        let (lost, _) = try await signed("in_unknown", "0xa1")
        try await f.ledger.apply(LedgerChange(outcomes: [], move: (.signed, .unknown), reason: "no proof"), charge: lost.id, now: 11)
        let (closed, attempt) = try await signed("in_closed", "0xa2")
        #expect(try await f.ledger.cancel(closed.id, reason: "voided", now: 11) == .cancelRequested)
        try await f.ledger.apply(LedgerChange(outcomes: [OutcomeChange(attempt: attempt.id, outcome: .included, block: 9)],
                                              move: (.cancelRequested, .settled)), charge: closed.id, now: 12)
        let (failed, reverted) = try await signed("in_failed", "0xa3")
        try await f.ledger.apply(LedgerChange(outcomes: [OutcomeChange(attempt: reverted.id, outcome: .reverted, block: 9)],
                                              move: (.signed, .awaitingFunds), reason: "reverted"), charge: failed.id, nextAttemptAt: 99, now: 12)
        // The chain counts 9 transactions; the ledger signed 3.
        _ = try await f.ledger.signEVMAttempt(charge: failed.id, chain: "base", signer: "0xspender", chainPending: 9, head: nil, now: 13) { _ in
            SignedPayload(transactionID: "0xa4", raw: [1])
        }
        let dunning = Dunning(ledger: f.ledger)
        try await dunning.runOnce(now: 14)
        try await dunning.runOnce(now: 15)
        #expect(try await f.types("in_unknown") == ["action.required"])
        #expect(try await f.types("in_closed") == ["payment.succeeded", "action.required"])
        #expect(try await f.types("in_failed") == ["payment.failed"])
        let all = try await f.outbox.messages()
        let divergence = all.filter { $0.invoice == nil && $0.type == "action.required" }
        #expect(divergence.count == 1)
        let payload = try JSON(parsing: try #require(divergence.first).payload)
        #expect(payload["data"]?["reason"]?.stringValue == "nonce_divergence")
    }
}

/// Scripted HTTP statuses for the outbox's retry logic (a fake: the real HTTP poster is exercised end to end in
/// BillingTests against a real server; here only the schedule is under test).
final class ScriptedPoster: WebhookPoster {
    let statuses: Mutex<[Int?]>
    let posted = Mutex<[(String, UInt64)]>([])

    init(_ statuses: [Int?]) { self.statuses = Mutex(statuses) }

    func post(body: [UInt8], eventID: String, timestamp: UInt64) async -> (status: Int?, error: String?) {
        posted.withLock { $0.append((eventID, timestamp)) }
        let status = statuses.withLock { $0.isEmpty ? 200 : $0.removeFirst() }
        return (status, status == nil ? "connection refused" : nil)
    }
}

@Suite("Outbox: durable, retried with backoff for up to 3 days, redelivered by hand")
struct OutboxTests {
    @Test("backoff follows the schedule, gives up after the window, and a manual redelivery sends it again", arguments: SQLBackend.allCases)
    func backoff(backend: SQLBackend) async throws {
        let f = try await NotifyFixture.make(backend)
        let t0: UInt64 = 1_000_000
        #expect(try await f.outbox.enqueue(eventID: "evt_1", type: .paymentMissed, invoice: "in_1", data: ["x": 1], now: t0))
        #expect(try await !f.outbox.enqueue(eventID: "evt_1", type: .paymentMissed, invoice: "in_1", data: ["x": 1], now: t0))
        let poster = ScriptedPoster(Array(repeating: 500, count: 100))
        let policy = DeliveryPolicy(retrySeconds: [60, 300, 3_600, 43_200], giveUpAfter: 3 * 86_400)
        let deliverer = OutboxDeliverer(outbox: f.outbox, poster: poster, policy: policy)
        var now = t0
        var times: [UInt64] = []
        while let message = try await f.outbox.message("evt_1"), message.status == "pending", now < t0 + 10 * 86_400 {
            now = max(now, message.nextAttemptAt)
            if try await deliverer.runOnce(now: now).failed == 1 { times.append(now - t0) }
            now += 1
        }
        // 0, +60, +300, +3600, then every 12 h until 3 days have passed
        #expect(Array(times.prefix(5)) == [0, 60, 360, 3_960, 47_160])
        #expect(times.last! <= 3 * 86_400)
        let given = try #require(try await f.outbox.message("evt_1"))
        #expect(given.status == "gave_up" && given.lastStatus == 500)
        #expect(try await f.outbox.backlog() == 0)
        #expect(try await deliverer.runOnce(now: now + 86_400).failed == 0)  // nothing more after giving up
        poster.statuses.withLock { $0 = [200] }
        #expect(try await f.outbox.redeliver("evt_1", now: now + 90_000))
        #expect(try await deliverer.runOnce(now: now + 90_000).delivered == 1)
        #expect(try await f.outbox.message("evt_1")?.status == "delivered")
    }

    @Test("a network failure is retried like a 5xx and recorded with its reason", arguments: SQLBackend.allCases)
    func networkFailure(backend: SQLBackend) async throws {
        let f = try await NotifyFixture.make(backend)
        try await f.outbox.enqueue(eventID: "evt_2", type: .paymentLate, invoice: nil, data: [:], now: 0)
        let deliverer = OutboxDeliverer(outbox: f.outbox, poster: ScriptedPoster([nil, 503]))
        #expect(try await deliverer.runOnce(now: 0).failed == 1)
        #expect(try await f.outbox.message("evt_2")?.lastError == "connection refused")
        #expect(try await deliverer.runOnce(now: 59).failed == 0)  // not yet due
        #expect(try await deliverer.runOnce(now: 60).failed == 1)
        #expect(try await deliverer.runOnce(now: 360).delivered == 1)
        #expect(try await f.outbox.message("evt_2")?.attempts == 3)
    }
}
