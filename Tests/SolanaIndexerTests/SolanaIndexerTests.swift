import SettleConfiguration
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Leases
import Logging
import SettleCore
import Signing
import Solana
import SolanaIndexer
import Store
import TestSupport
import Testing
import Transport

/// A payer with a funded token account, a merchant delegate and treasury, and an indexer over a fresh database.
struct SolanaFixture {
    let net: SolanaTestnet
    let payer: Ed25519PrivateKey
    let delegate: Ed25519PrivateKey
    let treasury: Ed25519PrivateKey
    let mint: SolanaPublicKey
    let source: SolanaPublicKey
    let destination: SolanaPublicKey
    let program: TokenProgram
    /// The index's database (SQLite unless a test asks for PostgreSQL).
    let index: SolanaIndexDatabase

    var payerKey: SolanaPublicKey { SolanaPublicKey(payer.publicKey) }
    var delegateKey: SolanaPublicKey { SolanaPublicKey(delegate.publicKey) }

    static func make(net: SolanaTestnet, program: TokenProgram = .token, backend: SolanaIndexDatabase.Backend = .sqlite) async throws -> SolanaFixture {
        let keys = try await net.keypairs(3)
        let mint = try await net.createMint(decimals: 6, program: program)
        let source = try await net.createATA(owner: SolanaPublicKey(keys[0].publicKey), mint: mint)
        let destination = try await net.createATA(owner: SolanaPublicKey(keys[2].publicKey), mint: mint)
        try await net.mint(mint, to: source, amount: 1_000_000_000)
        return SolanaFixture(net: net, payer: keys[0], delegate: keys[1], treasury: keys[2], mint: mint, source: source,
                             destination: destination, program: program, index: try await SolanaIndexDatabase.make(backend, durability: .full))
    }

    /// Ends the index's PostgreSQL connections, if any.
    func close() { index.close() }

