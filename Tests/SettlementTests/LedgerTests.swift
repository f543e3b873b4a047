import Foundation
import SettleCore
import Settlement
import Store
import TestSupport
import Testing

@Suite("Charges ledger: one row per invoice, compare-and-set state moves")
struct LedgerTests {
    func ledger(_ backend: SQLBackend) async throws -> Ledger {
        let ledger = Ledger(database: try await TestDatabases.fresh(backend, "ledger"))
        try await ledger.migrate()
        return ledger
    }

    @Test("the same invoice twice (or from two racing creators) is one charge; other terms are a conflict", arguments: SQLBackend.allCases)
    func oneChargePerInvoice(backend: SQLBackend) async throws {
        let ledger = try await ledger(backend)
        let agreement = try await ledger.agreement(customer: "cus_1", subscription: "sub_1", chain: "base", token: "USDC", wallet: "0xabc")
        #expect(try await ledger.agreement(customer: "cus_1", subscription: "sub_1", chain: "base", token: "USDC", wallet: "0xabc").id == agreement.id)
        await #expect(throws: LedgerError.self) {
            try await ledger.agreement(customer: "cus_1", subscription: "sub_1", chain: "base", token: "USDC", wallet: "0xdef")
        }
        let money = Money(minorUnits: 2500, currency: try Currency(code: "usd"))
        let results = try await withThrowingTaskGroup(of: Bool.self) { group in
            for _ in 0..<20 {
                group.addTask {
                    try await ledger.createCharge(invoice: "in_1", agreement: agreement.id, amount: money, tokenDecimals: 6, rate: .parity,
                                                  rateAt: 1, dueAt: 100).created
                }
            }
            return try await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(results.filter { $0 }.count == 1)
        let charge = try #require(try await ledger.charge(invoice: "in_1"))
        #expect(charge.tokenAmount == TokenAmount(baseUnits: 25_000_000, decimals: 6))
        #expect(charge.state == .ingested && charge.rate == .parity)
        let error = await #expect(throws: LedgerError.self) {
            try await ledger.createCharge(invoice: "in_1", agreement: agreement.id, amount: Money(minorUnits: 2600, currency: money.currency),
                                          tokenDecimals: 6, rate: .parity, rateAt: 1, dueAt: 100)
        }
        #expect(error?.code == .conflict)
        await #expect(throws: LedgerError.self) {
            try await ledger.createCharge(invoice: "in_0", agreement: agreement.id, amount: Money(minorUnits: 0, currency: money.currency),
                                          tokenDecimals: 6, rate: .parity, rateAt: 1, dueAt: 100)
        }
    }

    @Test("two executors racing to sign one due charge: exactly one wins", arguments: SQLBackend.allCases)
    func racingTransitions(backend: SQLBackend) async throws {
        let ledger = try await ledger(backend)
        let agreement = try await ledger.agreement(customer: "cus_2", subscription: nil, chain: "solana", token: "USDC", wallet: "So1")
        let charge = try await ledger.createCharge(invoice: "in_2", agreement: agreement.id, amount: Money(minorUnits: 999, currency: try Currency(code: "USD")),
                                                   tokenDecimals: 6, rate: .parity, rateAt: 1, dueAt: 100).charge
        #expect(try await ledger.transition(charge.id, from: .ingested, to: .due))
        let wins = try await withThrowingTaskGroup(of: Bool.self) { group in
            for _ in 0..<16 { group.addTask { try await ledger.transition(charge.id, from: .due, to: .signed) } }
            return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(wins == 1)
        #expect(try await ledger.charge(invoice: "in_2")?.state == .signed)
        #expect(try await ledger.history(charge.id).map(\.to) == [.due, .signed])
    }

    @Test("moves the state machine forbids are refused", arguments: [
        (ChargeState.ingested, ChargeState.settled), (.due, .broadcast), (.signed, .cancelled), (.broadcast, .cancelled), (.settled, .due), (.reported, .cancelled),
        (.cancelled, .due), (.included, .cancelled), (.awaitingFunds, .signed),
    ])
    func forbidden(from: ChargeState, to: ChargeState) async throws {
        let ledger = try await ledger(.sqlite)
        let error = await #expect(throws: LedgerError.self) { try await ledger.transition(1, from: from, to: to) }
        #expect(error?.code == .invalidTransition)
    }

    @Test("awaiting funds records why and when to retry; due charges are listed by time", arguments: SQLBackend.allCases)
    func awaitingFunds(backend: SQLBackend) async throws {
        let ledger = try await ledger(backend)
        let agreement = try await ledger.agreement(customer: "cus_3", subscription: nil, chain: "base", token: "USDC", wallet: "0x3")
        let usd = try Currency(code: "USD")
        let a = try await ledger.createCharge(invoice: "in_a", agreement: agreement.id, amount: Money(minorUnits: 100, currency: usd),
                                              tokenDecimals: 6, rate: .parity, rateAt: 1, dueAt: 50).charge
        _ = try await ledger.createCharge(invoice: "in_b", agreement: agreement.id, amount: Money(minorUnits: 100, currency: usd),
                                          tokenDecimals: 6, rate: .parity, rateAt: 1, dueAt: 500)
        #expect(try await ledger.charges(in: [.ingested], dueBy: 100).map(\.invoice) == ["in_a"])
        try await ledger.transition(a.id, from: .ingested, to: .due)
        let shortfall: FundsShortfall = [.lowBalance, .lowAllowance]
        try await ledger.transition(a.id, from: .due, to: .awaitingFunds, reason: shortfall.reason, nextAttemptAt: 700)
        let waiting = try #require(try await ledger.charge(invoice: "in_a"))
        #expect(waiting.state == .awaitingFunds && waiting.reason == "low_balance+low_allowance" && waiting.nextAttemptAt == 700)
        #expect(try await ledger.charges(in: [.awaitingFunds], dueBy: 600).isEmpty)
        #expect(try await ledger.charges(in: [.awaitingFunds], dueBy: 700).count == 1)
        #expect(!(try await ledger.transition(a.id, from: .due, to: .signed)))  // no longer due: nothing changes
    }

    @Test("an attempt's outcome and its charge's move are written together, or not at all", arguments: SQLBackend.allCases)
    func recordIsAtomic(backend: SQLBackend) async throws {
        let ledger = try await ledger(backend)
        let agreement = try await ledger.agreement(customer: "cus_4", subscription: nil, chain: "solana", token: "USDC", wallet: "So4")
        let charge = try await ledger.createCharge(invoice: "in_4", agreement: agreement.id, amount: Money(minorUnits: 100, currency: try Currency(code: "USD")),
                                                   tokenDecimals: 6, rate: .parity, rateAt: 0, dueAt: 0).charge
        #expect(try await ledger.transition(charge.id, from: .ingested, to: .due))
        let attempt = try #require(try await ledger.signSolanaAttempt(charge: charge.id, chain: "solana", signer: "So9", slotBefore: nil) {
            (SignedPayload(transactionID: "sig4", raw: [1, 2, 3]), "hash", 10)
        }.attempt)
        try await ledger.markSent(attempt)
        // A forbidden move in the list: nothing at all is written, not even the attempt's outcome.
        await #expect(throws: LedgerError.self) {
            try await ledger.record([(attempt.id, .included, 7)], charge: charge.id, moves: [(.broadcast, .included), (.included, .ingested)])
        }
        #expect(try await ledger.attempts(charge: charge.id).map(\.outcome) == [.sent])
        #expect(try await ledger.charge(id: charge.id)?.state == .broadcast)
        // Both, and moves whose `from` no longer holds are skipped: an included attempt's charge can always be followed.
        try await ledger.record([(attempt.id, .included, 7)], charge: charge.id, moves: [(.included, .broadcast), (.broadcast, .included)])
        #expect(try await ledger.attempts(charge: charge.id).map(\.outcome) == [.included])
        #expect(try await ledger.attempts(charge: charge.id).first?.block == 7)
        #expect(try await ledger.charge(id: charge.id)?.state == .included)
    }
}

