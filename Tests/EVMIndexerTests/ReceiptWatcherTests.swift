import EVM
import EVMIndexer
import SettleCore
import TestSupport
import Testing

@Suite("Receipts of our own transactions: mined, reverted, reorged out, dropped", .serialized)
struct ReceiptWatcherTests {
    @Test("each fate is recorded from the canonical chain")
    func fates() async throws {
        let devnet = try await Devnet.start()
        let f = try await IndexerFixture.make(devnet: devnet)
        let chain = try await f.chain

        // Mined: an approval.
        let approve = try await devnet.sendSigned(from: f.customer, to: f.token, data: ERC20.approve(spender: f.spender.address, amount: 10))
        try await f.indexer.watch(approve.hash)
        try await f.indexer.indexToHead()
        var watched = try #require(try await f.store.watched(chain: chain, hash: approve.hash))
        #expect(watched.status == .mined)
        #expect(watched.block != nil && watched.gasUsed != nil)

        // Reverted: a transferFrom beyond the allowance is mined with status 0.
        let overdraw = try await devnet.sendSigned(from: f.spender, to: f.token,
                                                   data: ERC20.transferFrom(from: f.customer.address, to: f.treasury.address, amount: 11))
        try await f.indexer.watch(overdraw.hash)
        try await f.indexer.indexToHead()
        #expect(try await f.store.watched(chain: chain, hash: overdraw.hash)?.status == .reverted)

        // Reorged out: mined, then the block is replaced; back to pending, and mined again when re-sent.
        let snapshot = try await devnet.snapshot()
        let pull = try await devnet.sendSigned(from: f.spender, to: f.token,
                                               data: ERC20.transferFrom(from: f.customer.address, to: f.treasury.address, amount: 5))
        try await f.indexer.watch(pull.hash)
        let head = try await devnet.blockNumber()
        try await f.indexer.checkWatchedTransactions(head: head)
        let minedBlock = try await f.store.watched(chain: chain, hash: pull.hash)?.block
        #expect(minedBlock == head)
        try await devnet.revert(snapshot)
        try await devnet.mine(3)
        let changed = try await f.indexer.checkWatchedTransactions(head: try await devnet.blockNumber(), dropGrace: 3600)
        watched = try #require(try await f.store.watched(chain: chain, hash: pull.hash))
        #expect(changed.map(\.hash) == [pull.hash])
        #expect(watched.status == .pending)
        #expect(watched.reorgCount == 1)
        #expect(watched.block == nil)
        try await devnet.sendRaw(pull)  // the same signed bytes
        try await f.indexer.checkWatchedTransactions(head: try await devnet.blockNumber())
        #expect(try await f.store.watched(chain: chain, hash: pull.hash)?.status == .mined)

        // Dropped: a transaction the node never heard of, past the grace period.
        let ghost = try Hash32(bytes: [UInt8](repeating: 0x42, count: 32))
        try await f.indexer.watch(ghost)
        try await f.indexer.checkWatchedTransactions(head: try await devnet.blockNumber(), dropGrace: 3600)
        #expect(try await f.store.watched(chain: chain, hash: ghost)?.status == .pending)
        try await f.indexer.checkWatchedTransactions(head: try await devnet.blockNumber(), dropGrace: 0)
        #expect(try await f.store.watched(chain: chain, hash: ghost)?.status == .dropped)
    }
}
