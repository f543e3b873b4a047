import Foundation
import Leases
import SettleCore
@testable import Settlement
import Store
import Synchronization
import TestSupport
import Testing

/// Several daemons on one PostgreSQL database: each "daemon" is a connection pool of its own (`TestDatabases
/// .secondDaemon`), on a real server. These are the single-writer assumptions SQLite hid — nonce allocation, attempt
/// numbers, the notifier's cursor, outbox claims — tried with concurrent writers, and the lease fence on both backends.
@Suite("Several daemons on one database")
struct SeveralDaemonsTests {
    /// Two ledgers on one PostgreSQL database, migrated, with one agreement and `count` due charges.
    static func twoDaemons(charges count: Int) async throws -> (a: Ledger, b: Ledger, charges: [Charge], close: @Sendable () -> Void) {
        let first = try await TestDatabases.fresh(.postgres, "daemons")
        let second = try TestDatabases.secondDaemon(on: first)
        let a = Ledger(database: first), b = Ledger(database: second)
        try await a.migrate()
        try await b.migrate()  // a second daemon starting on a migrated database: nothing to do
        let agreement = try await a.agreement(customer: "cus_1", subscription: "sub_1", chain: "base", token: "USDC", wallet: "0xabc")
        var charges: [Charge] = []
        for i in 0..<count {
            let charge = try await a.createCharge(invoice: "in_\(i)", agreement: agreement.id, amount: Money(minorUnits: 100, currency: try Currency(code: "usd")),
                                                  tokenDecimals: 6, rate: .parity, rateAt: 0, dueAt: 0).charge
            try await a.transition(charge.id, from: .ingested, to: .due)
            charges.append(charge)
        }
        return (a, b, charges, { (first as? PostgresPool)?.close(); second.close() })
    }

    @Test("two daemons signing for one signer at once: every nonce used once, none skipped")
    func noncesFromALockedRow() async throws {
        let (a, b, charges, close) = try await Self.twoDaemons(charges: 40)
        defer { close() }
        let nonces = try await withThrowingTaskGroup(of: UInt64?.self) { group in
            for (i, charge) in charges.enumerated() {
                let ledger = i % 2 == 0 ? a : b
                group.addTask {
                    try await ledger.signEVMAttempt(charge: charge.id, chain: "base", signer: "0xs", chainPending: 0, head: nil) { nonce in
                        SignedPayload(transactionID: "0xtx\(charge.id)", raw: [UInt8(truncatingIfNeeded: nonce)])
                    }.attempt?.nonce
                }
            }
            return try await group.reduce(into: [UInt64?]()) { $0.append($1) }
        }
        #expect(nonces.compactMap { $0 }.sorted() == Array(0..<40))
        #expect(try await a.nextNonce(chain: "base", signer: "0xs") == 40)
        var stored: [UInt64] = []
        for charge in charges { stored += try await b.attempts(charge: charge.id).compactMap(\.nonce) }
        #expect(stored.sorted() == Array(0..<40))
    }