@Suite("Ledger terms and cancellation: only while no transaction of the charge could land")
struct LedgerTermsTests {
    @Test("terms change and cancel while quiescent; a signed charge keeps its terms and is only asked to cancel", arguments: SQLBackend.allCases)
    func quiescentOnly(backend: SQLBackend) async throws {
        let f = try await NotifyFixture.make(backend)
        let usd = try Currency(code: "usd")
        let charge = try await f.ledger.createCharge(invoice: "in_t", agreement: f.agreement.id, amount: Money(minorUnits: 1000, currency: usd),
                                                     tokenDecimals: 6, rate: .parity, rateAt: 0, dueAt: 100).charge
        #expect(try await f.ledger.updateTerms(charge, amount: Money(minorUnits: 800, currency: usd), tokenDecimals: 6, rate: .parity,
                                               rateAt: 0, dueAt: 200))
        let updated = try #require(try await f.ledger.charge(id: charge.id))
        #expect(updated.amount.minorUnits == 800 && updated.tokenAmount.baseUnits == 8_000_000 && updated.dueAt == 200 && updated.state == .ingested)
        try await f.ledger.transition(charge.id, from: .ingested, to: .due)
        _ = try #require(try await f.ledger.signEVMAttempt(charge: charge.id, chain: "base", signer: "0xs", chainPending: 0, head: nil) { _ in
            SignedPayload(transactionID: "0xt", raw: [1])
        }.attempt)
        #expect(try await !f.ledger.updateTerms(updated, amount: Money(minorUnits: 500, currency: usd), tokenDecimals: 6, rate: .parity,
                                                rateAt: 0, dueAt: 300))
        // Signed bytes may be in a pool already: cancellation is only requested, until every attempt is proven dead.
        #expect(try await f.ledger.cancel(charge.id, reason: "voided") == .cancelRequested)
        let after = try #require(try await f.ledger.charge(id: charge.id))
        #expect(after.amount.minorUnits == 800 && after.state == .cancelRequested)
        #expect(try await f.ledger.cancel(charge.id, reason: "again") == .cancelRequested)
        let other = try await f.ledger.createCharge(invoice: "in_u", agreement: f.agreement.id, amount: Money(minorUnits: 1000, currency: usd),
                                                    tokenDecimals: 6, rate: .parity, rateAt: 0, dueAt: 100).charge
        #expect(try await f.ledger.cancel(other.id, reason: "voided") == .cancelled)
        #expect(try await f.ledger.cancel(other.id, reason: "again") == .cancelled)
        await #expect(throws: LedgerError.self) {
            try await f.ledger.updateTerms(other, amount: Money(minorUnits: 0, currency: usd), tokenDecimals: 6, rate: .parity, rateAt: 0, dueAt: 1)
        }
    }
}

