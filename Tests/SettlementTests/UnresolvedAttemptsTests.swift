import Foundation
import SettleCore
@testable import Settlement
import Store
import TestSupport
import Testing

@Suite("Ledger: the attempts an executor follows each pass")
struct UnresolvedAttemptsTests {
    @Test("each pass follows the attempts of charges still in flight, not every payment ever settled")
    func onlyChargesInFlight() async throws {
        let ledger = Ledger(database: try Database(path: try temporaryDirectory("settle-unresolved").appendingPathComponent("db").path, durability: .normal))
        try await ledger.migrate()
        let agreement = try await ledger.agreement(customer: "cus_1", subscription: nil, chain: "base", token: "USDC", wallet: "0xabc")
        // 5,000 settled or reported charges whose attempts landed (outcome `included`, as they stay), and one charge in
        // each state the executors follow, with a live attempt.
        let followed: [ChargeState] = [.signed, .broadcast, .included, .unknown, .cancelRequested]
        try await ledger.sqlite.write { db in
            try db.statement("""
                WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5005)
                INSERT INTO charges(id, invoice, agreement, amount_minor, currency, token_amount, token_decimals, rate, rate_at, due_at, state,
                                    created_at, updated_at, pay_chain, pay_token, pay_wallet)
                SELECT i, 'in_' || i, ?, 2500, 'USD', zeroblob(32), 6, '1', 0, i,
                       CASE i - 5000 WHEN 1 THEN 'signed' WHEN 2 THEN 'broadcast' WHEN 3 THEN 'included' WHEN 4 THEN 'unknown'
                                     WHEN 5 THEN 'cancel_requested' ELSE (CASE i % 2 WHEN 0 THEN 'settled' ELSE 'reported' END) END,
                       0, 0, 'base', 'USDC', '0xabc'
                FROM n
                """).run([.integer(agreement.id)])
            try db.statement("""
                INSERT INTO attempts(charge, sequence, chain, signer, tx_id, raw, nonce, outcome, block, created_at)
                SELECT id, 1, 'base', '0xspender', 'tx_' || id, x'00', id, CASE WHEN id > 5000 THEN 'sent' ELSE 'included' END,
                       CASE WHEN id > 5000 THEN NULL ELSE id END, 0
                FROM charges
                """).run()
        }
        let unresolved = try await ledger.unresolvedAttempts(chain: "base")
        #expect(unresolved.map(\.charge) == Array(5001...5005).map(Int64.init))
        for attempt in unresolved { #expect(followed.contains(try #require(try await ledger.charge(id: attempt.charge)).state)) }
        #expect(try await ledger.unresolvedAttempts(chain: "solana").isEmpty)
        #expect(try await ledger.unresolvedAttempts().count == 5)
        // Read from the charges in flight, not from every `included` attempt.
        let (plan, steps) = try await ledger.sqlite.read { db in
            let sql = Ledger.attemptsQuery(where: Ledger.unresolvedCondition + " AND chain = ?")
            let explain = try db.statement("EXPLAIN QUERY PLAN " + sql)
            explain.bind([.text("base")])
            var plan: [String] = []
            while try explain.step() { plan.append(explain.text(3)) }
            let select = try db.statement(sql)
            select.bind([.text("base")])
            let before = select.virtualMachineSteps
            while try select.step() {}
            return (plan, select.virtualMachineSteps - before)
        }
        #expect(!plan.contains { $0.contains("attempts_by_outcome") || $0.contains("TEMP B-TREE") || $0.hasPrefix("SCAN") }, "\(plan)")
        #expect(steps < 2_000, "\(steps) steps for 5 attempts: \(plan)")
    }

    @Test("the settled payments an EVM pass re-checks for reorgs are found by block, not by reading every landed attempt")
    func watchedByBlock() async throws {
        let ledger = Ledger(database: try Database(path: try temporaryDirectory("settle-watched").appendingPathComponent("db").path, durability: .normal))
        try await ledger.migrate()
        let agreement = try await ledger.agreement(customer: "cus_1", subscription: nil, chain: "base", token: "USDC", wallet: "0xabc")
        try await ledger.sqlite.write { db in
            try db.statement("""
                WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5000)
                INSERT INTO charges(id, invoice, agreement, amount_minor, currency, token_amount, token_decimals, rate, rate_at, due_at, state,
                                    created_at, updated_at, pay_chain, pay_token, pay_wallet)
                SELECT i, 'in_' || i, ?, 2500, 'USD', zeroblob(32), 6, '1', 0, i, 'reported', 0, 0, 'base', 'USDC', '0xabc' FROM n
                """).run([.integer(agreement.id)])
            try db.statement("""
                INSERT INTO attempts(charge, sequence, chain, signer, tx_id, raw, nonce, outcome, block, created_at)
                SELECT id, 1, 'base', '0xspender', 'tx_' || id, x'00', id, 'included', id * 10, 0 FROM charges
                """).run()
        }
        #expect(try await ledger.watchedAttempts(chain: "base", above: 49_970).map(\.charge.id) == [4998, 4999, 5000])
        let (plan, steps) = try await ledger.sqlite.read { db in
            let explain = try db.statement("EXPLAIN QUERY PLAN " + Ledger.watchedQuery)
            explain.bind([.text("base"), .integer(49_970)])
            var plan: [String] = []
            while try explain.step() { plan.append(explain.text(3)) }
            let select = try db.statement(Ledger.watchedQuery)
            select.bind([.text("base"), .integer(49_970)])
            let before = select.virtualMachineSteps
            while try select.step() {}
            return (plan, select.virtualMachineSteps - before)
        }
        #expect(plan.contains { $0.contains("attempts_by_outcome_block (outcome=? AND block>?)") }, "\(plan)")
        #expect(steps < 1_000, "\(steps) steps for 3 attempts: \(plan)")
    }
}
