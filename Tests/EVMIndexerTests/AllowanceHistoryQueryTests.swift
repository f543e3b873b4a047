import EVM
@testable import EVMIndexer
import Foundation
import SettleCore
import Store
import TestSupport
import Testing

/// What running one query cost: the rows it returned, SQLite's virtual machine steps and sorts, and its plan.
struct QueryCost {
    var rows = 0
    var steps = 0
    var sorts = 0
    var plan: [String] = []

    static func measure(_ db: SQLiteConnection, _ sql: String, _ values: [SQLiteValue]) throws -> QueryCost {
        var cost = QueryCost()
        let explain = try db.statement("EXPLAIN QUERY PLAN " + sql)
        explain.bind(values)
        while try explain.step() { cost.plan.append(explain.text(3)) }
        let select = try db.statement(sql)
        select.bind(values)
        let before = (select.virtualMachineSteps, select.sorts)
        while try select.step() { cost.rows += 1 }
        cost.steps = select.virtualMachineSteps - before.0
        cost.sorts = select.sorts - before.1
        return cost
    }
}

@Suite("EVM allowance history: pages in SQL")
struct AllowanceHistoryQueryTests {
    /// A chain with `others` approvals by other wallets and 40 by `owner` (to our spender, in two tokens), spread out.
    static func world(others: Int) async throws -> (store: EVMIndexStore, chain: Int64, owner: EVMAddress, token: EVMAddress, spender: EVMAddress) {
        let store = EVMIndexStore(database: try Database(path: try temporaryDirectory("settle-evm-history").appendingPathComponent("db.sqlite").path,
                                                         durability: .normal))
        try await store.migrate()
        let chain = try await store.register(name: "base", chainID: 8453, mode: "full", startBlock: 0).id
        let owner = try EVMAddress(hex: "0x00000000000000000000000000000000000000aa")
        let token = try EVMAddress(hex: "0x00000000000000000000000000000000000000bb")
        let other = try EVMAddress(hex: "0x00000000000000000000000000000000000000cc")
        let spender = try EVMAddress(hex: "0x00000000000000000000000000000000000000dd")
        try await store.database.write { db in
            let address = try db.statement("INSERT INTO evm_addresses(id, address) VALUES (?, ?)")
            for (id, value) in [(1, owner), (2, token), (3, other), (4, spender)] { try address.run([.integer(Int64(id)), .blob(Array(value.bytes))]) }
            for id in 5..<(5 + 500) { try address.run([.integer(Int64(id)), .blob(Array(repeating: 0x11, count: 12) + withUnsafeBytes(of: Int64(id).bigEndian, Array.init))]) }
            let approval = try db.statement("INSERT INTO evm_approvals VALUES (?, ?, 0, 0, ?, ?, ?, ?, ?)")
            let ours = max(1, others / 40)
            for block in 0..<(others + 40) {
                let mine = block % (ours + 1) == 0
                try approval.run([.integer(chain), .integer(Int64(block)), .blob(Array(repeating: 1, count: 32)),
                                  .integer(mine && block % 2 == 1 ? 3 : 2), .integer(mine ? 1 : Int64(5 + block % 500)), .integer(4),
                                  .blob(Array(repeating: 0, count: 32))])
            }
        }
        return (store, chain, owner, token, spender)
    }