@Suite("Pinned terms: an agreement change re-prices only charges with no live transaction")
struct PinnedTermsTests {
    @Test("a 6-decimal token switched to an 18-decimal one: waiting charges re-priced (recorded), a signed one keeps its pins", arguments: SQLBackend.allCases)
    func switchToken(backend: SQLBackend) async throws {
        let f = try await NotifyFixture.make(backend)
        let usd = try Currency(code: "usd")
        func charge(_ invoice: String) async throws -> Charge {
            try await f.ledger.createCharge(invoice: invoice, agreement: f.agreement.id, amount: Money(minorUnits: 2500, currency: usd),
                                            tokenDecimals: 6, rate: .parity, rateAt: 0, dueAt: 0).charge
        }
        let waiting = try await charge("in_wait")
        let inFlight = try await charge("in_flight")
        #expect(waiting.terms == ChargeTerms(chain: "base", token: "USDC", wallet: "0xabc"))
        try await f.ledger.transition(inFlight.id, from: .ingested, to: .due)
        _ = try await f.ledger.signEVMAttempt(charge: inFlight.id, chain: "base", signer: "0xs", chainPending: 0, head: nil) { _ in
            SignedPayload(transactionID: "0xf1", raw: [1])
        }
        let pricing: Ledger.Pricing = { token, _ in
            #expect(token == "DAI")
            return (18, .parity, 77, "0xdai")
        }
        _ = try await f.ledger.upsertAgreement(customer: "cus_1", subscription: "sub_1", chain: "base", token: "DAI", wallet: "0xdef",
                                               pricing: pricing, now: 50)
        let repriced = try #require(try await f.ledger.charge(id: waiting.id))
        #expect(repriced.terms == ChargeTerms(chain: "base", token: "DAI", wallet: "0xdef", asset: "0xdai"))
        #expect(repriced.tokenAmount == TokenAmount(baseUnits: try UInt256(decimal: "25000000000000000000"), decimals: 18))
        #expect(repriced.rateAt == 77)
        let note = try await f.ledger.history(waiting.id).last?.reason ?? ""
        #expect(note.contains("USDC (6 decimals, 25000000) → DAI (18 decimals, 25000000000000000000)") && note.contains("0xabc → 0xdef"), "\(note)")
        let kept = try #require(try await f.ledger.charge(id: inFlight.id))
        #expect(kept.terms == ChargeTerms(chain: "base", token: "USDC", wallet: "0xabc"))
        #expect(kept.tokenAmount == TokenAmount(baseUnits: 25_000_000, decimals: 6))
        // A new charge pins the new terms.
        #expect(try await charge("in_new").terms.token == "DAI")
    }

