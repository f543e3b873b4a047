import EVM
@_spi(Explain) @testable import EVMIndexer
import Foundation
import PostgresNIO
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

/// A PostgreSQL plan: the lines of EXPLAIN ANALYZE (run, with actual row counts) for `query` with its values.
func postgresPlan(_ store: PostgresEVMIndexStore, _ query: PostgresQuery) async throws -> [String] {
    var lines: [String] = []
    let rows = try await store.database.client.query(PostgresQuery(unsafeSQL: "EXPLAIN ANALYZE " + query.sql, binds: query.binds),
                                                     logger: store.database.logger)
    for try await line in rows.decode(String.self) { lines.append(line) }
    return lines
}

/// A test address: 12 bytes 0x11, then `n` big-endian.
func testAddress(_ n: Int64) -> EVMAddress {
    // 20 bytes by construction.
    try! EVMAddress(bytes: Array(repeating: 0x11, count: 12) + withUnsafeBytes(of: n.bigEndian, Array.init))
}

@Suite("EVM allowance history: pages in SQL")
struct AllowanceHistoryQueryTests {
    /// A chain with `others` approvals by 500 other wallets and 40 by `owner` (to our spender, in two tokens), spread
    /// out, written through the store.
    static func world(_ index: IndexUnderTest, others: Int) async throws -> (chain: Int64, owner: EVMAddress, token: EVMAddress, spender: EVMAddress) {
        let store = index.store
        let chain = try await store.register(name: "base", chainID: 8453, mode: "full", startBlock: 0).id
        let owner = try EVMAddress(hex: "0x00000000000000000000000000000000000000aa")
        let token = try EVMAddress(hex: "0x00000000000000000000000000000000000000bb")
        let other = try EVMAddress(hex: "0x00000000000000000000000000000000000000cc")
        let spender = try EVMAddress(hex: "0x00000000000000000000000000000000000000dd")
        var batch = IndexBatch(fromBlock: 0, toBlock: UInt64(others + 39))
        let ours = max(1, others / 40)
        let hash = try Hash32(bytes: Array(repeating: 1, count: 32))
        for block in 0..<(others + 40) {
            let mine = block % (ours + 1) == 0
            batch.approvals.append(ApprovalRecord(block: UInt64(block), logIndex: 0, blockTime: 0, transactionHash: hash,
                                                  token: mine && block % 2 == 1 ? other : token,
                                                  owner: mine ? owner : testAddress(Int64(5 + block % 500)), spender: spender, value: 0))
        }
        try await store.commit(batch, chain: chain)
        return (chain, owner, token, spender)
    }