    /// Leases in the index's database (where a write's fence reads them).
    func leases() async throws -> any LeaseStore {
        if let sqlite = index.sqlite { return try await SQLiteLeaseStore(database: sqlite) }
        return try await PostgresLeaseStore(database: try #require(index.postgres))
    }

    /// An indexer (a new one each call, as after a restart) over the fixture's database, through `url`.
    func indexer(url: String? = nil, retry: RetryPolicy = RetryPolicy(maximumAttempts: 2, baseDelay: .milliseconds(10))) async throws -> SolanaChainIndexer {
        let text = """
            family = "solana"
            rpc_urls = ["\(url ?? net.peer.url("/"))"]
            [[tokens]]
            symbol = "USDC"
            mint = "\(mint)"
            decimals = 6
            program = "\(program == .token ? "token" : "token2022")"
            [index]
            delegates = ["\(delegateKey)"]
            """
        let config = try SolanaChainConfig.parse(text, file: "litesvm.toml")
        let store = try await index.reopened()
        let rpc = JSONRPCClient(endpoints: config.rpc.map { RPCEndpoint(url: $0.url, label: $0.label) }, http: net.http, retry: retry,
                                timeout: .seconds(2))
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        return SolanaChainIndexer(config: config, node: SolanaNode(rpc: rpc), store: store, delegates: [], logger: logger)
    }

    func approve(_ amount: UInt64) async throws -> SolanaSignature {
        try await net.send([TokenInstruction.approve(program: program, source: source, delegate: delegateKey, owner: payerKey, amount: amount)], signers: [payer])
    }

    func pull(_ amount: UInt64, skipPreflight: Bool = false) async throws -> SolanaSignature {
        try await net.send([TokenInstruction.transferChecked(program: program, source: source, mint: mint, destination: destination,
                                                             owner: delegateKey, amount: amount, decimals: 6)],
                           signers: [delegate], skipPreflight: skipPreflight)
    }

    /// The index's state of the payer's account must equal what the runtime reports.
    func expectMatchesRuntime(_ indexer: SolanaChainIndexer, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let report = try await indexer.indexOnce()
        #expect(report.stateMismatches == 0, sourceLocation: sourceLocation)
        let runtime = try await net.tokenAccount(source)
        let chain = try await indexer.prepare()
        let indexed = try await indexer.store.states(chain: chain, owner: payerKey, mint: mint).first { $0.account == source }
        #expect(indexed?.amount == runtime.amount, sourceLocation: sourceLocation)
        #expect(indexed?.delegate == runtime.delegate, sourceLocation: sourceLocation)
        #expect(indexed?.delegatedAmount == runtime.delegatedAmount, sourceLocation: sourceLocation)
        let implied = try await indexer.store.impliedDelegation(chain: chain, account: source)
        #expect(implied.delegate == runtime.delegate && implied.amount == runtime.delegatedAmount, sourceLocation: sourceLocation)
    }
}

@Suite("Solana indexer against the LiteSVM runtime", .serialized)
struct SolanaIndexerTests {
    @Test("approve, pull, failed over-limit pull, v0 pull, revoke: the index matches the runtime at every step",
          arguments: [TokenProgram.token, .token2022])
    func lifecycle(program: TokenProgram) async throws {
        // Its own runtime: the finality checks below count blocks, which other suites would add.
        let f = try await SolanaFixture.make(net: try await SolanaTestnet.start(), program: program)
        let indexer = try await f.indexer()
        #expect(try await indexer.indexOnce().accountsTracked == 0)  // nobody delegated to us yet

        _ = try await f.approve(100_000_000)
        try await f.expectMatchesRuntime(indexer)
        _ = try await f.pull(25_000_000)
        try await f.expectMatchesRuntime(indexer)
        let failed = try await f.pull(75_000_001, skipPreflight: true)
        try await f.expectMatchesRuntime(indexer)
        let table = try await f.net.lookupTable([f.destination, f.mint])
        _ = try await f.net.sendV0([TokenInstruction.transferChecked(program: program, source: f.source, mint: f.mint, destination: f.destination,
                                                                     owner: f.delegateKey, amount: 5_000_000, decimals: 6)],
                                   tables: [AddressLookupTableAccount(key: table, addresses: [f.destination, f.mint])], signers: [f.delegate])
        try await f.expectMatchesRuntime(indexer)
        _ = try await f.net.send([TokenInstruction.revoke(program: program, source: f.source, owner: f.payerKey)], signers: [f.payer])
        try await f.expectMatchesRuntime(indexer)

        let chain = try await indexer.prepare()
        let history = try await indexer.store.events(chain: chain, owner: f.payerKey, mint: f.mint)
        #expect(history.map(\.event.kind) == [.approve, .transfer, .transfer, .revoke])
        #expect(history.map(\.event.amount) == [100_000_000, 25_000_000, 5_000_000, 0])
        #expect(history.allSatisfy { $0.owner == f.payerKey && $0.event.source == f.source })
        #expect(!history.contains { $0.signature == failed })

        // Finality: after the lag, every row is final.
        #expect(!history.allSatisfy { $0.final })
        try await f.net.advance(10)
        let report = try await indexer.indexOnce()
        #expect(report.finalized > 0)
        #expect(try await indexer.store.events(chain: chain, owner: f.payerKey).allSatisfy { $0.final })
        // Nothing new: a second pass fetches no transaction again.
        #expect(try await indexer.indexOnce().transactionsIndexed == 0)
    }

    @Test("restart mid-backfill: a pass cut short (a transaction the node cannot return) resumes with no gap and no duplicate",
          arguments: SolanaIndexDatabase.Backend.allCases)
    func restartMidBackfill(_ backend: SolanaIndexDatabase.Backend) async throws {
        let net = try await sharedTestnet.value
        let f = try await SolanaFixture.make(net: net, backend: backend)
        defer { f.close() }
        _ = try await f.approve(500_000_000)
        for i in 1...12 { _ = try await f.pull(UInt64(i) * 1_000) }
        let proxy = try await SolanaFaultProxy.start(upstream: net.peer.url("/"))
        // The node "misses" getTransaction after a few calls: the first pass stops part way.
        try await proxy.arm(["mode": "null_result", "method": "getTransaction", "count": -1], after: 5)
        let first = try await f.indexer(url: proxy.url)
        let partial = try await first.indexOnce()
        #expect(partial.missingTransactions == 1)
        #expect(partial.transactionsIndexed < 13)
        try await proxy.clear()
        let restarted = try await f.indexer(url: proxy.url)  // a new process, same database
        try await f.expectMatchesRuntime(restarted)
        let chain = try await restarted.prepare()
        let events = try await restarted.store.events(chain: chain, owner: f.payerKey)
        #expect(events.count == 13)
        #expect(Set(events.map(\.signature)).count == 13)
        #expect(events.filter { $0.event.kind == .transfer }.map(\.event.amount) == (1...12).map { UInt64($0) * 1_000 })
    }

