import SettleConfiguration
import EVM
import EVMIndexer
import Foundation
import SettleCore
import Store
import TestSupport
import Testing
import Transport

@Suite("EVM indexer against the py-evm devnet", .serialized)
struct EVMIndexerDevnetTests {
    /// After each step the index must equal what the token itself reports through eth_call.
    func expectMatchesChain(_ f: IndexerFixture, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        try await f.indexer.indexToHead()
        let chainAllowance = try await f.devnet.allowance(token: f.token, owner: f.customer.address, spender: f.spender.address)
        let chainBalance = try await f.devnet.balance(token: f.token, owner: f.customer.address)
        #expect(try await f.indexedAllowance() == chainAllowance, sourceLocation: sourceLocation)
        #expect(try await f.indexedBalance() == chainBalance, sourceLocation: sourceLocation)
    }

    @Test("approve, transferFrom, change, revoke, infinite: index matches allowance() and balanceOf() at every step")
    func lifecycle() async throws {
        let f = try await IndexerFixture.make(devnet: try await sharedDevnet.value, accountOffset: 0)
        try await f.devnet.approve(token: f.token, owner: f.customer, spender: f.spender.address, amount: 100_000_000)
        try await expectMatchesChain(f)
        #expect(try await f.indexedAllowance() == 100_000_000)

        try await f.devnet.transferFrom(token: f.token, spender: f.spender, from: f.customer.address, to: f.treasury.address, amount: 30_000_000)
        try await expectMatchesChain(f)
        #expect(try await f.indexedAllowance() == 70_000_000)
        #expect(try await f.indexedBalance() == 970_000_000)

        try await f.devnet.approve(token: f.token, owner: f.customer, spender: f.spender.address, amount: 500_000_000)
        try await expectMatchesChain(f)
        try await f.devnet.approve(token: f.token, owner: f.customer, spender: f.spender.address, amount: 0)
        try await expectMatchesChain(f)
        #expect(try await f.indexedAllowance() == 0)

        try await f.devnet.approve(token: f.token, owner: f.customer, spender: f.spender.address, amount: .max)
        try await expectMatchesChain(f)
        // An infinite allowance is not reduced by transferFrom (and snekmate emits no Approval for it).
        try await f.devnet.transferFrom(token: f.token, spender: f.spender, from: f.customer.address, to: f.treasury.address, amount: 10_000_000)
        try await expectMatchesChain(f)
        #expect(try await f.indexedAllowance() == .max)

        let history = try await f.store.allowanceHistory(chain: try await f.chain, owner: f.customer.address, token: f.token)
        // snekmate's transferFrom emits Approval(reduced) for finite allowances: 100, 70 (after transferFrom), 500, 0, max.
        #expect(history.map(\.value) == [100_000_000, 70_000_000, 500_000_000, 0, .max])
        #expect(history.map(\.block) == history.map(\.block).sorted())
        #expect(history.allSatisfy { $0.spender == f.spender.address && $0.blockTime > 0 })
        let transfers = try await f.store.transfers(chain: try await f.chain, from: 0, to: .max >> 1)
        #expect(transfers.filter { $0.from == f.customer.address }.map(\.value) == [30_000_000, 10_000_000])
    }

    @Test("scoped mode ignores approvals to other spenders and transfers of wallets that never approved us")
    func scope() async throws {
        let f = try await IndexerFixture.make(devnet: try await sharedDevnet.value, accountOffset: 1)
        let stranger = try await f.devnet.accounts()[9]
        try await f.devnet.mint(token: f.token, to: stranger.address, amount: 5_000_000)
        try await f.devnet.approve(token: f.token, owner: stranger, spender: f.treasury.address, amount: 1)  // not our spender
        try await f.devnet.transfer(token: f.token, from: stranger, to: f.treasury.address, amount: 1)
        try await f.indexer.indexToHead()
        let chain = try await f.chain
        #expect(try await f.store.allowanceHistory(chain: chain, owner: stranger.address).isEmpty)
        #expect(try await f.store.transfers(chain: chain, from: 0, to: .max >> 1).isEmpty)
        // Once the customer approves us, its transfers from that block on are indexed.
        try await f.devnet.approve(token: f.token, owner: f.customer, spender: f.spender.address, amount: 42)
        try await f.devnet.transfer(token: f.token, from: f.customer, to: stranger.address, amount: 7)
        try await f.indexer.indexToHead()
        #expect(try await f.store.transfers(chain: chain, from: 0, to: .max >> 1).map(\.value) == [7])
        #expect(try await f.indexedBalance() == 1_000_000_000 - 7)
    }

    @Test("full mode indexes every Approval and Transfer of the token, shrinking ranges past the node's result cap")
    func fullModeAdaptiveRanges() async throws {
        let devnet = try await Devnet.start(chainID: 1337, arguments: ["--max-logs", "7"])
        let f = try await IndexerFixture.make(devnet: devnet, mode: "full", maxLogRange: 500)
        for i in 0..<12 {
            try await devnet.transfer(token: f.token, from: f.customer, to: f.treasury.address, amount: UInt256(UInt64(i + 1)))
            try await devnet.approve(token: f.token, owner: f.customer, spender: f.treasury.address, amount: UInt256(UInt64(i)))
        }
        try await f.indexer.indexToHead()
        let chain = try await f.chain
        let transfers = try await f.store.transfers(chain: chain, from: 0, to: .max >> 1)
        // The mint is a Transfer from the zero address too.
        #expect(transfers.count == 13)
        #expect(transfers.filter { $0.from == f.customer.address }.map(\.value) == (1...12).map { UInt256(UInt64($0)) })
        #expect(try await f.store.allowanceHistory(chain: chain, owner: f.customer.address).count == 12)
    }