    @Test("a page of a wallet's approvals to our spender reads that page through an index, not every approval of the chain; no sort",
          arguments: IndexBackend.allCases)
    func pageReadsItsRows(_ backend: IndexBackend) async throws {
        let index = try await backend.open()
        defer { index.close() }
        let (chain, owner, token, spender) = try await Self.world(index, others: 20_000)
        for token in [nil, token] {
            if let sqlite = index.sqlite {
                let cost = try await sqlite.database.read { db in
                    let query = try #require(try SQLiteEVMIndexStore.allowanceHistoryQuery(db, chain: chain, owner: owner, token: token, spender: spender,
                                                                                        after: (3, 0), limit: 11))
                    return try QueryCost.measure(db, query.sql, query.values)
                }
                #expect(cost.rows == 11, "\(cost.plan)")
                #expect(cost.sorts == 0, "\(cost.plan)")
                // The subquery (`k`, the positions from the index) is the outer loop; every row then by its key.
                #expect(!cost.plan.contains { $0.contains("TEMP B-TREE") || ($0.hasPrefix("SCAN") && $0 != "SCAN k") }, "\(cost.plan)")
                #expect(cost.plan.contains { $0.contains("COVERING INDEX evm_approvals_by_owner_spender") }, "\(cost.plan)")
                #expect(cost.plan.contains { $0.contains("SEARCH e USING PRIMARY KEY (chain=? AND block=? AND log_index=?)") }, "\(cost.plan)")
                #expect(cost.steps < 2_000, "a page of 11 rows took \(cost.steps) steps: \(cost.plan)")
            }
            // Whatever the planner knows: nothing yet, the big table analyzed (autovacuum's order; the small address
            // table may never be), everything.
            for statistics in ["", "ANALYZE evm_approvals", "ANALYZE"] {
                guard let postgres = index.postgres else { break }
                if !statistics.isEmpty { try await index.execute(statistics) }
                let plan = try await postgresPlan(postgres, PostgresEVMIndexStore.allowanceHistoryQuery(
                    chain: chain, owner: owner, token: token, spender: spender, after: (3, 0), limit: 11))
                #expect(!plan.contains { $0.contains("Seq Scan") || $0.contains("Sort") }, "\(statistics): \(plan)")
                // The page's rows, read in the index's order and no more.
                let scan = plan.first { $0.contains("Index Scan using evm_approvals_by_owner_spender") }
                #expect(scan?.hasSuffix("rows=11 loops=1)") == true, "\(statistics): \(plan)")
            }
        }
        // And the pages are right: the owner's approvals, oldest first, each page after the last.
        let page = try await index.store.allowanceHistory(chain: chain, owner: owner, token: nil, spender: spender, after: nil, limit: 11)
        #expect(page.count == 11)
        #expect(page.allSatisfy { $0.owner == owner && $0.spender == spender })
        #expect(page.map(\.block) == page.map(\.block).sorted())
        let last = try #require(page.last)
        let next = try await index.store.allowanceHistory(chain: chain, owner: owner, token: nil, spender: spender,
                                                          after: (last.block, last.logIndex), limit: 11)
        #expect(next.count == 11 && next.allSatisfy { $0.block > last.block && $0.owner == owner })
        let all = try await index.store.allowanceHistory(chain: chain, owner: owner, spender: spender)
        #expect(all.count >= 40 && all.prefix(22).map(\.block) == (page + next).map(\.block))
        let inToken = try await index.store.allowanceHistory(chain: chain, owner: owner, token: token, spender: spender)
        #expect(!inToken.isEmpty && inToken.count < all.count && inToken.allSatisfy { $0.token == token })
        #expect(try await index.store.allowanceHistory(chain: chain, owner: testAddress(999_999)).isEmpty)
    }
}

extension AllowanceHistoryQueryTests {
    @Test("an API page (current allowances and a page of history, one read) holds what the chain's rows say, page after page",
          arguments: IndexBackend.allCases)
    func apiPage(_ backend: IndexBackend) async throws {
        let index = try await backend.open()
        defer { index.close() }
        let store = index.store
        let (chain, owner, token, spender) = try await Self.world(index, others: 2_000)
        try await store.saveStates(chain: chain, allowances: [AllowanceState(token: token, owner: owner, spender: spender, value: 7, asOfBlock: 9)],
                                   balances: [])
        // Ground truth from another query: every approval of the chain by block range, filtered here.
        let everything = try await store.approvals(chain: chain, from: 0, to: .max)
        for filter in [nil, token] {
            let expected = everything.filter { $0.owner == owner && $0.spender == spender && (filter == nil || $0.token == filter) }
            #expect(expected.count >= 20 && Set(expected.map(\.token)).count == (filter == nil ? 2 : 1))
            var seen: [ApprovalRecord] = []
            var after: (block: UInt64, logIndex: UInt64)?
            while true {
                let page = try #require(try await store.allowancePage(chain: "base", owner: owner, token: filter, spender: spender, after: after, limit: 7))
                #expect(page.current == [AllowanceState(token: token, owner: owner, spender: spender, value: 7, asOfBlock: 9)])
                #expect(page.history.count <= 7)
                seen += page.history
                guard let last = page.history.last, page.history.count == 7 else { break }
                after = (last.block, last.logIndex)
            }
            #expect(seen == expected)
        }
        #expect(try await store.allowancePage(chain: "elsewhere", owner: owner, token: nil, spender: spender, after: nil, limit: 7) == nil)
        #expect(try await store.allowancePage(chain: "base", owner: testAddress(999_999), token: nil, spender: spender, after: nil, limit: 7)
                == AllowancePageRows(current: [], history: []))
        #expect(try await store.allowancePage(chain: "base", owner: owner, token: testAddress(999_998), spender: spender, after: nil, limit: 7)
                == AllowancePageRows(current: [], history: []))
    }
}

