@testable import API
import Foundation
import PostgresNIO
import SettleCore
import Solana
@testable import SolanaIndexer
import Store
import TestSupport
import Testing

/// The Solana allowance history the API pages through (`SolanaChainView.allowances`): approvals to our delegate,
/// revokes and pulls our delegate signed, oldest first, paged by an opaque position in SQL — on both index backends.
@Suite("Solana allowance history pages")
struct SolanaAllowancePagesTests {
    typealias Backend = SolanaIndexDatabase.Backend

    @Test("pages hold every approval to our delegate, revoke and pull by our delegate once, oldest first; nothing else", arguments: Backend.allCases)
    func history(_ backend: Backend) async throws {
        let world = try await SolanaHistoryWorld.make(backend)
        defer { world.stop() }
        try await world.add(slot: 10, .approve(to: world.delegate, checked: true))
        try await world.add(slot: 11, .approve(to: world.stranger, checked: true))  // someone else's delegation
        try await world.add(slot: 12, .transfer(by: world.delegate, checked: true))
        try await world.add(slot: 13, .transfer(by: world.wallet, checked: false))  // the wallet's own payment
        try await world.add(slot: 14, .transfer(by: world.stranger, checked: true))
        try await world.add(slot: 15, .revoke)
        try await world.add(slot: 16, .approve(to: world.delegate, checked: false), account: world.eurcAccount)
        try await world.add(slot: 17, .transfer(by: world.delegate, checked: false), account: world.eurcAccount)
        let pages = try await world.pages(limit: 2)
        let rows = pages.flatMap { $0 }
        #expect(rows.map { $0["block"]?.uint64Value ?? 0 } == [10, 12, 15, 16, 17])
        #expect(rows.map { $0["kind"]?.stringValue ?? "" } == ["approval", "pull", "revoke", "approval", "pull"])
        #expect(rows.map { $0["token"]?.stringValue ?? "" } == ["USDC", "USDC", "USDC", "EURC", "EURC"])
        #expect(pages.map(\.count) == [2, 2, 1])
    }

    @Test("a token filter keeps the token's plain Approve, Revoke and Transfer (which name no mint) and nothing of other tokens", arguments: Backend.allCases)
    func tokenFilter(_ backend: Backend) async throws {
        let world = try await SolanaHistoryWorld.make(backend)
        defer { world.stop() }
        try await world.add(slot: 10, .approve(to: world.delegate, checked: false))
        try await world.add(slot: 11, .approve(to: world.delegate, checked: true), account: world.eurcAccount)
        try await world.add(slot: 12, .transfer(by: world.delegate, checked: false))
        try await world.add(slot: 13, .transfer(by: world.delegate, checked: true))
        try await world.add(slot: 14, .revoke)
        try await world.add(slot: 15, .revoke, account: world.eurcAccount)
        let usdc = try await world.pages(limit: 10, token: "USDC").flatMap { $0 }
        #expect(usdc.map { $0["block"]?.uint64Value ?? 0 } == [10, 12, 13, 14])
        let eurc = try await world.pages(limit: 10, token: "eurc").flatMap { $0 }
        #expect(eurc.map { $0["block"]?.uint64Value ?? 0 } == [11, 15])
    }

    @Test("a confirmed transaction dropped between two pages skips no row of the next page", arguments: Backend.allCases)
    func droppedBetweenPages(_ backend: Backend) async throws {
        let world = try await SolanaHistoryWorld.make(backend)
        defer { world.stop() }
        var signatures: [UInt64: SolanaSignature] = [:]
        for slot: UInt64 in [10, 20, 30, 40, 50, 60] { signatures[slot] = try await world.add(slot: slot, .transfer(by: world.delegate, checked: true)) }
        let first = try await world.view.allowances(wallet: world.wallet.description, token: nil, cursor: nil, limit: 2)
        #expect(first.history.map { $0["block"]?.uint64Value ?? 0 } == [10, 20])
        // The cluster forgot slot 20's transaction: it is deleted with its events.
        try await world.store.settle(chain: world.chain, finalized: [], dropped: [signatures[20]!], finalizedSlot: 0)
        let second = try await world.view.allowances(wallet: world.wallet.description, token: nil, cursor: first.nextCursor, limit: 2)
        #expect(second.history.map { $0["block"]?.uint64Value ?? 0 } == [30, 40])
    }