    @Test("faults: timeouts, 429, malformed JSON — nothing wrong is recorded and the index catches up", arguments: [
        #"{"mode": "timeout", "seconds": 3, "count": 2}"#, #"{"mode": "status", "status": 429, "retry_after": 0, "count": 3}"#,
        #"{"mode": "malformed", "count": 3}"#,
    ])
    func faults(fault: String) async throws {
        let net = try await sharedTestnet.value
        let f = try await SolanaFixture.make(net: net)
        _ = try await f.approve(40_000_000)
        _ = try await f.pull(1_000_000)
        let proxy = try await SolanaFaultProxy.start(upstream: net.peer.url("/"))
        try await proxy.arm(try JSON(parsing: fault))
        let indexer = try await f.indexer(url: proxy.url, retry: RetryPolicy(maximumAttempts: 2, baseDelay: .milliseconds(10)))
        _ = try? await indexer.indexOnce()
        let chain = try await indexer.prepare()
        for record in try await indexer.store.events(chain: chain) {
            #expect([40_000_000, 1_000_000].contains(record.event.amount))
        }
        try await proxy.clear()
        try await f.expectMatchesRuntime(indexer)
        #expect(try await indexer.store.events(chain: chain).map(\.event.amount) == [40_000_000, 1_000_000])
    }
}

/// `Tests/Peers/fault_proxy.py` in front of the LiteSVM peer.
struct SolanaFaultProxy {
    let peer: Peer
    let http = HTTPClient()

    init(upstream: String) throws {
        peer = try Peer(script: "fault_proxy.py", arguments: ["--upstream", upstream])
    }

    /// Starts the proxy as `init` does, off the cooperative pool (`onThread`).
    static func start(upstream: String) async throws -> SolanaFaultProxy {
        try await onThread { try SolanaFaultProxy(upstream: upstream) }
    }

    var url: String { peer.url("/") }

    /// Arms `fault`; with `after`, only once that many matching requests have passed through.
    func arm(_ fault: JSON, after: Int = 0) async throws {
        var fault = fault
        if after > 0, case .object(var members) = fault {
            members.append(("skip", .number(String(after))))
            fault = .object(members)
        }
        _ = try await http.execute(HTTPRequest(url: peer.url("/_fault"), method: .post, body: fault.serialized))
    }

    func clear() async throws { try await arm(["mode": "none"]) }
}

@Suite("Solana replay and the settled CLI on LiteSVM", .serialized)
struct SolanaReplayTests {
    @Test("replay over a slot range finds and repairs removed and invented transactions", arguments: SolanaIndexDatabase.Backend.allCases)
    func replay(_ backend: SolanaIndexDatabase.Backend) async throws {
        let f = try await SolanaFixture.make(net: try await sharedTestnet.value, backend: backend)
        defer { f.close() }
        _ = try await f.approve(9_000)
        _ = try await f.pull(1_000)
        _ = try await f.pull(2_000)
        let indexer = try await f.indexer()
        try await indexer.indexOnce()
        let chain = try await indexer.prepare()
        let slot = try await f.net.node.slot()
        #expect(try await indexer.replay(fromSlot: 0, toSlot: slot).clean)
        let events = try await indexer.store.events(chain: chain, owner: f.payerKey)
        let lost = try #require(events.last)
        try await indexer.store.remove(chain: chain, [lost.signature])
        try await f.index.execute("""
            UPDATE sol_events SET amount = \(f.index.blob([0, 0, 0, 0, 0, 0, 0, 1]))
            WHERE chain = \(chain) AND signature = \(f.index.blob(events[0].signature.rawValue.bytes))
            """)
        let report = try await indexer.replay(fromSlot: 0, toSlot: slot)
        #expect(report.transactionsAdded == 1)
        #expect(report.transactionsChanged == 1)
        // Repaired rows come back at `confirmed`; the next pass marks them final again.
        let repaired = try await indexer.store.events(chain: chain, owner: f.payerKey)
        #expect(repaired.map(\.signature) == events.map(\.signature))
        #expect(repaired.map(\.event) == events.map(\.event))
        #expect(try await indexer.replay(fromSlot: 0, toSlot: slot).clean)
        try await indexer.indexOnce()
        // (Other suites add blocks meanwhile, so finality only moves forward: whatever was final is final again.)
        let again = try await indexer.store.events(chain: chain, owner: f.payerKey)
        #expect(zip(events, again).allSatisfy { before, after in !before.final || after.final })
    }