    @Test("without pricing, a token change keeps waiting charges on the token they were priced in; the wallet still moves", arguments: SQLBackend.allCases)
    func noPricing(backend: SQLBackend) async throws {
        let f = try await NotifyFixture.make(backend)
        let waiting = try await f.ledger.createCharge(invoice: "in_w", agreement: f.agreement.id, amount: Money(minorUnits: 100, currency: try Currency(code: "usd")),
                                                      tokenDecimals: 6, rate: .parity, rateAt: 0, dueAt: 0).charge
        _ = try await f.ledger.upsertAgreement(customer: "cus_1", subscription: "sub_1", chain: "base", token: "DAI", wallet: "0xdef", now: 5)
        let after = try #require(try await f.ledger.charge(id: waiting.id))
        #expect(after.terms == ChargeTerms(chain: "base", token: "USDC", wallet: "0xdef"))
        #expect(after.tokenAmount.decimals == 6)
    }
}

@Suite("Gross-up for fee-charging tokens: the smallest pull that delivers the amount")
struct GrossUpTests {
    @Test("floor and ceiling fees, a maximum fee, no fee", arguments: [
        (25_000_000, 100, false, nil, 25_252_525), (1, 100, false, nil, 1), (100, 100, true, nil, 102), (1_000_000, 100, true, 1_000, 1_001_000),
        (1_000_000, 0, true, nil, 1_000_000), (99, 5_000, false, nil, 197),
    ] as [(UInt64, UInt16, Bool, UInt64?, UInt64)])
    func pull(_ amount: UInt64, _ bps: UInt16, _ ceiling: Bool, _ maximum: UInt64?, _ expected: UInt64) throws {
        let rounding: GrossUp.Rounding = ceiling ? .ceiling : .floor
        let pull = try GrossUp.pull(for: UInt256(amount), basisPoints: bps, rounding: rounding, maximum: maximum.map { UInt256($0) })
        #expect(pull == UInt256(expected))
        // Delivers the amount, and one unit less would not.
        let fee = try GrossUp.fee(on: pull, basisPoints: bps, rounding: rounding, maximum: maximum.map { UInt256($0) })
        #expect(pull - fee >= UInt256(amount))
        if pull > UInt256(amount) {
            let less = pull - .one
            #expect(less - (try GrossUp.fee(on: less, basisPoints: bps, rounding: rounding, maximum: maximum.map { UInt256($0) })) < UInt256(amount))
        }
    }

