import Foundation
import SettleCore
@testable import Settlement
import Store
import TestSupport
import Testing

@Suite("Charges ledger: the API's pages read only their rows")
struct ChargesPageTests {
    /// 20,000 charges: every 1,000th `mismatch`, every third `due`, the rest `reported`.
    static func ledger() async throws -> Ledger {
        let ledger = Ledger(database: try Database(path: try temporaryDirectory("settle-charges-page").appendingPathComponent("db").path, durability: .normal))
        try await ledger.migrate()
        let agreement = try await ledger.agreement(customer: "cus_1", subscription: nil, chain: "base", token: "USDC", wallet: "0xabc")
        try await ledger.sqlite.write { db in
            try db.statement("""
                WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000)
                INSERT INTO charges(invoice, agreement, amount_minor, currency, token_amount, token_decimals, rate, rate_at, due_at, state,
                                    created_at, updated_at, pay_chain, pay_token, pay_wallet)
                SELECT 'in_' || i, ?, 2500, 'USD', zeroblob(32), 6, '1', 0, i,
                       CASE WHEN i % 1000 = 0 THEN 'mismatch' WHEN i % 3 = 0 THEN 'due' ELSE 'reported' END, 0, 0, 'base', 'USDC', '0xabc'
                FROM n
                """).run([.integer(agreement.id)])
        }
        return ledger
    }

    static func cost(_ ledger: Ledger, states: [ChargeState]?, after: Int64, limit: Int) async throws -> (rows: [Int64], steps: Int, sorts: Int, plan: [String]) {
        let (sql, values) = Ledger.chargesPage(states: states.map { $0.map(\.rawValue).sorted() }, afterID: after, limit: limit)
        return try await ledger.sqlite.read { db in
            var plan: [String] = []
            let explain = try db.statement("EXPLAIN QUERY PLAN " + sql)
            explain.bind(values)
            while try explain.step() { plan.append(explain.text(3)) }
            let select = try db.statement(sql)
            select.bind(values)
            var rows: [Int64] = []
            while try select.step() { rows.append(select.int64(0)) }
            return (rows, select.virtualMachineSteps, select.sorts, plan)
        }
    }

    @Test("a page of a rare state, or of several states, reads that page (an index, no sort), not every charge", arguments: [
        [ChargeState.mismatch], [.mismatch, .due], [.mismatch, .due, .cancelled, .unknown],
    ])
    func rareStates(_ states: [ChargeState]) async throws {
        let ledger = try await Self.ledger()
        let cost = try await Self.cost(ledger, states: states, after: 0, limit: 6)
        #expect(cost.sorts == 0, "\(cost.plan)")
        #expect(!cost.plan.contains { $0.contains("TEMP B-TREE") }, "\(cost.plan)")
        #expect(cost.steps < 2_000, "a page of \(cost.rows.count) rows took \(cost.steps) steps: \(cost.plan)")
        // The page through the public query is the same, and in id order.
        let page = try await ledger.charges(states: Set(states), afterID: nil, limit: 6)
        #expect(page.map(\.id) == cost.rows)
        #expect(page.map(\.id) == page.map(\.id).sorted())
        #expect(page.allSatisfy { states.contains($0.state) })
        let expected = states == [.mismatch] ? [1000, 2000, 3000, 4000, 5000, 6000] : [3, 6, 9, 12, 15, 18]
        #expect(page.map(\.id) == expected.map(Int64.init))
    }

    @Test("paging by state visits every matching charge once, in id order")
    func everyChargeOnce() async throws {
        let ledger = try await Self.ledger()
        var seen: [Int64] = []
        var after: Int64?
        repeat {
            let page = try await ledger.charges(states: [.mismatch, .cancelled], afterID: after, limit: 7)
            seen += page.map(\.id)
            after = page.count == 7 ? page.last?.id : nil
        } while after != nil
        #expect(seen == (1...20).map { Int64($0 * 1000) })
    }

    @Test("healthz's count of unknown charges reads only those, through an index")
    func unknownCount() async throws {
        let ledger = try await Self.ledger()
        #expect(try await ledger.chargeCount(in: .mismatch) == 20)
        #expect(try await ledger.chargeCount(in: .unknown) == 0)
        let plan = try await ledger.sqlite.read { db in
            let explain = try db.statement("EXPLAIN QUERY PLAN " + Ledger.chargeCountQuery)
            explain.bind("unknown", at: 1)
            var plan: [String] = []
            while try explain.step() { plan.append(explain.text(3)) }
            return plan
        }
        #expect(plan.count == 1 && plan[0].hasPrefix("SEARCH charges USING COVERING INDEX charges_by_state"), "\(plan)")
    }
}

@Suite("Charges ledger: the dashboard's newest charges")
struct RecentChargesTests {
    @Test("newest first, by state and chain, at most the limit")
    func recent() async throws {
        let ledger = try await ChargesPageTests.ledger()  // 20,000 charges on base: every 1,000th mismatch, every third due
        let newest = try await ledger.recentCharges(states: nil, chain: nil, limit: 5)
        #expect(newest.map(\.id) == [20_000, 19_999, 19_998, 19_997, 19_996])
        let mismatches = try await ledger.recentCharges(states: [.mismatch], chain: "base", limit: 3)
        #expect(mismatches.map(\.id) == [20_000, 19_000, 18_000])
        let two = try await ledger.recentCharges(states: [.mismatch, .due], chain: nil, limit: 4)
        #expect(two.map(\.id) == [20_000, 19_998, 19_995, 19_992])
        #expect(try await ledger.recentCharges(states: nil, chain: "solana", limit: 5).isEmpty)
        #expect(try await ledger.recentCharges(states: [], chain: nil, limit: 5).isEmpty)
        #expect(try await ledger.recentCharges(states: nil, chain: nil, limit: 5_000).count == 1_000)
    }
}