    @Test("a reorg rolls the index back to the common ancestor and re-indexes the new chain")
    func reorg() async throws {
        let devnet = try await Devnet.start()
        let f = try await IndexerFixture.make(devnet: devnet)
        try await f.indexer.indexToHead()
        let snapshot = try await devnet.snapshot()
        let forkPoint = try await devnet.blockNumber()
        try await devnet.approve(token: f.token, owner: f.customer, spender: f.spender.address, amount: 100_000_000)
        try await devnet.transferFrom(token: f.token, spender: f.spender, from: f.customer.address, to: f.treasury.address, amount: 60_000_000)
        try await f.indexer.indexToHead()
        #expect(try await f.indexedBalance() == 940_000_000)
        let chain = try await f.chain
        let oldHeader = try await f.store.header(chain: chain, number: forkPoint + 1)

        try await devnet.revert(snapshot)
        try await devnet.approve(token: f.token, owner: f.customer, spender: f.spender.address, amount: 7)
        try await devnet.mine(3)
        try await f.indexer.indexToHead()

        #expect(try await f.store.header(chain: chain, number: forkPoint + 1) != oldHeader)
        let history = try await f.store.allowanceHistory(chain: chain, owner: f.customer.address)
        #expect(history.map(\.value) == [7])
        #expect(history.first?.block == forkPoint + 1)
        #expect(try await f.store.transfers(chain: chain, from: forkPoint + 1, to: .max >> 1).isEmpty)
        #expect(try await f.indexedAllowance() == 7)
        #expect(try await f.indexedBalance() == 1_000_000_000)
        #expect(try await f.indexer.replay(from: 0, to: try await devnet.blockNumber()).clean)
    }

    @Test("replay finds and repairs rows that were removed, changed or invented")
    func replayRepairs() async throws {
        let f = try await IndexerFixture.make(devnet: try await sharedDevnet.value, accountOffset: 2)
        try await f.devnet.approve(token: f.token, owner: f.customer, spender: f.spender.address, amount: 100)
        try await f.devnet.transferFrom(token: f.token, spender: f.spender, from: f.customer.address, to: f.treasury.address, amount: 40)
        try await f.devnet.transfer(token: f.token, from: f.customer, to: f.treasury.address, amount: 5)
        try await f.indexer.indexToHead()
        let chain = try await f.chain
        // The indexed head, not the devnet's: other suites share the devnet and may add blocks meanwhile.
        let head = try await f.store.cursor(chain: chain).nextBlock - 1
        #expect(try await f.indexer.replay(from: 0, to: head).clean)

        let approvals = try await f.store.approvals(chain: chain, from: 0, to: head)
        let transfers = try await f.store.transfers(chain: chain, from: 0, to: head)
        let lostApproval = try #require(approvals.first)
        let changedTransfer = try #require(transfers.last)
        try await f.store.database.write { db in
            try db.statement("DELETE FROM evm_approvals WHERE block = ? AND log_index = ?").run([.integer(Int64(lostApproval.block)), .integer(Int64(lostApproval.logIndex))])
            try db.statement("UPDATE evm_transfers SET value = ? WHERE block = ? AND log_index = ?").run([.blob(UInt256(999).bigEndianBytes), .integer(Int64(changedTransfer.block)), .integer(Int64(changedTransfer.logIndex))])
            try db.statement("INSERT INTO evm_transfers SELECT chain, block, log_index + 100, block_time, tx_hash, token, sender, recipient, value FROM evm_transfers WHERE block = ? AND log_index = ?").run([.integer(Int64(changedTransfer.block)), .integer(Int64(changedTransfer.logIndex))])
        }
        let report = try await f.indexer.replay(from: 0, to: head)
        #expect(report.approvalsAdded == 1)
        #expect(report.transfersChanged == 1)
        #expect(report.transfersRemoved == 1)
        #expect(report.blocksChecked == head + 1)
        #expect(try await f.store.approvals(chain: chain, from: 0, to: head) == approvals)
        #expect(try await f.store.transfers(chain: chain, from: 0, to: head) == transfers)
        #expect(try await f.indexer.replay(from: 0, to: head).clean)
    }

    @Test("an endpoint that answers for another chain id is refused at start")
    func wrongChain() async throws {
        let devnet = try await sharedDevnet.value
        let accounts = try await devnet.accounts()
        let text = devnet.chainConfig(tokens: [("USDC", accounts[0].address, 6)], spenders: [accounts[7].address])
            .replacingOccurrences(of: "chain_id = 1337", with: "chain_id = 8453")
        let config = try ChainConfig.parse(text, file: "wrong.toml")
        let directory = try temporaryDirectory("settle-wrong")
        let store = SQLiteEVMIndexStore(database: try Database(path: directory.appendingPathComponent("db").path))
        try await store.migrate()
        let indexer = EVMChainIndexer(config: config, node: EVMNode(rpc: devnet.rpc), store: store, spenders: [], logger: .init(label: "t"))
        let error = await #expect(throws: EVMIndexError.self) { try await indexer.indexToHead() }
        #expect(error?.code == .wrongChain)
        #expect(try await store.chainID(named: "wrong") == nil)
    }
}
