import ChainAdapters
import SettleConfiguration
import EVM
import EVMIndexer
import Foundation
import Logging
import SettleCore
import Settlement
import Store
import TestSupport
import Testing
import Transport

/// A devnet with a funded customer who approved the merchant's spender, a ledger, and executors over it.
struct ExecutorFixture {
    let devnet: Devnet
    let customer: Devnet.Account
    let spender: Devnet.Account
    let treasury: EVMAddress
    let token: EVMAddress
    let config: ChainConfig
    let ledger: Ledger
    let agreement: Agreement

    static func make(allowance: UInt256 = 100_000_000, kind: String = "standard") async throws -> ExecutorFixture {
        let devnet = try await Devnet.start()
        let accounts = try await devnet.accounts()
        let token = try await devnet.deployToken(owner: accounts[0].address, kind: kind)
        try await devnet.mint(token: token, to: accounts[1].address, amount: 1_000_000_000)
        try await devnet.approve(token: token, owner: accounts[1], spender: accounts[7].address, amount: allowance)
        let config = try ChainConfig.parse(devnet.chainConfig(tokens: [("USDC", token, 6)], spenders: [accounts[7].address], confirmations: 2),
                                           file: "devnet.toml")
        let ledger = Ledger(database: try Database(path: try temporaryDirectory("settle-exec").appendingPathComponent("db").path))
        try await ledger.migrate()
        let agreement = try await ledger.agreement(customer: "cus_1", subscription: "sub_1", chain: "devnet", token: "USDC",
                                                   wallet: accounts[1].address.checksummed)
        return ExecutorFixture(devnet: devnet, customer: accounts[1], spender: accounts[7], treasury: accounts[8].address, token: token,
                               config: config, ledger: ledger, agreement: agreement)
    }

    func executor(url: String? = nil) -> EVMExecutor {
        let rpc = JSONRPCClient(endpoints: [RPCEndpoint(url: url ?? devnet.url, label: "devnet")], http: devnet.http,
                                retry: RetryPolicy(maximumAttempts: 1))
        var logger = Logger(label: "executor")
        logger.logLevel = .critical
        return EVMExecutor(config: config, node: EVMNode(rpc: rpc), ledger: ledger, key: spender.key, treasury: treasury, logger: logger)
    }

    /// A due charge of `cents` USD.
    func dueCharge(_ invoice: String, cents: UInt64) async throws -> Charge {
        let charge = try await ledger.createCharge(invoice: invoice, agreement: agreement.id,
                                                   amount: Money(minorUnits: cents, currency: try Currency(code: "USD")),
                                                   tokenDecimals: 6, rate: .parity, rateAt: 0, dueAt: 0).charge
        try await ledger.transition(charge.id, from: .ingested, to: .due)
        return try #require(try await ledger.charge(id: charge.id))
    }

    /// Transfers of the token into the treasury, read from the chain's logs.
    func treasuryTransfers() async throws -> [UInt256] {
        let result = try await devnet.rpc.call("eth_getLogs", [.object([
            ("fromBlock", "0x0"), ("toBlock", "latest"), ("address", .string(token.checksummed)),
            ("topics", [.string(ERC20.transferTopic.description), nil, .string("0x000000000000000000000000" + treasury.lowercaseHex)]),
        ])])
        return try (result.arrayValue ?? []).map { try UInt256(hex: $0["data"]?.stringValue ?? "") }
    }
}

@Suite("EVM executor on the devnet: persist before broadcast, exactly one transfer", .serialized)
struct EVMExecutorTests {
    @Test("a due charge is pulled once, followed to finality and settled when the transfer matches exactly")
    func happyPath() async throws {
        let f = try await ExecutorFixture.make()
        let executor = f.executor()
        let charge = try await f.dueCharge("in_1", cents: 2500)
        #expect(try await executor.execute(charge, agreement: f.agreement) == .broadcast)
        let attempts = try await f.ledger.attempts(charge: charge.id)
        #expect(attempts.count == 1 && attempts[0].outcome == .sent && attempts[0].nonce != nil)
        try await executor.confirm()
        #expect(try await f.ledger.charge(id: charge.id)?.state == .included)  // mined, not yet final
        try await f.devnet.mine(2)
        try await executor.confirm()
        #expect(try await f.ledger.charge(id: charge.id)?.state == .settled)
        #expect(try await f.treasuryTransfers() == [25_000_000])
        // Running it again changes nothing: the charge is no longer due.
        #expect(try await executor.execute(try #require(try await f.ledger.charge(id: charge.id)), agreement: f.agreement) == .settled)
        #expect(try await f.treasuryTransfers() == [25_000_000])
    }