    @Test("a 100% fee is an error, never a trap")
    func total() {
        #expect(throws: CoreError.self) { _ = try GrossUp.pull(for: 5, basisPoints: 10_000, rounding: .floor) }
    }
}


/// Issue 14: numbers the ledger cannot hold, and stored numbers that are not what the schema promises, are typed
/// errors, never traps. Before the fix each of these stopped the test process (`Int64(x)` past 2^63, `UInt64(x)` of a
/// negative value).
@Suite("Ledger numbers: a typed error, never a trap")
struct LedgerNumberTests {
    func charge() async throws -> (Ledger, Charge) {
        let ledger = Ledger(database: try Database(path: try temporaryDirectory("settle-ledger-numbers").appendingPathComponent("db").path))
        try await ledger.migrate()
        let agreement = try await ledger.agreement(customer: "cus_n", subscription: nil, chain: "base", token: "USDC", wallet: "0xabc")
        let charge = try await ledger.createCharge(invoice: "in_n", agreement: agreement.id, amount: Money(minorUnits: 100, currency: try Currency(code: "usd")),
                                                   tokenDecimals: 6, rate: .parity, rateAt: 1, dueAt: 100).charge
        return (ledger, charge)
    }

    @Test("a stored negative amount, rate time, due time or retry time is a corrupt value when read",
          arguments: ["amount_minor", "rate_at", "due_at", "next_attempt_at"])
    func negativeStored(column: String) async throws {
        let (ledger, _) = try await charge()
        try await ledger.sqlite.write { db in
            try db.execute("PRAGMA ignore_check_constraints = ON")  // a damaged or hand-edited file; the schema's CHECKs are not there to help
            try db.execute("UPDATE charges SET \(column) = -1 WHERE invoice = 'in_n'")
            try db.execute("PRAGMA ignore_check_constraints = OFF")
        }
        let error = await #expect(throws: StoreError.self) { try await ledger.charge(invoice: "in_n") }
        #expect(error?.code == .corruptValue)
        await #expect(throws: StoreError.self) { try await ledger.charges(in: [.ingested]) }
    }

    @Test("an amount or a time past 2^63 - 1 is refused as invalid input, nothing is written",
          arguments: [(UInt64.max, UInt64(100)), (UInt64(1) << 63, UInt64(100)), (UInt64(100), UInt64.max), (UInt64(100), UInt64(1) << 63)])
    func tooLarge(_ minorUnits: UInt64, _ dueAt: UInt64) async throws {
        let (ledger, charge) = try await charge()
        let money = Money(minorUnits: minorUnits, currency: try Currency(code: "usd"))
        let agreement = charge.agreement
        let created = await #expect(throws: LedgerError.self) {
            try await ledger.createCharge(invoice: "in_big", agreement: agreement, amount: money, tokenDecimals: 6, rate: .parity, rateAt: 1, dueAt: dueAt)
        }
        #expect(created?.code == .invalidInput)
        #expect(try await ledger.charge(invoice: "in_big") == nil)
        let updated = await #expect(throws: LedgerError.self) {
            try await ledger.updateTerms(charge, amount: money, tokenDecimals: 6, rate: .parity, rateAt: 1, dueAt: dueAt)
        }
        #expect(updated?.code == .invalidInput)
        #expect(try await ledger.charge(invoice: "in_n")?.amount.minorUnits == 100)
    }
}
