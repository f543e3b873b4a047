import EVM
import EVMIndexer
import Leases
import SettleCore
import Store
import TestSupport
import Testing

/// The index store's contract, the same on SQLite and PostgreSQL: what a commit writes and the cursor it moves,
/// rollback, replay's range replacement, states, watched transactions, refusals that write nothing, fencing, and
/// stored values that are not what the schema promises.
@Suite("EVM index store on both backends")
struct EVMIndexStoreTests {
    static let token = testAddress(1)
    static let owner = testAddress(2)
    static let spender = testAddress(3)
    static let treasury = testAddress(4)

    static func hash(_ n: UInt8) -> Hash32 {
        // 32 bytes by construction.
        try! Hash32(bytes: [UInt8](repeating: n, count: 32))
    }

    static func header(_ number: UInt64) -> BlockHeader {
        BlockHeader(number: number, hash: hash(UInt8(number % 200) + 1), parentHash: hash(UInt8((number + 199) % 200) + 1), timestamp: 1_000 + number)
    }

    /// A batch over `from...to` with one approval and one transfer per block, headers of every block, the owner tracked.
    static func batch(_ from: UInt64, _ to: UInt64) -> IndexBatch {
        var batch = IndexBatch(fromBlock: from, toBlock: to)
        for block in from...to {
            batch.headers.append(header(block))
            batch.approvals.append(ApprovalRecord(block: block, logIndex: 0, blockTime: 1_000 + block, transactionHash: hash(7), token: token,
                                                  owner: owner, spender: spender, value: UInt256(block)))
            batch.transfers.append(TransferRecord(block: block, logIndex: 1, blockTime: 1_000 + block, transactionHash: hash(8), token: token,
                                                  from: owner, to: treasury, value: UInt256(block * 10)))
        }
        batch.newOwners = [(owner, from)]
        batch.headBlock = to + 5
        batch.finalizedBlock = to
        return batch
    }