    @Test("too little allowance or balance: no transaction is signed or sent, the reason is recorded")
    func shortfall() async throws {
        let f = try await ExecutorFixture.make(allowance: 1_000_000)
        let executor = f.executor()
        let nonceBefore = try await f.devnet.rpc.call("eth_getTransactionCount", [.string(f.spender.address.checksummed), "pending"])
        let charge = try await f.dueCharge("in_2", cents: 2500)
        #expect(try await executor.execute(charge, agreement: f.agreement, now: 1000) == .awaitingFunds)
        let stored = try #require(try await f.ledger.charge(id: charge.id))
        #expect(stored.reason == "low_allowance" && stored.nextAttemptAt == 1600)
        #expect(try await f.ledger.attempts(charge: charge.id).isEmpty)
        #expect(try await f.devnet.rpc.call("eth_getTransactionCount", [.string(f.spender.address.checksummed), "pending"]) == nonceBefore)
        let rich = try await f.dueCharge("in_3", cents: 100_000_000)
        #expect(try await executor.execute(rich, agreement: f.agreement) == .awaitingFunds)
        #expect(try await f.ledger.charge(id: rich.id)?.reason == "low_balance+low_allowance")
    }

    @Test("crash after persisting, before the node saw it: on restart the same bytes are sent, one transfer lands")
    func persistBeforeBroadcast() async throws {
        let f = try await ExecutorFixture.make()
        let proxy = try await Peer.start(script: "fault_proxy.py", arguments: ["--upstream", f.devnet.url])
        let http = HTTPClient()
        defer { http.shutdown() }
        _ = try await http.execute(HTTPRequest(url: proxy.url("/_fault"), method: .post,
                                               body: Array(#"{"mode": "status", "status": 503, "count": -1, "method": "eth_sendRawTransaction"}"#.utf8)))
        let charge = try await f.dueCharge("in_4", cents: 1234)
        let doomed = f.executor(url: proxy.url("/"))
        // Not acknowledged: persisted and followed, never an error that could make anyone sign again.
        #expect(try await doomed.execute(charge, agreement: f.agreement) == .signed)
        let persisted = try await f.ledger.attempts(charge: charge.id)
        #expect(persisted.count == 1 && persisted[0].outcome == .signed)
        #expect(try await f.ledger.charge(id: charge.id)?.state == .signed)
        #expect(try await f.treasuryTransfers().isEmpty)

        let restarted = f.executor()  // a new process: recover before anything new
        try await restarted.recover()
        try await f.devnet.mine(2)
        try await restarted.confirm()
        #expect(try await f.ledger.charge(id: charge.id)?.state == .settled)
        #expect(try await f.treasuryTransfers() == [12_340_000])
        #expect(try await f.ledger.attempts(charge: charge.id).map(\.transactionID) == persisted.map(\.transactionID))
    }

    @Test("two executors racing on one due charge: one attempt, one transfer")
    func racingExecutors() async throws {
        let f = try await ExecutorFixture.make()
        let charge = try await f.dueCharge("in_5", cents: 700)
        let (a, b) = (f.executor(), f.executor())
        async let first = a.execute(charge, agreement: f.agreement)
        async let second = b.execute(charge, agreement: f.agreement)
        _ = try await (first, second)
        try await f.devnet.mine(2)
        try await a.confirm()
        #expect(try await f.ledger.attempts(charge: charge.id).count == 1)
        #expect(try await f.treasuryTransfers() == [7_000_000])
        #expect(try await f.ledger.charge(id: charge.id)?.state == .settled)
    }
}

@Suite("EVM executor: allowance revoked between preflight and mining", .serialized)
struct EVMExecutorRevertTests {
    @Test("the pull reverts, the revert is recorded, the charge waits; after a new approval it is paid, once")
    func revokedBeforeMining() async throws {
        let devnet = try await Devnet.start(arguments: ["--no-automine"])
        let accounts = try await devnet.accounts()
        let (customer, spender, treasury) = (accounts[1], accounts[7], accounts[8].address)
        let token = try await devnet.deployToken(owner: accounts[0].address)
        try await devnet.mint(token: token, to: customer.address, amount: 1_000_000_000)
        try await devnet.approve(token: token, owner: customer, spender: spender.address, amount: 100_000_000)
        try await devnet.mine(1)
        let config = try ChainConfig.parse(devnet.chainConfig(tokens: [("USDC", token, 6)], spenders: [spender.address], confirmations: 1),
                                           file: "devnet.toml")
        let ledger = Ledger(database: try Database(path: try temporaryDirectory("settle-revert").appendingPathComponent("db").path))
        try await ledger.migrate()
        let agreement = try await ledger.agreement(customer: "cus", subscription: nil, chain: "devnet", token: "USDC", wallet: customer.address.checksummed)
        var logger = Logger(label: "executor")
        logger.logLevel = .critical
        let executor = EVMExecutor(config: config, node: EVMNode(rpc: devnet.rpc), ledger: ledger, key: spender.key, treasury: treasury, logger: logger)
        let loop = SettlementLoop(ledger: ledger, chain: "devnet", executor: executor)
        _ = try await ledger.createCharge(invoice: "in_r", agreement: agreement.id, amount: Money(minorUnits: 5000, currency: try Currency(code: "USD")),
                                          tokenDecimals: 6, rate: .parity, rateAt: 0, dueAt: 0)

        // The customer revokes; the revocation is in the pool, not yet mined, when the executor's preflight runs.
        try await devnet.approve(token: token, owner: customer, spender: spender.address, amount: 0)
        try await loop.runOnce(now: 1_000)
        #expect(try await ledger.charge(invoice: "in_r")?.state == .broadcast)
        try await devnet.mine(1)  // revocation first, then the pull: it reverts
        try await devnet.mine(1)
        try await loop.runOnce(now: 1_001)
        let waiting = try #require(try await ledger.charge(invoice: "in_r"))
        #expect(waiting.state == .awaitingFunds && waiting.reason == "reverted")
        #expect(try await ledger.attempts(charge: waiting.id).map(\.outcome) == [.reverted])

        // Still short at the retry: it waits with the real reason, nothing is sent.
        try await loop.runOnce(now: 1_001 + 600)
        #expect(try await ledger.charge(invoice: "in_r")?.reason == "low_allowance")
        #expect(try await ledger.attempts(charge: waiting.id).count == 1)

        // A new approval: the next retry pays, once.
        try await devnet.approve(token: token, owner: customer, spender: spender.address, amount: 100_000_000)
        try await devnet.mine(1)
        try await loop.runOnce(now: 1_001 + 1_300)
        try await devnet.mine(2)
        try await loop.runOnce(now: 1_001 + 1_301)
        #expect(try await ledger.charge(invoice: "in_r")?.state == .settled)
        #expect(try await devnet.balance(token: token, owner: treasury) == 50_000_000)
        #expect(try await ledger.attempts(charge: waiting.id).map(\.outcome) == [.reverted, .included])
    }
}

@Suite("EVM executor: a stuck transaction is replaced", .serialized)
struct EVMExecutorStuckTests {
    @Test("a node that swallowed the transaction: after N blocks a same-nonce replacement at +12.5% fees lands, one transfer")
    func replacement() async throws {
        let f = try await ExecutorFixture.make()
        let proxy = try await Peer.start(script: "fault_proxy.py", arguments: ["--upstream", f.devnet.url])
        _ = try await f.devnet.http.execute(HTTPRequest(url: proxy.url("/_fault"), method: .post,
                                                        body: Array(#"{"mode": "swallow", "count": 1, "method": "eth_sendRawTransaction"}"#.utf8)))
        let executor = f.executor(url: proxy.url("/"))
        await executor.setReplaceAfterBlocks(3)
        let charge = try await f.dueCharge("in_stuck", cents: 4200)
        #expect(try await executor.execute(charge, agreement: f.agreement) == .broadcast)
        try await f.devnet.mine(2)
        try await executor.confirm()  // not yet 3 blocks: nothing replaced
        #expect(try await f.ledger.attempts(charge: charge.id).count == 1)
        try await f.devnet.mine(2)
        try await executor.confirm()  // replaced (the proxy now forwards), mined at once
        let attempts = try await f.ledger.attempts(charge: charge.id)
        #expect(attempts.count == 2)
        #expect(attempts[0].nonce == attempts[1].nonce)
        let oldFee = try UInt256(decimal: attempts[0].maxFee ?? "0")
        let newFee = try UInt256(decimal: attempts[1].maxFee ?? "0")
        #expect(newFee * 8 >= oldFee * 9)  // at least +12.5%
        try await f.devnet.mine(2)
        try await executor.confirm()
        #expect(try await f.ledger.charge(id: charge.id)?.state == .settled)
        #expect(try await f.ledger.attempts(charge: charge.id).map(\.outcome) == [.dead, .included])
        #expect(try await f.treasuryTransfers() == [42_000_000])
    }
}

@Suite("EVM executor: a payment reorged out before finality", .serialized)
struct EVMExecutorReorgTests {
    @Test("the same signed bytes are sent again and followed; one transfer, settled once final")
    func reorgedOut() async throws {
        let f = try await ExecutorFixture.make()
        let executor = f.executor()
        let snapshot = try await f.devnet.snapshot()
        let charge = try await f.dueCharge("in_reorg", cents: 3300)
        #expect(try await executor.execute(charge, agreement: f.agreement) == .broadcast)
        try await executor.confirm()
        #expect(try await f.ledger.charge(id: charge.id)?.state == .included)
        let original = try #require(try await f.ledger.attempts(charge: charge.id).first)

        try await f.devnet.revert(snapshot)  // the block with our transfer is gone
        try await f.devnet.mine(1)
        #expect(try await f.treasuryTransfers().isEmpty)
        try await executor.confirm()  // notices, goes back to broadcast and re-sends the same bytes (automine mines them)
        #expect(try await f.treasuryTransfers() == [33_000_000])
        try await f.devnet.mine(2)
        try await executor.confirm()
        #expect(try await f.ledger.charge(id: charge.id)?.state == .settled)
        let attempts = try await f.ledger.attempts(charge: charge.id)
        #expect(attempts.map(\.transactionID) == [original.transactionID])  // no new transaction was signed
        #expect(try await f.ledger.history(charge.id).map(\.to).contains(.broadcast))
    }
}

@Suite("EVM executor: retry schedule", .serialized)
struct EVMExecutorRetryTests {
    @Test("each wait of a charge short of funds follows the configured schedule, the last entry repeating")
    func schedule() async throws {
        let f = try await ExecutorFixture.make(allowance: 1)
        let executor = f.executor()
        await executor.setRetrySeconds([100, 500])
        let charge = try await f.dueCharge("in_retry", cents: 100)
        var now: UInt64 = 1_000
        var waits: [UInt64] = []
        for _ in 0..<3 {
            let current = try #require(try await f.ledger.charge(id: charge.id))
            #expect(try await executor.execute(current, agreement: f.agreement, now: now) == .awaitingFunds)
            let next = try #require(try await f.ledger.charge(id: charge.id)?.nextAttemptAt)
            waits.append(next - now)
            now = next
            try await f.ledger.transition(charge.id, from: .awaitingFunds, to: .due, now: now)
        }
        #expect(waits == [100, 500, 500])
    }
}

@Suite("EVM executor: preflight cross-checked with the index", .serialized)
struct EVMExecutorIndexTests {
    @Test("an index that agrees raises nothing; one that disagrees is reported and the chain's values are used")
    func crossCheck() async throws {
        let f = try await ExecutorFixture.make()
        let store = SQLiteEVMIndexStore(database: try Database(path: try temporaryDirectory("settle-xcheck").appendingPathComponent("idx").path))
        try await store.migrate()
        var logger = Logger(label: "indexer")
        logger.logLevel = .critical
        let indexer = EVMChainIndexer(config: f.config, node: EVMNode(rpc: f.devnet.rpc), store: store, spenders: [], logger: logger)
        try await indexer.indexToHead()
        let chain = try await indexer.prepare().id
        let executor = f.executor()
        await executor.crossCheck(with: store, chain: chain)
        #expect(try await executor.execute(try await f.dueCharge("in_x1", cents: 100), agreement: f.agreement) == .broadcast)
        #expect(await executor.indexMismatches == 0)
        // The chain moved (our own pull) and the index has not caught up: reported, the live values decide.
        #expect(try await executor.execute(try await f.dueCharge("in_x2", cents: 100), agreement: f.agreement) == .broadcast)
        #expect(await executor.indexMismatches == 1)
    }
}