    @Test("a transaction indexed late at an older slot (another account synced after) repeats no row of the next page", arguments: Backend.allCases)
    func lateTransactionBetweenPages(_ backend: Backend) async throws {
        let world = try await SolanaHistoryWorld.make(backend)
        defer { world.stop() }
        for slot: UInt64 in [10, 20, 30, 40, 50, 60] { try await world.add(slot: slot, .transfer(by: world.delegate, checked: true)) }
        let first = try await world.view.allowances(wallet: world.wallet.description, token: nil, cursor: nil, limit: 2)
        #expect(first.history.map { $0["block"]?.uint64Value ?? 0 } == [10, 20])
        try await world.add(slot: 15, .approve(to: world.delegate, checked: true), account: world.eurcAccount)
        let second = try await world.view.allowances(wallet: world.wallet.description, token: nil, cursor: first.nextCursor, limit: 2)
        #expect(second.history.map { $0["block"]?.uint64Value ?? 0 } == [30, 40])
    }

    @Test("a page reads only its own rows: an unreadable row far past the first page does not fail it", arguments: Backend.allCases)
    func pageReadsOnlyItsRows(_ backend: Backend) async throws {
        let world = try await SolanaHistoryWorld.make(backend)
        defer { world.stop() }
        for slot in UInt64(1)...300 { try await world.add(slot: slot, .transfer(by: world.delegate, checked: true)) }
        // Slot 280's event names a program that is no token program: whoever decodes it fails (corruptValue).
        try await world.index.execute("UPDATE sol_events SET program = owner WHERE slot = 280")
        let first = try await world.view.allowances(wallet: world.wallet.description, token: nil, cursor: nil, limit: 50)
        #expect(first.history.count == 50)
        #expect(first.history.first?["block"]?.uint64Value == 1)
        #expect(first.nextCursor != nil)
    }