    @Test("settled index --once and allowances --json on a Solana chain file")
    func cli() async throws {
        _ = try SettledBinary.require()
        let f = try await SolanaFixture.make(net: try await sharedTestnet.value)
        _ = try await f.approve(77_000)
        let directory = try temporaryDirectory("settle-solana-cli")
        try """
            family = "solana"
            rpc_urls = ["\(f.net.peer.url("/"))"]
            [[tokens]]
            symbol = "USDC"
            mint = "\(f.mint)"
            decimals = 6
            """.write(to: directory.appendingPathComponent("litesvm.toml"), atomically: true, encoding: .utf8)
        let database = directory.appendingPathComponent("index.sqlite").path
        func settledRun(_ arguments: [String]) async throws -> String {
            let result = try await SettledBinary.run(arguments + ["--chain", "litesvm", "--chains-directory", directory.path, "--database", database,
                                                            "--log-level", "critical"])
            #expect(result.status == 0, "settled \(arguments.joined(separator: " ")): \(result.output)")
            return result.output
        }
        _ = try await settledRun(["index", "--once", "--delegate", f.delegateKey.description])
        let json = try JSON(parsing: try await settledRun(["allowances", "--owner", f.payerKey.description, "--json"]))
        let history = try #require(json["history"]?.arrayValue)
        #expect(history.count == 1)
        #expect(history.first?["value"] == "77000")
        #expect(history.first?["delegate"]?.stringValue == f.delegateKey.description)
        #expect(json["current"]?.arrayValue?.first?["delegatedAmount"] == "77000")
    }
}

@Suite("Solana finality and state checks", .serialized)
struct SolanaFinalityTests {
    @Test("a confirmed transaction the cluster never finalizes is dropped with its rows once its slot is final",
          arguments: SolanaIndexDatabase.Backend.allCases)
    func dropsUnfinalized(_ backend: SolanaIndexDatabase.Backend) async throws {
        let f = try await SolanaFixture.make(net: try await sharedTestnet.value, backend: backend)
        defer { f.close() }
        _ = try await f.approve(10)
        let indexer = try await f.indexer()
        try await indexer.indexOnce()
        let chain = try await indexer.prepare()
        // A transaction seen at `confirmed` on a fork that lost: the cluster does not know its signature.
        let ghost = SolanaSignature(rawValue: try Bytes64([UInt8](repeating: 7, count: 64)))
        let fork = FetchedSolanaTransaction(
            signature: ghost, slot: 1, blockTime: nil, failed: false, accountKeys: [f.source, f.delegateKey, f.payerKey], instructions: [],
            preTokenBalances: [], postTokenBalances: [], fee: 5000)
        let event = TokenEvent(kind: .approve, program: .token, source: f.source, counterparty: f.delegateKey, authority: f.payerKey,
                               mint: f.mint, amount: 999, decimals: nil, outerIndex: 0, innerIndex: nil)
        try await indexer.store.commit(chain: chain, [(fork, [event])], owners: [f.source: f.payerKey])
        #expect(try await indexer.store.events(chain: chain).contains { $0.signature == ghost })
        try await f.net.advance(10)
        let report = try await indexer.indexOnce()
        #expect(report.dropped == 1)
        #expect(!(try await indexer.store.events(chain: chain).contains { $0.signature == ghost }))
        #expect(report.stateMismatches == 0)
    }

