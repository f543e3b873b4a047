import EVM
import EVMIndexer
import Foundation
import SettleCore
import Store
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("EVM indexer survives kill -9", .serialized)
struct EVMIndexerCrashTests {
    @Test("kill -9 during backfill, again and again: after restart no gap and no duplicate")
    func killDuringBackfill() async throws {
        _ = try SettledBinary.require()
        let devnet = try await Devnet.start()
        let f = try await IndexerFixture.make(devnet: devnet, maxLogRange: 1)
        try await devnet.approve(token: f.token, owner: f.customer, spender: f.spender.address, amount: .max)
        for i in 0..<250 {
            if i % 10 == 0 {
                try await devnet.approve(token: f.token, owner: f.customer, spender: f.spender.address, amount: UInt256(UInt64(1_000_000 + i)))
            } else {
                try await devnet.transfer(token: f.token, from: f.customer, to: f.treasury.address, amount: UInt256(UInt64(i)))
            }
        }
        // Empty blocks after the activity: each is still one request and one commit, which makes the backfill long
        // enough to be killed several times even when the machine is quiet.
        try await devnet.mine(1_500)
        let head = try await devnet.blockNumber()

        // The daemon's own binary, killed at random moments while it backfills one block per commit.
        let directory = try temporaryDirectory("settle-crash")
        let chains = directory.appendingPathComponent("chains")
        try FileManager.default.createDirectory(at: chains, withIntermediateDirectories: true)
        try devnet.chainConfig(tokens: [("USDC", f.token, 6)], spenders: [f.spender.address], maxLogRange: 1)
            .write(to: chains.appendingPathComponent("crashnet.toml"), atomically: true, encoding: .utf8)
        let database = directory.appendingPathComponent("index.sqlite").path
        let report = try await SettledBinary.killRepeatedly(
            ["index", "--chain", "crashnet", "--chains-directory", chains.path, "--database", database, "--once", "--log-level", "error"],
            killingRuns: 60, delay: 30...150, seed: 42, maxRuns: 61) { exitedCleanly in exitedCleanly }
        let (finished, kills) = (report.done, report.kills)
        #expect(finished, "the indexer never completed between kills")
        #expect(kills >= 3, "the indexer finished too fast to be killed mid-backfill; make the backfill longer")

        // Truth: the same chain indexed in one clean run.
        try await f.indexer.indexToHead()
        let crashed = SQLiteEVMIndexStore(database: try Database(path: database))
        let crashedChain = try #require(try await crashed.chainID(named: "crashnet"))
        let cleanChain = try await f.chain
        #expect(try await crashed.cursor(chain: crashedChain).nextBlock == head + 1)
        #expect(try await crashed.approvals(chain: crashedChain, from: 0, to: head) == f.store.approvals(chain: cleanChain, from: 0, to: head))
        #expect(try await crashed.transfers(chain: crashedChain, from: 0, to: head) == f.store.transfers(chain: cleanChain, from: 0, to: head))
        // 225 transfers by the customer (the mint came before its first approval, so scoped mode leaves it out).
        #expect(try await crashed.transfers(chain: crashedChain, from: 0, to: head).count == 225)
        let owner = f.customer.address
        #expect(try await crashed.currentAllowances(chain: crashedChain, owner: owner).map(\.value)
                == f.store.currentAllowances(chain: cleanChain, owner: owner).map(\.value))
        #expect(try await crashed.balances(chain: crashedChain, owner: owner).map(\.value)
                == f.store.balances(chain: cleanChain, owner: owner).map(\.value))
    }
}
