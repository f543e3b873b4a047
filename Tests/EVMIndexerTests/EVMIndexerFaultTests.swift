import EVM
import SettleConfiguration
import EVMIndexer
import Store
import Foundation
import SettleCore
import TestSupport
import Testing
import Transport

/// The fault-injecting proxy (`Tests/Peers/fault_proxy.py`) in front of the shared devnet.
struct FaultProxy {
    let peer: Peer
    let control: JSONRPCClient
    let http: HTTPClient

    init(upstream: String) throws {
        peer = try Peer(script: "fault_proxy.py", arguments: ["--upstream", upstream])
        http = HTTPClient()
        control = JSONRPCClient(endpoints: [RPCEndpoint(url: peer.url("/_fault"), label: "proxy")], http: http)
    }

    /// Starts the proxy as `init` does, off the cooperative pool (`onThread`).
    static func start(upstream: String) async throws -> FaultProxy {
        try await onThread { try FaultProxy(upstream: upstream) }
    }

    var url: String { peer.url("/") }

    func arm(_ fault: JSON) async throws {
        let response = try await http.execute(HTTPRequest(url: peer.url("/_fault"), method: .post, body: fault.serialized))
        #expect(response.status == 200)
    }

    func clear() async throws { try await arm(["mode": "none"]) }
}

@Suite("EVM indexer under faults a real node cannot produce (fault-injecting proxy)", .serialized)
struct EVMIndexerFaultTests {
    /// Events on the token so there is something to get wrong.
    func populate(_ f: IndexerFixture) async throws {
        try await f.devnet.approve(token: f.token, owner: f.customer, spender: f.spender.address, amount: 100_000_000)
        try await f.devnet.transferFrom(token: f.token, spender: f.spender, from: f.customer.address, to: f.treasury.address, amount: 25_000_000)
        try await f.devnet.approve(token: f.token, owner: f.customer, spender: f.spender.address, amount: 50_000_000)
    }

    static let faults: [(name: String, fault: JSON)] = [
        ("timeout", ["mode": "timeout", "seconds": 3, "count": 2]),
        ("429 with Retry-After", ["mode": "status", "status": 429, "retry_after": 1, "count": 3]),
        ("503", ["mode": "status", "status": 503, "count": 4]),
        ("malformed JSON", ["mode": "malformed", "count": 3]),
        ("truncated body", ["mode": "truncated", "count": 3]),
        ("lagging node", ["mode": "lag", "blocks": 3, "count": -1]),
        ("wrong parent hash", ["mode": "bad_parent", "count": -1]),
        ("log with a wrong block hash", ["mode": "bad_log_hash", "count": -1]),
    ]

    @Test("the index never records wrong data and catches up when the fault clears", arguments: 0..<8)
    func fault(index: Int) async throws {
        let (name, fault) = Self.faults[index]
        let devnet = try await sharedDevnet.value
        let proxy = try await FaultProxy.start(upstream: devnet.url)
        let f = try await IndexerFixture.make(devnet: devnet, accountOffset: 3, rpcURL: proxy.url,
                                         retry: RetryPolicy(maximumAttempts: 3, baseDelay: .milliseconds(20)), timeout: .seconds(1))
        try await populate(f)
        // Truth: a second index of the same chain straight from the devnet.
        let truth = try await IndexerFixture.reference(for: f)
        try await truth.indexer.indexToHead()

        try await proxy.arm(fault)
        do {
            try await f.indexer.indexToHead()
        } catch {
            // Failing loudly is allowed; recording wrong data is not.
        }
        let head = try await devnet.blockNumber()
        let chain = try await f.chain
        let truthChain = try await truth.chain
        let truthApprovals = try await truth.store.approvals(chain: truthChain, from: 0, to: head)
        let truthTransfers = try await truth.store.transfers(chain: truthChain, from: 0, to: head)
        for row in try await f.store.approvals(chain: chain, from: 0, to: head) {
            #expect(truthApprovals.contains(row), "\(name): recorded an approval the chain does not have: \(row)")
        }
        for row in try await f.store.transfers(chain: chain, from: 0, to: head) {
            #expect(truthTransfers.contains(row), "\(name): recorded a transfer the chain does not have: \(row)")
        }
        if let allowance = try await f.indexedAllowance() {
            #expect(allowance == 50_000_000 || allowance == 100_000_000 || allowance == 75_000_000, "\(name)")
        }

        try await proxy.clear()
        try await f.indexer.indexToHead()
        #expect(try await f.store.approvals(chain: chain, from: 0, to: head) == truthApprovals, "\(name)")
        #expect(try await f.store.transfers(chain: chain, from: 0, to: head) == truthTransfers, "\(name)")
        #expect(try await f.indexedAllowance() == 50_000_000, "\(name)")
        #expect(try await f.indexedBalance() == 975_000_000, "\(name)")
    }

    @Test("an endpoint that answers for another chain id never gets to write")
    func wrongChainID() async throws {
        let devnet = try await sharedDevnet.value
        let proxy = try await FaultProxy.start(upstream: devnet.url)
        let f = try await IndexerFixture.make(devnet: devnet, accountOffset: 4, rpcURL: proxy.url)
        try await proxy.arm(["mode": "wrong_chain", "count": -1])
        let error = await #expect(throws: EVMIndexError.self) { try await f.indexer.indexToHead() }
        #expect(error?.code == .wrongChain)
        #expect(try await f.store.chainID(named: "devnet") == nil)
    }

    @Test("a node that silently drops a log is caught by replay against an honest node")
    func droppedLog() async throws {
        let devnet = try await sharedDevnet.value
        let proxy = try await FaultProxy.start(upstream: devnet.url)
        let f = try await IndexerFixture.make(devnet: devnet, accountOffset: 5, rpcURL: proxy.url)
        try await populate(f)
        try await proxy.arm(["mode": "drop_logs", "count": -1, "method": "eth_getLogs"])
        try await f.indexer.indexToHead()
        try await proxy.clear()
        let report = try await f.indexer.replay(from: 0, to: try await devnet.blockNumber())
        #expect(!report.clean)
        #expect(report.approvalsAdded + report.transfersAdded >= 1)
        #expect(try await f.indexer.replay(from: 0, to: try await devnet.blockNumber()).clean)
    }
}

extension IndexerFixture {
    /// An indexer of the same token and spender over a fresh database, straight against the devnet.
    static func reference(for f: IndexerFixture) async throws -> IndexerFixture {
        let accountOffset = (try await f.devnet.accounts().firstIndex { $0.address == f.customer.address } ?? 1) - 1
        return try await make(devnet: f.devnet, accountOffset: accountOffset, token: f.token)
    }
}