    @Test("state that disagrees with the indexed transactions is reported and repaired from the chain",
          arguments: SolanaIndexDatabase.Backend.allCases)
    func mismatch(_ backend: SolanaIndexDatabase.Backend) async throws {
        let f = try await SolanaFixture.make(net: try await sharedTestnet.value, backend: backend)
        defer { f.close() }
        let approve = try await f.approve(123)
        let indexer = try await f.indexer()
        try await indexer.indexOnce()
        let chain = try await indexer.prepare()
        try await indexer.store.remove(chain: chain, [approve])  // the index lost the Approve
        _ = try await f.pull(3)
        let report = try await indexer.indexOnce()
        #expect(report.stateMismatches == 1)
        let state = try await indexer.store.states(chain: chain, owner: f.payerKey).first { $0.account == f.source }
        #expect(state?.delegate == f.delegateKey && state?.delegatedAmount == 120)
    }
}

@Suite("Solana indexer under a lease", .serialized)
struct SolanaFencedIndexerTests {
    @Test("an indexer whose lease changed hands commits nothing of its pass; the new holder's pass indexes everything",
          arguments: SolanaIndexDatabase.Backend.allCases)
    func staleLease(_ backend: SolanaIndexDatabase.Backend) async throws {
        let f = try await SolanaFixture.make(net: try await sharedTestnet.value, backend: backend)
        defer { f.close() }
        _ = try await f.approve(50_000)
        _ = try await f.pull(5_000)
        let leases = try await f.leases()
        let a = try #require(try await leases.acquire("index litesvm", holder: "a", now: 1_000, ttl: 100))
        let b = try #require(try await leases.acquire("index litesvm", holder: "b", now: 1_200, ttl: 100))
        let paused = try await f.indexer()
        let error = await #expect(throws: StoreError.self) { try await paused.indexOnce(lease: a) }
        #expect(error?.code == .fenced)
        let chain = try await paused.prepare()
        #expect(try await paused.store.trackedAccounts(chain: chain).isEmpty)
        #expect(try await paused.store.events(chain: chain).isEmpty)
        #expect(try await paused.store.states(chain: chain, owner: f.payerKey).isEmpty)

        let current = try await f.indexer()
        let report = try await current.indexOnce(lease: b)
        #expect(report.transactionsIndexed > 0 && report.stateMismatches == 0)
        #expect(try await current.store.events(chain: chain, owner: f.payerKey).map(\.event.amount) == [50_000, 5_000])
        #expect(try await current.store.trackedAccounts(chain: chain).first { $0.account == f.source }?.newestSignature != nil)
    }
}

@Suite("Solana indexer survives kill -9", .serialized)
struct SolanaCrashTests {
    @Test("kill -9 the settled binary during a Solana backfill, again and again: no gap, no duplicate")
    func killDuringBackfill() async throws {
        _ = try SettledBinary.require()
        let f = try await SolanaFixture.make(net: try await SolanaTestnet.start())
        _ = try await f.approve(10_000_000)
        for i in 1...400 { _ = try await f.pull(UInt64(i)) }
        // Each getTransaction answers 2 ms late, as from a node across a network: on a quiet machine the local
        // backfill otherwise finished inside one kill delay (CI once counted a single kill).
        let proxy = try await SolanaFaultProxy.start(upstream: f.net.peer.url("/"))
        try await proxy.arm(["mode": "delay", "seconds": .number("0.002"), "count": -1, "method": "getTransaction"])
        let directory = try temporaryDirectory("settle-solana-crash")
        try """
            family = "solana"
            rpc_urls = ["\(proxy.url)"]
            [[tokens]]
            symbol = "USDC"
            mint = "\(f.mint)"
            decimals = 6
            """.write(to: directory.appendingPathComponent("crash.toml"), atomically: true, encoding: .utf8)
        let database = directory.appendingPathComponent("index.sqlite").path
        let report = try await SettledBinary.killRepeatedly(
            ["index", "--chain", "crash", "--chains-directory", directory.path, "--database", database, "--once",
             "--delegate", f.delegateKey.description, "--log-level", "error"],
            // The whole backfill takes a few hundred ms on a quiet machine: kills come early and often so that several
            // land mid-backfill, and one last run is never killed (as in the EVM crash test).
            killingRuns: 60, delay: 30...150, seed: 9, maxRuns: 61) { exitedCleanly in exitedCleanly }
        let (finished, kills) = (report.done, report.kills)
        print("solana indexer crash test: \(kills) kills in \(report.runs) runs")
        #expect(finished, "the indexer never completed between kills")
        #expect(kills >= 2, "the backfill finished too fast to be killed; make it longer")
        let store = SQLiteSolanaIndexStore(database: try Database(path: database))
        let chain = try #require(try await store.chainID(named: "crash"))
        let events = try await store.events(chain: chain, owner: f.payerKey)
        #expect(events.count == 401)
        #expect(Set(events.map(\.signature)).count == 401)
        #expect(events.filter { $0.event.kind == .transfer }.map(\.event.amount) == (1...400).map { UInt64($0) })
    }
}
