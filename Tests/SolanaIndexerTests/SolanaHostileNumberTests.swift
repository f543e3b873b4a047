import SettleCore
import Solana
import SolanaIndexer
import TestSupport
import Testing
import Transport

/// Issue 14: a slot, block time or height from a node that does not fit what Settle stores (SQLite's signed 64-bit
/// integers) is a typed error, never a trap. Each fault rewrites one number of LiteSVM's real answers
/// (`fault_proxy.py`, mode `replace`); before the fix the stored ones stopped the test process (`Int64(x)` past 2^63).
@Suite("Solana node numbers past 64-bit storage: a typed error, never a trap", .serialized)
struct SolanaHostileNumberTests {
    static let huge = "18446744073709551615"  // 2^64 - 1: a valid u64 that no SQLite integer holds

    static let faults: [(name: String, fault: JSON)] = [
        ("getTransaction slot", ["mode": "replace", "method": "getTransaction", "key": "slot", "raw": .string(huge), "count": -1]),
        ("getTransaction blockTime", ["mode": "replace", "method": "getTransaction", "key": "blockTime", "raw": .string(huge), "count": -1]),
        ("getSlot", ["mode": "replace", "method": "getSlot", "raw": .string(huge), "count": -1]),
        ("getSignaturesForAddress slot", ["mode": "replace", "method": "getSignaturesForAddress", "key": "slot", "raw": .string(huge), "count": -1]),
        ("getSignaturesForAddress blockTime", ["mode": "replace", "method": "getSignaturesForAddress", "key": "blockTime", "raw": .string(huge),
                                               "count": -1]),
    ]

    @Test("the indexer refuses the answer and records nothing wrong; it catches up once the node is honest", arguments: 0..<5)
    func indexer(index: Int) async throws {
        let (name, fault) = Self.faults[index]
        let net = try await sharedTestnet.value
        let f = try await SolanaFixture.make(net: net)
        _ = try await f.approve(40_000_000)
        _ = try await f.pull(1_000_000)
        let proxy = try await SolanaFaultProxy.start(upstream: net.peer.url("/"))
        try await proxy.arm(fault)
        let indexer = try await f.indexer(url: proxy.url, retry: RetryPolicy(maximumAttempts: 2, baseDelay: .milliseconds(5)))
        await #expect(throws: RPCError.self, "\(name)") { try await indexer.indexOnce() }
        let chain = try await indexer.prepare()
        for record in try await indexer.store.events(chain: chain) {
            #expect(record.slot < 1 << 62 && (record.blockTime ?? 0) < 1 << 62, "\(name): stored \(record.slot) / \(record.blockTime ?? 0)")
        }
        try await proxy.clear()
        try await f.expectMatchesRuntime(indexer)
        #expect(try await indexer.store.events(chain: chain).map(\.event.amount) == [40_000_000, 1_000_000], "\(name)")
    }
}