    @Test("a page of a wallet's approvals to our spender reads that page through an index, not every approval of the chain; no sort")
    func pageReadsItsRows() async throws {
        let (store, chain, owner, token, spender) = try await Self.world(others: 20_000)
        for token in [nil, token] {
            let cost = try await store.database.read { db in
                let query = try #require(try EVMIndexStore.allowanceHistoryKeys(db, chain: chain, owner: owner, token: token, spender: spender,
                                                                                after: (3, 0), limit: 11))
                return try QueryCost.measure(db, query.sql, query.values)
            }
            #expect(cost.rows == 11, "\(cost.plan)")
            #expect(cost.sorts == 0, "\(cost.plan)")
            #expect(!cost.plan.contains { $0.contains("TEMP B-TREE") || $0.hasPrefix("SCAN") }, "\(cost.plan)")
            #expect(cost.plan.contains { $0.contains("evm_approvals_by_owner_spender") }, "\(cost.plan)")
            #expect(cost.steps < 2_000, "a page of 11 rows took \(cost.steps) steps: \(cost.plan)")
        }
        // And the page is right: the owner's approvals, oldest first.
        let page = try await store.allowanceHistory(chain: chain, owner: owner, spender: spender, limit: 11)
        #expect(page.count == 11)
        #expect(page.allSatisfy { $0.owner == owner && $0.spender == spender })
        #expect(page.map(\.block) == page.map(\.block).sorted())
    }
}

@Suite("EVM current allowances and balances: a wallet's rows, not the chain's")
struct CurrentStateQueryTests {
    @Test("a wallet's current allowances and balances read its own rows through an index, not every tracked wallet's")
    func ownRows() async throws {
        let store = EVMIndexStore(database: try Database(path: try temporaryDirectory("settle-evm-state").appendingPathComponent("db.sqlite").path,
                                                         durability: .normal))
        try await store.migrate()
        let chain = try await store.register(name: "base", chainID: 8453, mode: "scoped", startBlock: 0).id
        let owner = try EVMAddress(hex: "0x00000000000000000000000000000000000000aa")
        let usdc = try EVMAddress(hex: "0x00000000000000000000000000000000000000bb")
        let eurc = try EVMAddress(hex: "0x00000000000000000000000000000000000000cc")
        let spender = try EVMAddress(hex: "0x00000000000000000000000000000000000000dd")
        // 10,000 other wallets with an allowance and a balance in each token, and ours.
        try await store.database.write { db in
            let address = try db.statement("INSERT INTO evm_addresses(id, address) VALUES (?, ?)")
            for (id, value) in [(1, owner), (2, usdc), (3, eurc), (4, spender)] { try address.run([.integer(Int64(id)), .blob(value.bytes)]) }
            let allowance = try db.statement("INSERT INTO evm_allowances VALUES (?, ?, ?, 4, zeroblob(32), 7)")
            let balance = try db.statement("INSERT INTO evm_balances VALUES (?, ?, ?, zeroblob(32), 7)")
            for id in Int64(5)..<10_005 {
                try address.run([.integer(id), .blob(Array(repeating: 0x11, count: 12) + withUnsafeBytes(of: id.bigEndian, Array.init))])
            }
            for id in [Int64(1)] + Array(Int64(5)..<10_005) {
                for token in [Int64(2), 3] {
                    try allowance.run([.integer(chain), .integer(token), .integer(id)])
                    try balance.run([.integer(chain), .integer(token), .integer(id)])
                }
            }
        }
        for token in [nil, usdc] {
            let costs = try await store.database.read { db in
                let allowances = try #require(try EVMIndexStore.currentAllowancesQuery(db, chain: chain, owner: owner, token: token, spender: spender))
                let balances = try #require(try EVMIndexStore.balancesQuery(db, chain: chain, owner: owner, token: token))
                return [try QueryCost.measure(db, allowances.sql, allowances.values), try QueryCost.measure(db, balances.sql, balances.values)]
            }
            for cost in costs {
                #expect(cost.rows == (token == nil ? 2 : 1), "\(cost.plan)")
                #expect(!cost.plan.contains { $0.contains("USING PRIMARY KEY (chain=?)") || $0.hasPrefix("SCAN") }, "\(cost.plan)")
                #expect(cost.steps < 500, "\(cost.rows) rows took \(cost.steps) steps: \(cost.plan)")
            }
        }
        #expect(try await store.currentAllowances(chain: chain, owner: owner, spender: spender).map(\.token) == [usdc, eurc])
        #expect(try await store.balances(chain: chain, owner: owner, token: eurc).map(\.token) == [eurc])
    }
}
