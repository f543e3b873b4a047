import SettleConfiguration
import EVM
import EVMIndexer
import Foundation
import Logging
import SettleCore
import Store
import TestSupport
import Transport

/// One devnet shared by the suites that only append blocks (reorg and crash tests start their own).
// Started once per test process on first use, on a thread of its own (a blocking start, or a `Result` global's
// one-time initializer that other tests block on meanwhile, would hold the cooperative pool's threads for seconds).
let sharedDevnet = Task { try await Devnet.start() }

/// A customer, a merchant spender, a treasury and a fresh token on a devnet, plus an indexer over a fresh database.
struct IndexerFixture {
    let devnet: Devnet
    let deployer: Devnet.Account
    let customer: Devnet.Account
    let spender: Devnet.Account
    let treasury: Devnet.Account
    let token: EVMAddress
    let directory: URL
    let config: ChainConfig
    let store: SQLiteEVMIndexStore
    let indexer: EVMChainIndexer
    let http: HTTPClient

    // Built by `make` with a plain (non-async) memberwise init: an `async throws` initializer of this struct,
    // assigning its `let`s across suspension points, crashed at run time (null resume pointer in swift_job_run)
    // under Swift 6.3.1 on Linux.
    static func make(devnet: Devnet, accountOffset: Int = 0, mode: String = "scoped", maxLogRange: Int = 1000,
                     mintTo: UInt256 = 1_000_000_000, rpcURL: String? = nil,
                     retry: RetryPolicy = RetryPolicy(maximumAttempts: 2, baseDelay: .milliseconds(10)),
                     timeout: Duration = .seconds(5), token existing: EVMAddress? = nil) async throws -> IndexerFixture {
        let accounts = try await devnet.accounts()
        let customer = accounts[1 + accountOffset % 6]
        let token: EVMAddress
        if let existing {
            token = existing
        } else {
            token = try await devnet.deployToken(owner: accounts[0].address)
            if !mintTo.isZero { try await devnet.mint(token: token, to: customer.address, amount: mintTo) }
        }
        let directory = try temporaryDirectory("settle-indexer")
        let config = try ChainConfig.parse(
            devnet.chainConfig(tokens: [("USDC", token, 6)], spenders: [accounts[7].address], mode: mode, maxLogRange: maxLogRange, rpcURL: rpcURL),
            file: directory.appendingPathComponent("devnet.toml").path)
        let store = SQLiteEVMIndexStore(database: try Database(path: directory.appendingPathComponent("index.sqlite").path))
        try await store.migrate()
        let http = HTTPClient()
        let rpc = JSONRPCClient(endpoints: config.rpc.map { RPCEndpoint(url: $0.url, label: $0.label) }, http: http, retry: retry,
                                timeout: timeout)
        var logger = Logger(label: "test")
        logger.logLevel = .error
        let indexer = EVMChainIndexer(config: config, node: EVMNode(rpc: rpc), store: store, spenders: [], logger: logger)
        return IndexerFixture(devnet: devnet, deployer: accounts[0], customer: customer, spender: accounts[7], treasury: accounts[8],
                              token: token, directory: directory, config: config, store: store, indexer: indexer, http: http)
    }

    var chain: Int64 {
        get async throws { try await indexer.prepare().id }
    }

    /// The indexed current allowance (customer → spender), or nil when never read.
    func indexedAllowance() async throws -> UInt256? {
        try await store.currentAllowances(chain: chain, owner: customer.address, token: token, spender: spender.address).first?.value
    }

    func indexedBalance(_ owner: EVMAddress? = nil) async throws -> UInt256? {
        try await store.balances(chain: chain, owner: owner ?? customer.address, token: token).first?.value
    }
}