@Suite("EVM current allowances and balances: a wallet's rows, not the chain's")
struct CurrentStateQueryTests {
    @Test("a wallet's current allowances and balances read its own rows through an index, not every tracked wallet's",
          arguments: IndexBackend.allCases)
    func ownRows(_ backend: IndexBackend) async throws {
        let index = try await backend.open()
        defer { index.close() }
        let store = index.store
        let chain = try await store.register(name: "base", chainID: 8453, mode: "scoped", startBlock: 0).id
        let owner = try EVMAddress(hex: "0x00000000000000000000000000000000000000aa")
        let usdc = try EVMAddress(hex: "0x00000000000000000000000000000000000000bb")
        let eurc = try EVMAddress(hex: "0x00000000000000000000000000000000000000cc")
        let spender = try EVMAddress(hex: "0x00000000000000000000000000000000000000dd")
        // 10,000 other wallets with an allowance and a balance in each token, and ours.
        var allowances: [AllowanceState] = []
        var balances: [BalanceState] = []
        for wallet in [owner] + (Int64(5)..<10_005).map(testAddress) {
            for token in [usdc, eurc] {
                allowances.append(AllowanceState(token: token, owner: wallet, spender: spender, value: 0, asOfBlock: 7))
                balances.append(BalanceState(token: token, owner: wallet, value: 0, asOfBlock: 7))
            }
        }
        try await store.saveStates(chain: chain, allowances: allowances, balances: balances)
        if index.postgres != nil { try await index.execute("ANALYZE") }
        for token in [nil, usdc] {
            if let sqlite = index.sqlite {
                let costs = try await sqlite.database.read { db in
                    let allowances = try #require(try SQLiteEVMIndexStore.currentAllowancesQuery(db, chain: chain, owner: owner, token: token, spender: spender))
                    let balances = try #require(try SQLiteEVMIndexStore.balancesQuery(db, chain: chain, owner: owner, token: token))
                    return [try QueryCost.measure(db, allowances.sql, allowances.values), try QueryCost.measure(db, balances.sql, balances.values)]
                }
                for cost in costs {
                    #expect(cost.rows == (token == nil ? 2 : 1), "\(cost.plan)")
                    #expect(!cost.plan.contains { $0.contains("USING PRIMARY KEY (chain=?)") || $0.hasPrefix("SCAN") }, "\(cost.plan)")
                    #expect(cost.steps < 500, "\(cost.rows) rows took \(cost.steps) steps: \(cost.plan)")
                }
            }
            if let postgres = index.postgres {
                let allowancePlan = try await postgresPlan(postgres, PostgresEVMIndexStore.currentAllowancesQuery(
                    chain: chain, owner: owner, token: token, spender: spender))
                let balancePlan = try await postgresPlan(postgres, PostgresEVMIndexStore.balancesQuery(chain: chain, owner: owner, token: token))
                #expect(!allowancePlan.contains { $0.contains("Seq Scan on evm_allowances") }, "\(allowancePlan)")
                #expect(allowancePlan.contains { $0.contains("evm_allowances_by_owner") }, "\(allowancePlan)")
                #expect(!balancePlan.contains { $0.contains("Seq Scan on evm_balances") }, "\(balancePlan)")
                #expect(balancePlan.contains { $0.contains("evm_balances_by_owner") }, "\(balancePlan)")
            }
        }
        #expect(try await store.currentAllowances(chain: chain, owner: owner, token: nil, spender: spender).map(\.token) == [usdc, eurc])
        #expect(try await store.balances(chain: chain, owner: owner, token: eurc).map(\.token) == [eurc])
        #expect(try await store.balances(chain: chain, owner: testAddress(6)).count == 2)
    }
}