    @Test("replacements of one attempt written by two daemons at once are numbered 2, 3, … without a clash")
    func attemptNumbersFromTheChargeRow() async throws {
        let (a, b, charges, close) = try await Self.twoDaemons(charges: 1)
        defer { close() }
        let first = try #require(try await a.signEVMAttempt(charge: charges[0].id, chain: "base", signer: "0xs", chainPending: 0, head: nil) { _ in
            SignedPayload(transactionID: "0xtx1", raw: [1])
        }.attempt)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<12 {
                let ledger = i % 2 == 0 ? a : b
                group.addTask { _ = try await ledger.replaceEVMAttempt(first, payload: SignedPayload(transactionID: "0xre\(i)", raw: [2])) }
            }
            try await group.waitForAll()
        }
        let attempts = try await a.attempts(charge: charges[0].id)
        #expect(attempts.map(\.sequence) == Array(1...13))
        #expect(Set(attempts.compactMap(\.nonce)) == [first.nonce])
    }

    @Test("a daemon whose lease was taken over cannot sign: nothing is written, the new holder signs", arguments: SQLBackend.allCases)
    func fencedSigning(backend: SQLBackend) async throws {
        let database = try await TestDatabases.fresh(backend, "fence")
        let ledger = Ledger(database: database)
        try await ledger.migrate()
        let leases: any LeaseStore = switch backend {
        case .sqlite: try await SQLiteLeaseStore(database: try #require(database as? Database))
        case .postgres: try await PostgresLeaseStore(database: try #require(database as? PostgresPool))
        }
        let agreement = try await ledger.agreement(customer: "cus_1", subscription: nil, chain: "base", token: "USDC", wallet: "0xabc")
        let charge = try await ledger.createCharge(invoice: "in_f", agreement: agreement.id, amount: Money(minorUnits: 100, currency: try Currency(code: "usd")),
                                                   tokenDecimals: 6, rate: .parity, rateAt: 0, dueAt: 0).charge
        try await ledger.transition(charge.id, from: .ingested, to: .due)
        let paused = try #require(try await leases.acquire("execute base", holder: "a", now: 1_000, ttl: 100))
        let taker = try #require(try await leases.acquire("execute base", holder: "b", now: 1_200, ttl: 100))
        let signed = Mutex(false)
        let refused = await #expect(throws: StoreError.self) {
            try await ledger.signEVMAttempt(charge: charge.id, chain: "base", signer: "0xs", chainPending: 0, head: nil, fence: paused) { _ in
                signed.withLock { $0 = true }
                return SignedPayload(transactionID: "0xstale", raw: [1])
            }
        }
        #expect(refused?.code == .fenced)
        #expect(!signed.withLock { $0 }, "the paused daemon's key was used")
        #expect(try await ledger.charge(id: charge.id)?.state == .due)
        #expect(try await ledger.attempts(charge: charge.id).isEmpty)
        #expect(try await ledger.nextNonce(chain: "base", signer: "0xs") == 0)
        let attempt = try #require(try await ledger.signEVMAttempt(charge: charge.id, chain: "base", signer: "0xs", chainPending: 0, head: nil,
                                                                   fence: taker) { _ in SignedPayload(transactionID: "0xnew", raw: [1]) }.attempt)
        #expect(attempt.nonce == 0 && attempt.transactionID == "0xnew")
        if let pool = database as? PostgresPool { pool.close() }
    }

    @Test("a history row committed after a later one is still noticed: the notifier keeps no cursor over ids")
    func historyCommittedOutOfOrder() async throws {
        let (a, b, charges, close) = try await Self.twoDaemons(charges: 2)
        defer { close() }
        let outbox = Outbox(database: b.database)
        try await outbox.migrate()
        let (inserted, insertedSignal) = AsyncStream<Void>.makeStream()
        let (release, releaseSignal) = AsyncStream<Void>.makeStream()
        // Daemon a writes charge 0's settlement (the lower event id) and holds its transaction open.
        let slow = Task {
            try await a.database.write { db in
                try await db.run("UPDATE charges SET state = 'settled' WHERE id = ?", [.integer(charges[0].id)])
                try await db.run("INSERT INTO charge_events(charge, at, from_state, to_state) VALUES (?, 5, 'included', 'settled')", [.integer(charges[0].id)])
                insertedSignal.yield()
                for await _ in release { break }
            }
        }
        for await _ in inserted { break }
        // Daemon b settles charge 1 (a higher id) and commits first; its notifier runs.
        try await b.database.write { db in
            try await db.run("UPDATE charges SET state = 'settled' WHERE id = ?", [.integer(charges[1].id)])
            try await db.run("INSERT INTO charge_events(charge, at, from_state, to_state) VALUES (?, 6, 'included', 'settled')", [.integer(charges[1].id)])
        }
        try await Dunning(ledger: b).runOnce(now: 10)
        #expect(try await outbox.messages().map(\.eventID).filter { $0.hasSuffix("_succeeded") } == ["evt_settle_in_1_succeeded"])
        releaseSignal.yield()
        try await slow.value
        try await Dunning(ledger: b).runOnce(now: 11)
        #expect(Set(try await outbox.messages().map(\.eventID).filter { $0.hasSuffix("_succeeded") })
                == ["evt_settle_in_0_succeeded", "evt_settle_in_1_succeeded"])
    }

    @Test("two daemons delivering the outbox at once post each message once")
    func outboxClaims() async throws {
        let (a, b, _, close) = try await Self.twoDaemons(charges: 0)
        defer { close() }
        let outboxA = Outbox(database: a.database), outboxB = Outbox(database: b.database)
        try await outboxA.migrate()
        for i in 0..<60 { try await outboxA.enqueue(eventID: "evt_\(i)", type: .paymentSucceeded, invoice: "in_\(i)", data: [:], now: 100) }
        let poster = ScriptedPoster([])
        try await withThrowingTaskGroup(of: Void.self) { group in
            for round in 0..<3 {
                group.addTask { try await OutboxDeliverer(outbox: outboxA, poster: poster).runOnce(now: 100 + UInt64(round)) }
                group.addTask { try await OutboxDeliverer(outbox: outboxB, poster: poster).runOnce(now: 100 + UInt64(round)) }
            }
            try await group.waitForAll()
        }
        let posted = poster.posted.withLock { $0.map(\.0) }
        #expect(posted.count == 60, "\(posted.count) posts")
        #expect(Set(posted).count == 60)
        #expect(try await outboxB.backlog() == 0)
    }
}
