import EVM
import EVMIndexer
import SettleCore
import TestSupport
import Testing
import Transport

/// Issue 14: a number from a node that does not fit what Settle stores (SQLite's signed 64-bit integers) is a typed
/// error, never a trap. Each fault rewrites one number of the real devnet's answers (`fault_proxy.py`, mode
/// `replace`); before the fix each of these stopped the test process (`Int64(x)` of a value past 2^63).
@Suite("EVM node numbers past 64-bit storage: a typed error, never a trap", .serialized)
struct EVMHostileNumberTests {
    static let huge = #""0xffffffffffffffff""#  // 2^64 - 1: a valid 16-digit quantity that no SQLite integer holds

    static func replace(_ method: String, _ key: String? = nil, raw: String = huge) -> JSON {
        var members: [(key: String, value: JSON)] = [("mode", "replace"), ("method", .string(method)), ("raw", .string(raw)), ("count", -1)]
        if let key { members.append(("key", .string(key))) }
        return .object(members)
    }

    /// What is rewritten, and the largest `eth_getLogs` range (small, so the backfill's first ranges exist and commit).
    static let faults: [(name: String, faults: JSON, maxLogRange: Int)] = [
        ("eth_blockNumber", [replace("eth_blockNumber")], 2),
        ("block timestamp, logs agreeing", [replace("eth_getBlockByNumber", "timestamp"), replace("eth_getLogs", "blockTimestamp")], 1000),
        ("log index", [replace("eth_getLogs", "logIndex")], 1000),
        ("log block timestamp, in finalized history", [replace("eth_getLogs", "blockTimestamp")], 1000),
    ]

    @Test("the indexer refuses the answer and records nothing; it catches up once the node is honest", arguments: 0..<4)
    func indexer(index: Int) async throws {
        let (name, faults, maxLogRange) = Self.faults[index]
        let devnet = try await sharedDevnet.value
        let proxy = try await FaultProxy.start(upstream: devnet.url)
        let f = try await IndexerFixture.make(devnet: devnet, accountOffset: 2, maxLogRange: maxLogRange, rpcURL: proxy.url,
                                              retry: RetryPolicy(maximumAttempts: 2, baseDelay: .milliseconds(5)))
        try await f.devnet.approve(token: f.token, owner: f.customer, spender: f.spender.address, amount: 7_000_000)
        try await f.devnet.mine(40)  // the approval in finalized history (backfill), and ranges enough for a commit
        try await proxy.arm(faults)
        do {
            try await f.indexer.indexToHead()
            Issue.record("\(name): the hostile answer was accepted")
        } catch {
            #expect(error is RPCError || error is EVMIndexError, "\(name): \(error)")
        }
        let chain = try await f.chain
        let head = try await devnet.blockNumber()
        #expect(try await f.store.approvals(chain: chain, from: 0, to: head).isEmpty, "\(name)")
        try await proxy.clear()
        try await f.indexer.indexToHead()
        #expect(try await f.store.approvals(chain: chain, from: 0, to: head).count == 1, "\(name)")
        #expect(try await f.indexedAllowance() == 7_000_000, "\(name)")
    }

    @Test("a watched transaction's receipt with gasUsed or blockNumber of 2^64 - 1 is refused, and read again when honest",
          arguments: ["gasUsed", "blockNumber"])
    func receipt(key: String) async throws {
        let devnet = try await sharedDevnet.value
        let proxy = try await FaultProxy.start(upstream: devnet.url)
        let f = try await IndexerFixture.make(devnet: devnet, accountOffset: 3, rpcURL: proxy.url,
                                              retry: RetryPolicy(maximumAttempts: 2, baseDelay: .milliseconds(5)))
        let approve = try await devnet.sendSigned(from: f.customer, to: f.token, data: ERC20.approve(spender: f.spender.address, amount: 10))
        try await f.indexer.watch(approve.hash)
        try await proxy.arm(["mode": "replace", "method": "eth_getTransactionReceipt", "key": .string(key), "raw": .string(Self.huge), "count": -1])
        let head = try await devnet.blockNumber()
        await #expect(throws: RPCError.self) { try await f.indexer.checkWatchedTransactions(head: head) }
        let chain = try await f.chain
        #expect(try await f.store.watched(chain: chain, hash: approve.hash)?.status == .pending)
        try await proxy.clear()
        try await f.indexer.checkWatchedTransactions(head: head)
        #expect(try await f.store.watched(chain: chain, hash: approve.hash)?.status == .mined)
    }
}