    @Test("commit writes rows and moves the cursor; reads give them back; rollback and replace undo and redo a range",
          arguments: IndexBackend.allCases)
    func commitRollbackReplace(_ backend: IndexBackend) async throws {
        let index = try await backend.open()
        defer { index.close() }
        let store = index.store
        let cursor = try await store.register(name: "base", chainID: 8453, mode: "scoped", startBlock: 100)
        #expect(cursor.nextBlock == 100 && cursor.headBlock == nil && cursor.finalizedBlock == nil)
        #expect(try await store.register(name: "base", chainID: 8453, mode: "scoped", startBlock: 5) == cursor)
        #expect(try await store.chainID(named: "base") == cursor.id)
        #expect(try await store.chainID(named: "other") == nil)
        let chain = cursor.id

        var first = Self.batch(100, 109)
        first.allowances = [AllowanceState(token: Self.token, owner: Self.owner, spender: Self.spender, value: 109, asOfBlock: 109)]
        first.balances = [BalanceState(token: Self.token, owner: Self.owner, value: 5_000, asOfBlock: 109)]
        try await store.commit(first, chain: chain)
        try await store.commit(Self.batch(110, 119), chain: chain)
        let moved = try await store.cursor(chain: chain)
        #expect(moved.nextBlock == 120 && moved.headBlock == 124 && moved.finalizedBlock == 119)

        #expect(try await store.approvals(chain: chain, from: 0, to: .max) == first.approvals + Self.batch(110, 119).approvals)
        #expect(try await store.transfers(chain: chain, from: 105, to: 106) == Array(first.transfers[5...6]))
        #expect(try await store.header(chain: chain, number: 115) == Self.header(115))
        #expect(try await store.header(chain: chain, number: .max) == nil)
        #expect(try await store.headers(chain: chain, atOrBelow: 119, limit: 3).map(\.number) == [119, 118, 117])
        #expect(try await store.trackedOwners(chain: chain) == [Self.owner: 100])
        #expect(try await store.currentAllowances(chain: chain, owner: Self.owner).map(\.value) == [109])
        #expect(try await store.balances(chain: chain, owner: Self.owner, token: Self.token).map(\.asOfBlock) == [109])
        let page = try await store.allowanceHistory(chain: chain, owner: Self.owner, token: Self.token, spender: Self.spender, after: (104, 0), limit: 3)
        #expect(page.map(\.block) == [105, 106, 107])

        // Pruning headers below a block.
        var prune = IndexBatch(fromBlock: 120, toBlock: 120)
        prune.pruneHeadersBelow = 110
        try await store.commit(prune, chain: chain)
        #expect(try await store.header(chain: chain, number: 109) == nil)
        #expect(try await store.header(chain: chain, number: 110) != nil)

        // Rollback above 114: rows, headers and the cursor go back; head and finalized marks stay.
        let summary = try await store.rollback(chain: chain, above: 114)
        #expect(summary == RollbackSummary(approvalsRemoved: 5, transfersRemoved: 5, headersRemoved: 5))
        #expect(try await store.cursor(chain: chain).nextBlock == 115)
        #expect(try await store.approvals(chain: chain, from: 115, to: .max).isEmpty)
        #expect(try await store.header(chain: chain, number: 115) == nil)

        // Replay's repair of 110...112: one approval changed, the transfers gone, a new owner tracked earlier.
        var changed = Self.batch(110, 112).approvals
        changed[1].value = 999
        let newcomer = testAddress(9)
        try await store.replaceRange(chain: chain, from: 110, to: 112, approvals: changed, transfers: [], headers: [Self.header(111)],
                                     newOwners: [(newcomer, 111), (Self.owner, 90)], lease: nil)
        #expect(try await store.approvals(chain: chain, from: 110, to: 112).map(\.value) == [110, 999, 112])
        #expect(try await store.transfers(chain: chain, from: 110, to: 112).isEmpty)
        #expect(try await store.transfers(chain: chain, from: 113, to: 114).count == 2)
        #expect(try await store.trackedOwners(chain: chain) == [Self.owner: 90, newcomer: 111])
        #expect(try await store.cursor(chain: chain).nextBlock == 115)
        // A replay past the cursor is refused.
        await #expect(throws: EVMIndexError.self) {
            try await store.replaceRange(chain: chain, from: 114, to: 115, approvals: [], transfers: [], headers: [], newOwners: [], lease: nil)
        }
    }

    @Test("refusals write nothing: a batch not at the cursor, another chain id or mode, a repeated log", arguments: IndexBackend.allCases)
    func refusals(_ backend: IndexBackend) async throws {
        let index = try await backend.open()
        defer { index.close() }
        let store = index.store
        let chain = try await store.register(name: "base", chainID: 8453, mode: "full", startBlock: 0).id
        try await store.commit(Self.batch(0, 4), chain: chain)
        let skipping = await #expect(throws: EVMIndexError.self) { try await store.commit(Self.batch(6, 7), chain: chain) }
        #expect(skipping?.code == .cursorMismatch)
        await #expect(throws: EVMIndexError.self) { try await store.commit(Self.batch(3, 7), chain: chain) }
        var repeated = Self.batch(5, 6)
        repeated.approvals.append(repeated.approvals[0])
        await #expect(throws: StoreError.self) { try await store.commit(repeated, chain: chain) }
        #expect(try await store.cursor(chain: chain).nextBlock == 5)
        #expect(try await store.approvals(chain: chain, from: 0, to: .max).count == 5)
        #expect(try await store.header(chain: chain, number: 5) == nil)

        let otherID = await #expect(throws: EVMIndexError.self) { try await store.register(name: "base", chainID: 1, mode: "full", startBlock: 0) }
        #expect(otherID?.code == .chainMismatch)
        await #expect(throws: EVMIndexError.self) { try await store.register(name: "base", chainID: 8453, mode: "scoped", startBlock: 0) }
        await #expect(throws: EVMIndexError.self) { try await store.cursor(chain: chain + 1_000) }
    }

    @Test("writers racing on one chain (real concurrent transactions): one commit of a range lands, the others are refused",
          arguments: IndexBackend.allCases)
    func racingWriters(_ backend: IndexBackend) async throws {
        let index = try await backend.open()
        defer { index.close() }
        let store = index.store
        let chain = try await store.register(name: "base", chainID: 8453, mode: "full", startBlock: 0).id
        let outcomes = try await withThrowingTaskGroup(of: Bool.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    do {
                        try await store.commit(Self.batch(0, 4), chain: chain)
                        return true
                    } catch let error as EVMIndexError where error.code == .cursorMismatch {
                        return false
                    }
                }
            }
            var out: [Bool] = []
            for try await landed in group { out.append(landed) }
            return out
        }
        #expect(outcomes.filter { $0 }.count == 1)
        #expect(try await store.cursor(chain: chain).nextBlock == 5)
        #expect(try await store.approvals(chain: chain, from: 0, to: .max) == Self.batch(0, 4).approvals)
    }

    @Test("states: a read at an older block never replaces a newer one; the last of one key in a write wins", arguments: IndexBackend.allCases)
    func states(_ backend: IndexBackend) async throws {
        let index = try await backend.open()
        defer { index.close() }
        let store = index.store
        let chain = try await store.register(name: "base", chainID: 8453, mode: "scoped", startBlock: 0).id
        func allowance(_ value: UInt256, _ block: UInt64) -> AllowanceState {
            AllowanceState(token: Self.token, owner: Self.owner, spender: Self.spender, value: value, asOfBlock: block)
        }
        func balance(_ value: UInt256, _ block: UInt64) -> BalanceState { BalanceState(token: Self.token, owner: Self.owner, value: value, asOfBlock: block) }
        try await store.saveStates(chain: chain, allowances: [allowance(5, 10)], balances: [balance(50, 10)])
        try await store.saveStates(chain: chain, allowances: [allowance(4, 9)], balances: [balance(40, 9)])
        #expect(try await store.currentAllowances(chain: chain, owner: Self.owner).map(\.value) == [5])
        #expect(try await store.balances(chain: chain, owner: Self.owner).map(\.value) == [50])
        try await store.saveStates(chain: chain, allowances: [allowance(6, 11), allowance(7, 11), allowance(1, 3)],
                                   balances: [balance(60, 12), balance(70, 11)])
        #expect(try await store.currentAllowances(chain: chain, owner: Self.owner) == [allowance(7, 11)])
        #expect(try await store.balances(chain: chain, owner: Self.owner) == [balance(60, 12)])
        let max = UInt256(high: .max, low: .max)
        try await store.saveStates(chain: chain, allowances: [allowance(max, 20)], balances: [])
        #expect(try await store.currentAllowances(chain: chain, owner: Self.owner).map(\.value) == [max])
    }

    @Test("watched transactions: watch once, update, settle below the finalized block", arguments: IndexBackend.allCases)
    func watched(_ backend: IndexBackend) async throws {
        let index = try await backend.open()
        defer { index.close() }
        let store = index.store
        let chain = try await store.register(name: "base", chainID: 8453, mode: "scoped", startBlock: 0).id
        try await store.watch(chain: chain, hash: Self.hash(1), now: 100, lease: nil)
        try await store.watch(chain: chain, hash: Self.hash(1), now: 200, lease: nil)
        try await store.watch(chain: chain, hash: Self.hash(2), now: 150, lease: nil)
        var first = try #require(try await store.watched(chain: chain, hash: Self.hash(1)))
        #expect(first.status == .pending && first.firstSeen == 100 && first.block == nil && first.reorgCount == 0)
        first.status = .mined
        first.block = 40
        first.blockHash = Self.hash(40)
        first.gasUsed = 51_000
        first.reorgCount = 2
        try await store.update(chain: chain, first, now: 300)
        #expect(try await store.watched(chain: chain, hash: Self.hash(1)) == first)
        #expect(try await store.unsettledTransactions(chain: chain, finalized: 39).map(\.hash) == [Self.hash(1), Self.hash(2)])
        #expect(try await store.unsettledTransactions(chain: chain, finalized: 40).map(\.hash) == [Self.hash(2)])
        #expect(try await store.watched(chain: chain, hash: Self.hash(3)) == nil)
    }

    @Test("fencing: every index write under a lease that changed hands throws .fenced and writes nothing; the new holder's commits",
          arguments: IndexBackend.allCases)
    func fencing(_ backend: IndexBackend) async throws {
        let index = try await backend.open()
        defer { index.close() }
        let store = index.store
        let chain = try await store.register(name: "base", chainID: 8453, mode: "scoped", startBlock: 0).id
        let a = try #require(try await index.leases.acquire("index base", holder: "daemon-a", now: 1_000, ttl: 100))
        try await store.commit(Self.batch(0, 4), chain: chain, lease: a)
        try await store.watch(chain: chain, hash: Self.hash(1), now: 1, lease: a)
        // daemon-a pauses past its lease; daemon-b takes the work over with the next epoch.
        let b = try #require(try await index.leases.acquire("index base", holder: "daemon-b", now: 1_200, ttl: 100))
        #expect(b.epoch == a.epoch + 1)

        func expectFenced(_ write: String, _ body: () async throws -> Void) async {
            let error = await #expect(throws: StoreError.self, "\(write)") { try await body() }
            #expect(error?.code == .fenced, "\(write): \(String(describing: error))")
        }
        var late = Self.batch(5, 9)
        late.allowances = [AllowanceState(token: Self.token, owner: Self.owner, spender: Self.spender, value: 1, asOfBlock: 9)]
        await expectFenced("commit") { try await store.commit(late, chain: chain, lease: a) }
        await expectFenced("saveStates") {
            try await store.saveStates(chain: chain, allowances: late.allowances, balances: [], lease: a)
        }
        await expectFenced("rollback") { _ = try await store.rollback(chain: chain, above: 1, lease: a) }
        await expectFenced("replaceRange") {
            try await store.replaceRange(chain: chain, from: 0, to: 4, approvals: [], transfers: [], headers: [], newOwners: [], lease: a)
        }
        await expectFenced("watch") { try await store.watch(chain: chain, hash: Self.hash(2), now: 2, lease: a) }
        var settled = try #require(try await store.watched(chain: chain, hash: Self.hash(1)))
        settled.status = .dropped
        await expectFenced("update") { try await store.update(chain: chain, settled, now: 3, lease: a) }

        // Nothing of daemon-a's late writes is there: rows, headers, states, cursor and watched transactions as before.
        let cursor = try await store.cursor(chain: chain)
        #expect(cursor.nextBlock == 5 && cursor.headBlock == 9 && cursor.finalizedBlock == 4)
        #expect(try await store.approvals(chain: chain, from: 0, to: .max) == Self.batch(0, 4).approvals)
        #expect(try await store.transfers(chain: chain, from: 0, to: .max) == Self.batch(0, 4).transfers)
        #expect(try await store.header(chain: chain, number: 5) == nil)
        #expect(try await store.currentAllowances(chain: chain, owner: Self.owner).isEmpty)
        #expect(try await store.watched(chain: chain, hash: Self.hash(1))?.status == .pending)
        #expect(try await store.watched(chain: chain, hash: Self.hash(2)) == nil)

        // The current holder commits the same range.
        try await store.commit(late, chain: chain, lease: b)
        #expect(try await store.cursor(chain: chain).nextBlock == 10)
        #expect(try await store.approvals(chain: chain, from: 5, to: 9) == late.approvals)
        // A lease never stored fences too.
        await expectFenced("unknown lease") {
            try await store.commit(Self.batch(10, 10), chain: chain, lease: Lease(name: "index other", holder: "daemon-b", epoch: 1, expiresAt: .max))
        }
    }

    @Test("a stored value the schema forbids (a negative number, a short hash) is .corruptValue, not a trap", arguments: IndexBackend.allCases)
    func corruptValues(_ backend: IndexBackend) async throws {
        let index = try await backend.open()
        defer { index.close() }
        let store = index.store
        let chain = try await store.register(name: "base", chainID: 8453, mode: "full", startBlock: 0).id
        try await store.commit(Self.batch(0, 1), chain: chain)
        try await store.watch(chain: chain, hash: Self.hash(1), now: 5, lease: nil)
        func expectCorrupt(_ what: String, _ body: () async throws -> Void) async {
            let error = await #expect(throws: StoreError.self, "\(what)") { try await body() }
            #expect(error?.code == .corruptValue, "\(what): \(String(describing: error))")
        }
        try await index.execute("UPDATE evm_chains SET head_block = -5 WHERE id = \(chain)")
        await expectCorrupt("cursor") { _ = try await store.cursor(chain: chain) }
        await expectCorrupt("register") { _ = try await store.register(name: "base", chainID: 8453, mode: "full", startBlock: 0) }
        try await index.execute("UPDATE evm_approvals SET block_time = -1 WHERE chain = \(chain) AND block = 1")
        await expectCorrupt("approvals") { _ = try await store.approvals(chain: chain, from: 0, to: 1) }
        await expectCorrupt("history") { _ = try await store.allowanceHistory(chain: chain, owner: Self.owner) }
        try await index.execute("UPDATE evm_transfers SET log_index = -1 WHERE chain = \(chain) AND block = 0")
        await expectCorrupt("transfers") { _ = try await store.transfers(chain: chain, from: 0, to: 1) }
        try await index.execute("UPDATE evm_blocks SET timestamp = -1 WHERE chain = \(chain) AND number = 1")
        await expectCorrupt("header") { _ = try await store.header(chain: chain, number: 1) }
        await expectCorrupt("headers") { _ = try await store.headers(chain: chain, atOrBelow: 1, limit: 5) }
        try await index.execute("UPDATE evm_tracked_owners SET first_block = -3 WHERE chain = \(chain)")
        await expectCorrupt("tracked owners") { _ = try await store.trackedOwners(chain: chain) }
        try await index.execute("UPDATE evm_watched_transactions SET first_seen = -9 WHERE chain = \(chain)")
        await expectCorrupt("watched") { _ = try await store.watched(chain: chain, hash: Self.hash(1)) }
    }

    @Test("bulk load: SQLite defers its secondary indexes and builds them after; PostgreSQL (shared) keeps them", arguments: IndexBackend.allCases)
    func bulkLoad(_ backend: IndexBackend) async throws {
        let index = try await backend.open()
        defer { index.close() }
        let store = index.store
        let chain = try await store.register(name: "base", chainID: 8453, mode: "full", startBlock: 0).id
        func secondaryIndexes() async throws -> Int {
            if let sqlite = index.sqlite {
                return try await sqlite.database.read { db in
                    let s = try db.statement("SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = 'evm_approvals_by_owner_spender'")
                    return try s.step() ? s.int(0) : 0
                }
            }
            let postgres = try #require(index.postgres)
            var count = 0
            for try await n in try await postgres.database.client.query(
                "SELECT count(*) FROM pg_indexes WHERE indexname = 'evm_approvals_by_owner_spender'", logger: postgres.database.logger).decode(Int64.self)
            { count = Int(n) }
            return count
        }
        #expect(try await secondaryIndexes() == 1)
        let deferred = try await store.beginBulkLoad(chain: chain)
        #expect(deferred == (backend == .sqlite))
        #expect(try await secondaryIndexes() == (backend == .sqlite ? 0 : 1))
        try await store.commit(Self.batch(0, 9), chain: chain)
        if deferred { try await store.endBulkLoad(completed: true) }
        #expect(try await secondaryIndexes() == 1)
        #expect(try await store.allowanceHistory(chain: chain, owner: Self.owner).count == 10)
    }
}