    @Test("a page is read through sol_events_by_party in history order: no sort, no scan, about as many rows read as returned", arguments: [nil, "USDC"])
    func queryPlan(_ token: String?) async throws {
        let world = try await SolanaHistoryWorld.make()
        defer { world.stop() }
        try await world.addMany(20_000)
        let mint = token.map { _ in world.usdc }
        // The first page and one from the middle of the history.
        let middle = try await world.view.allowances(wallet: world.wallet.description, token: token, cursor: nil, limit: 4_000)
        for cursor in [nil, middle.nextCursor] {
            let after = try SolanaChainView.position(cursor)
            let cost = try await #require(world.index.sqlite).read { db in
                let query = try #require(try SQLiteSolanaIndexStore.delegateHistoryQuery(db, chain: world.chain, owner: world.wallet, delegate: world.delegate,
                                                                                   mint: mint, after: after, limit: 51))
                var plan: [String] = []
                let explain = try db.statement("EXPLAIN QUERY PLAN " + query.sql)
                explain.bind(query.values)
                while try explain.step() { plan.append(explain.text(3)) }
                let select = try db.statement(query.sql)
                select.bind(query.values)
                let before = (select.virtualMachineSteps, select.sorts, select.fullScanSteps)  // the statement is cached: count from here
                var rows = 0
                while try select.step() { rows += 1 }
                return (rows: rows, steps: select.virtualMachineSteps - before.0, sorts: select.sorts - before.1,
                        fullScans: select.fullScanSteps - before.2, plan: plan)
            }
            #expect(cost.rows == 51)
            #expect(cost.sorts == 0, "\(cost.plan)")
            #expect(cost.fullScans == 0, "\(cost.plan)")
            #expect(!cost.plan.contains { $0.contains("TEMP B-TREE") || $0.hasPrefix("SCAN") }, "\(cost.plan)")
            #expect(cost.plan.filter { $0.contains("USING INDEX sol_events_by_party") }.count == 2, "\(cost.plan)")
            // A page of 51 of the history's 12,000 rows: about 3,500 steps (a token filter also passes over the other
            // token's rows in the range, about twice that); reading the whole history takes hundreds of thousands.
            #expect(cost.steps < 25_000, "\(cost.steps) steps for 51 rows: \(cost.plan)")
        }
        // The same pages through the view: every row once, in order.
        let pages = try await world.pages(limit: 500, token: token)
        let positions = pages.flatMap { $0 }.map { ($0["block"]?.uint64Value ?? 0) }
        #expect(positions == positions.sorted())
        #expect(positions.count == (token == nil ? 12_000 : 6_000))
    }

    /// What the planner knows when a page is read: nothing yet (a fresh database); only the events table analyzed
    /// (autovacuum analyzes a table once enough of its rows changed, so the big tables get statistics and the few
    /// token-account and key rows may never: a full-suite run once caught the page planned as a scan of the wallet's
    /// whole history and a sort in that state); everything analyzed.
    static let statistics = ["", "ANALYZE sol_events", "ANALYZE"]

    @Test("on PostgreSQL a page walks sol_events_by_party in order, one range per arm, reading about as many rows as it returns, whatever the statistics",
          arguments: [nil, "USDC"], statistics)
    func queryPlanPostgres(_ token: String?, statistics: String) async throws {
        let world = try await SolanaHistoryWorld.make(.postgres)
        defer { world.stop() }
        try await world.addMany(20_000)
        if !statistics.isEmpty { try await world.index.execute(statistics) }
        let pool = try #require(world.index.postgres)
        let mint = token.map { _ in world.usdc }
        let middle = try await world.view.allowances(wallet: world.wallet.description, token: token, cursor: nil, limit: 4_000)
        for cursor in [nil, middle.nextCursor] {
            let after = try SolanaChainView.position(cursor)
            var query = PostgresSolanaIndexStore.delegateHistoryQuery(chain: world.chain, owner: world.wallet, delegate: world.delegate, mint: mint,
                                                                      after: after, limit: 51)
            query.sql = "EXPLAIN (ANALYZE, FORMAT JSON) " + query.sql
            var text = ""
            for try await line in try await pool.client.query(query, logger: pool.logger).decode(ByteBuffer.self) {
                text += String(decoding: line.readableBytesView, as: UTF8.self)
            }
            var nodes: [[String: Any]] = []
            func walk(_ node: [String: Any]) {
                nodes.append(node)
                for child in node["Plans"] as? [[String: Any]] ?? [] { walk(child) }
            }
            let document = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]])
            walk(try #require(document.first?["Plan"] as? [String: Any]))
            func number(_ node: [String: Any], _ key: String) -> Double { (node[key] as? NSNumber)?.doubleValue ?? 0 }
            let party = nodes.filter { $0["Index Name"] as? String == "sol_events_by_party" }
            #expect(party.count == 2, "\(text)")
            #expect(party.allSatisfy { $0["Node Type"] as? String == "Index Scan" }, "\(text)")
            #expect(!nodes.contains { $0["Relation Name"] as? String == "sol_events" && $0["Node Type"] as? String != "Index Scan" }, "\(text)")
            // The two ranges together read a few hundred of the history's 12,000 rows (the revoke range, with a token filter,
            // passes over the other token's revokes: up to 1,000); only the page's 51 rows are ever sorted.
            let read = party.reduce(0) { $0 + (number($1, "Actual Rows") + number($1, "Rows Removed by Filter")) * max(1, number($1, "Actual Loops")) }
            #expect(read < 2_500, "\(read) rows read for 51: \(text)")
            #expect(nodes.filter { $0["Node Type"] as? String == "Sort" }.allSatisfy { number($0, "Actual Rows") <= 51 }, "\(text)")
        }
        let pages = try await world.pages(limit: 500, token: token)
        let positions = pages.flatMap { $0 }.map { ($0["block"]?.uint64Value ?? 0) }
        #expect(positions == positions.sorted())
        #expect(positions.count == (token == nil ? 12_000 : 6_000))
    }

    /// Cursors as decoded text (the API hex-encodes them); a leading "!" passes the rest as it is, unencoded.
    static let zeros = String(repeating: "0", count: 128)
    static let hostile = [
        "2", "0", "18446744073709551615", "-1", "!not hex", "!zz", "!", "!abc",
        "::", "1:::", "1:\(zeros):0", "1:\(zeros):0:-1:5", "9223372036854775808:\(zeros):0:-1", "-1:\(zeros):0:0",
        "1:\(zeros.dropLast()):0:-1", "1:\(String(repeating: "g", count: 128)):0:-1", "1:\(zeros):-5:-1", "1:\(zeros):0:-2",
        "1:\(zeros):0:99999999999999999999", "1:\(zeros):x:0", "1: \(zeros):0:0",
    ]

    @Test("old offset cursors and hostile cursors are a 400 naming the cursor, never a trap", arguments: hostile)
    func hostileCursors(_ raw: String) async throws {
        let world = try await SolanaHistoryWorld.make()
        defer { world.stop() }
        try await world.add(slot: 10, .approve(to: world.delegate, checked: true))
        try await world.add(slot: 11, .transfer(by: world.delegate, checked: true))
        let cursor = raw.hasPrefix("!") ? String(raw.dropFirst()) : Hex.encode(Array(raw.utf8))
        do {
            let page = try await world.view.allowances(wallet: world.wallet.description, token: nil, cursor: cursor, limit: 1)
            Issue.record("cursor '\(raw)' was accepted: \(page.history.count) rows")
        } catch let error as APIError {
            #expect(error.status.code == 400, "\(raw): \(error)")
            #expect(error.message.contains("cursor"), "\(raw): \(error)")
        }
    }
}
