import API
import Foundation
import Hummingbird
import Logging
import Prometheus
import SettleConfiguration
import SettleCore
import Settlement
import Signing
import Solana
import SolanaIndexer
import Store
import Synchronization
import Transport

/// `settle-bench reads [--events 100000] [--clients 50] [--passes 60] [--charges 10] [--seconds 300]`:
/// executor pass latency (p50/p99) on a database whose Solana index holds `events` token events of ONE wallet, first
/// quiet, then while `clients` concurrent HTTP clients page through that wallet's allowance history
/// (`GET /v1/chains/solana/wallets/{wallet}/allowances`) on the real API router served by Hummingbird on 127.0.0.1.
/// The loaded phase stops after `seconds` (plus 2 s of warm-up) even if passes remain, and says so.
///
/// A pass is `SettlementLoop.runOnce` with `charges` charges due, driven through `LedgerExecutor`: the ledger and
/// index calls a Solana executor makes (the payer's indexed token account state, signing and persisting the attempt
/// with a real ed25519 signature, marking it sent, following unresolved attempts through `ChargeLifecycle`, recording
/// the outcome), with an in-process chain that lands every transfer at once, final and exact. So the figure is the
/// executor's own database work (reads and writes on the same SQLite file the API reads), without RPC round trips.
///
/// Only APIs that exist before and after issue 14's reader lanes are used, so the same file measures both.
enum ReadsBenchmark {
    static func say(_ line: String) {
        print(line)
        fflush(nil)
    }

    static func run(arguments: [String]) async throws {
        func value(_ flag: String, _ fallback: Int) -> Int {
            arguments.firstIndex(of: flag).flatMap { $0 + 1 < arguments.count ? Int(arguments[$0 + 1]) : nil } ?? fallback
        }
        let eventCount = value("--events", 100_000)
        let clients = value("--clients", 50)
        let passCount = value("--passes", 60)
        let perPass = value("--charges", 10)
        let budget = value("--seconds", 300)

        let path = FileManager.default.temporaryDirectory.appendingPathComponent("settle-bench-reads-\(getpid()).sqlite").path
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        // As `settled serve` opens it: the ledger's durability, the default reader pool.
        let database = try Database(path: path)
        let ledger = Ledger(database: database)
        try await ledger.migrate()
        let outbox = Outbox(database: database)
        try await outbox.migrate()
        let index = SQLiteSolanaIndexStore(database: database)
        try await index.migrate()

        // The world: one wallet with `eventCount` indexed events on its token account, our delegate among them.
        let delegateKey = Ed25519PrivateKey.generate()
        let delegate = SolanaPublicKey(delegateKey.publicKey)
        let wallet = SolanaPublicKey(Ed25519PrivateKey.generate().publicKey)
        let treasury = SolanaPublicKey(Ed25519PrivateKey.generate().publicKey)
        let mint = try SolanaPublicKey(base58: "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v")
        let account = try SolanaPublicKey.associatedTokenAddress(wallet: wallet, mint: mint, tokenProgram: .token)
        let chain = try await index.register(name: "solana")
        try await index.track(chain: chain, TrackedTokenAccount(account: account, owner: wallet, mint: mint, program: .token, newestSignature: nil))
        try await index.saveStates(chain: chain, [SolanaAccountState(account: account, amount: 1_000_000_000, delegate: delegate,
                                                                      delegatedAmount: 500_000_000, slot: UInt64(eventCount))])
        let built = ContinuousClock.now
        try await fillIndex(index, chain: chain, count: eventCount, account: account, wallet: wallet, mint: mint, delegate: delegate)
        say(String(format: "index: %d events of one wallet written in %.1f s", eventCount, built.secondsUntilNow))

        // The API as `settled serve` mounts it.
        let config = try SolanaChainConfig.parse("""
            family = "solana"
            rpc_urls = ["http://127.0.0.1:9/"]
            [[tokens]]
            symbol = "USDC"
            mint = "\(mint)"
            decimals = 6
            """, file: "solana.toml")
        let http = HTTPClient(maximumConnectionsPerHost: clients + 4)
        defer { http.shutdown() }
        let node = SolanaNode(rpc: JSONRPCClient(endpoints: [RPCEndpoint(url: "http://127.0.0.1:9/", label: "unused")], http: http))
        var logger = Logger(label: "bench")
        logger.logLevel = .critical
        let token = "bench-read-token"
        let api = SettleAPI(ledger: ledger, outbox: outbox, chains: [SolanaChainView(config: config, store: index, node: node, delegate: delegate)],
                            tokens: BearerTokens([("bench", token, .read)]), health: HealthRegistry(chains: [("solana", "solana")]),
                            allowancePayments: [:], retrier: nil, metrics: PrometheusCollectorRegistry(), logger: logger)
        let router = Router()
        api.add(to: router)
        let port = Mutex<Int?>(nil)
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                              onServerRunning: { channel in port.withLock { $0 = channel.localAddress?.port } }, logger: logger)
        let server = Task { try await app.run() }
        defer { server.cancel() }
        while port.withLock({ $0 }) == nil { try await Task.sleep(for: .milliseconds(10)) }
        let base = "http://127.0.0.1:\(port.withLock { $0 } ?? 0)/v1/chains/solana/wallets/\(wallet)/allowances?limit=50"

        // The executor.
        let agreement = try await ledger.agreement(customer: "cus_bench", subscription: nil, chain: "solana", token: "USDC", wallet: wallet.description)
        let executor = LedgerExecutor(ledger: ledger, index: index, indexChain: chain, delegate: delegateKey, wallet: wallet, treasury: treasury, mint: mint)
        let loop = SettlementLoop(ledger: ledger, chain: "solana", executor: executor)
        let passes = Passes(ledger: ledger, loop: loop, agreement: agreement.id, perPass: perPass)

        // One page before the load, to show what a request costs alone.
        let single = ContinuousClock.now
        let first = try await http.execute(Transport.HTTPRequest(url: base, headers: [("Authorization", "Bearer \(token)")]))
        guard first.status == 200 else { throw BenchError("the allowance page answered \(first.status): \(String(decoding: first.body, as: UTF8.self))") }
        say(String(format: "one allowance history page (limit 50) alone: %.1f ms", single.secondsUntilNow * 1000))

        _ = try await passes.run(3)  // warm up caches and statements
        let quiet = try await passes.run(passCount)
        report("executor pass, no API load", quiet, perPass: perPass)

        let load = Load()
        passes.reset()
        try await withThrowingTaskGroup(of: Bool.self) { group in
            for _ in 0..<clients {
                group.addTask {
                    var cursor: String?
                    while !load.stop.load(ordering: .relaxed) && !Task.isCancelled {
                        let started = ContinuousClock.now
                        let url = base + (cursor.map { "&cursor=\($0)" } ?? "")
                        do {
                            let response = try await http.execute(Transport.HTTPRequest(url: url, headers: [("Authorization", "Bearer \(token)")],
                                                                                        timeout: .seconds(3600)))
                            guard response.status == 200, let page = try? JSON(parsing: response.body) else {
                                load.failed.add(1, ordering: .relaxed)
                                cursor = nil
                                continue
                            }
                            cursor = page["next_cursor"]?.stringValue
                            load.served.add(1, ordering: .relaxed)
                            let milliseconds = started.secondsUntilNow * 1000
                            load.requestTimes.withLock { $0.append(milliseconds) }
                        } catch {
                            if !load.stop.load(ordering: .relaxed) { load.failed.add(1, ordering: .relaxed) }
                        }
                    }
                    return false
                }
            }
            let measuring = Mutex<(started: ContinuousClock.Instant, served: Int)?>(nil)
            group.addTask {
                try await Task.sleep(for: .seconds(2))  // let every client get going
                measuring.withLock { $0 = (ContinuousClock.now, load.served.load(ordering: .relaxed)) }
                _ = try await passes.run(passCount)
                return true
            }
            group.addTask {  // the time budget: a pass still running then counts as at least its time so far
                try await Task.sleep(for: .seconds(2 + budget))
                return false
            }
            let finished = try await group.next() ?? false
            load.stop.store(true, ordering: .relaxed)
            let (latencies, running) = passes.progress
            report("executor pass, \(clients) clients paging allowance history", latencies, perPass: perPass)
            if !finished {
                say(String(format: "    %d of %d passes finished within the %d s budget; the next had been waiting %.1f s (creating its charges, then the pass)",
                           latencies.count, passCount, budget, (running?.secondsUntilNow ?? 0)))
            }
            if let (started, served) = measuring.withLock({ $0 }) {
                let rate = Double(load.served.load(ordering: .relaxed) - served) / started.secondsUntilNow
                say(String(format: "API while measured: %.1f pages/s served to %d clients", rate, clients))
            }
            let times = load.requestTimes.withLock { $0 }
            say(String(format: "API page latency under load: p50 %.1f ms, p99 %.1f ms (%d pages, %d failed)",
                       percentile(times, 0.50), percentile(times, 0.99), times.count, load.failed.load(ordering: .relaxed)))
            if !finished { exit(0) }  // a pass (and requests) still wait on the database; nothing more to measure
            group.cancelAll()
        }
    }

    static func report(_ label: String, _ latencies: [Double], perPass: Int) {
        say(String(format: "%@: p50 %.1f ms, p99 %.1f ms, max %.1f ms (%d passes, %d charges each)",
                   label, percentile(latencies, 0.50), percentile(latencies, 0.99), latencies.max() ?? 0, latencies.count, perPass))
    }

    static func percentile(_ values: [Double], _ p: Double) -> Double {
        guard !values.isEmpty else { return 0 }
        let sorted = values.sorted()
        return sorted[min(sorted.count - 1, Int((Double(sorted.count - 1) * p).rounded()))]
    }

    /// `count` single-event transactions on the wallet's token account, oldest first: approvals to our delegate,
    /// pulls the delegate signed, the owner's own transfers and revokes, as a busy wallet has them.
    static func fillIndex(_ index: SQLiteSolanaIndexStore, chain: Int64, count: Int, account: SolanaPublicKey, wallet: SolanaPublicKey,
                          mint: SolanaPublicKey, delegate: SolanaPublicKey) async throws {
        var generator = SystemRandomNumberGenerator()
        let elsewhere = SolanaPublicKey(Ed25519PrivateKey.generate().publicKey)
        var done = 0
        while done < count {
            var batch: [(transaction: FetchedSolanaTransaction, events: [TokenEvent])] = []
            for i in done..<min(count, done + 10_000) {
                let signature = SolanaSignature(rawValue: Bytes64(first: try Bytes32((0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }),
                                                                  second: try Bytes32((0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) })))
                let event: TokenEvent = switch i % 20 {
                case 0: TokenEvent(kind: .approve, program: .token, source: account, counterparty: delegate, authority: wallet, mint: mint,
                                   amount: 500_000_000, decimals: 6, outerIndex: 0, innerIndex: nil)
                case 1: TokenEvent(kind: .revoke, program: .token, source: account, counterparty: nil, authority: wallet, mint: nil,
                                   amount: 0, decimals: nil, outerIndex: 0, innerIndex: nil)
                case 2...11: TokenEvent(kind: .transfer, program: .token, source: account, counterparty: elsewhere, authority: delegate, mint: mint,
                                        amount: 2_500_000, decimals: 6, outerIndex: 0, innerIndex: nil)
                default: TokenEvent(kind: .transfer, program: .token, source: account, counterparty: elsewhere, authority: wallet, mint: nil,
                                    amount: 1_000, decimals: nil, outerIndex: 0, innerIndex: nil)
                }
                let transaction = FetchedSolanaTransaction(signature: signature, slot: UInt64(1_000 + i), blockTime: UInt64(1_700_000_000 + i), failed: false,
                                                           accountKeys: [], instructions: [], preTokenBalances: [], postTokenBalances: [], fee: 5_000)
                batch.append((transaction, [event]))
            }
            try await index.commit(chain: chain, batch, owners: [account: wallet])
            try await index.settle(chain: chain, finalized: batch.map(\.transaction.signature), dropped: [], finalizedSlot: UInt64(1_000 + done + batch.count))
            done += batch.count
        }
    }
}

/// What the load's clients did, shared by their tasks.
final class Load: Sendable {
    let stop = Atomic<Bool>(false)
    let served = Atomic<Int>(0)
    let failed = Atomic<Int>(0)
    let requestTimes = Mutex<[Double]>([])
}

/// Executor passes, each over `perPass` new charges due (created before the pass, outside its time).
final class Passes: Sendable {
    let ledger: Ledger
    let loop: SettlementLoop
    let agreement: Int64
    let perPass: Int
    private let invoices = Atomic<Int>(0)
    private let state = Mutex<(latencies: [Double], running: ContinuousClock.Instant?)>(([], nil))

    init(ledger: Ledger, loop: SettlementLoop, agreement: Int64, perPass: Int) {
        self.ledger = ledger
        self.loop = loop
        self.agreement = agreement
        self.perPass = perPass
    }

    /// The passes finished since `reset` (milliseconds each) and when the one under way began (with its charges' creation).
    var progress: (latencies: [Double], running: ContinuousClock.Instant?) { state.withLock { $0 } }

    func reset() { state.withLock { $0 = ([], nil) } }

    /// The latency of each of `count` passes, in milliseconds.
    func run(_ count: Int) async throws -> [Double] {
        var out: [Double] = []
        for _ in 0..<count {
            state.withLock { $0.running = ContinuousClock.now }
            for _ in 0..<perPass {
                let invoice = invoices.add(1, ordering: .relaxed).newValue
                _ = try await ledger.createCharge(invoice: "in_\(invoice)", agreement: agreement, amount: Money(minorUnits: 2500, currency: try Currency(code: "USD")),
                                                  tokenDecimals: 6, rate: .parity, rateAt: 0, dueAt: 0)
            }
            let started = ContinuousClock.now
            let report = try await loop.runOnce()
            let milliseconds = started.secondsUntilNow * 1000
            out.append(milliseconds)
            state.withLock { $0 = ($0.latencies + [milliseconds], nil) }
            if report.failed > 0 { throw BenchError("\(report.failed) charges failed in a pass") }
        }
        return out
    }
}

/// The executor's ledger and index work for one chain, against an in-process chain on which every transfer lands at
/// once, final and exact: the calls `SolanaExecutor` makes, without its RPC.
struct LedgerExecutor: ChargeExecutor {
    let ledger: Ledger
    let index: SQLiteSolanaIndexStore
    let indexChain: Int64
    let delegate: Ed25519PrivateKey
    let wallet: SolanaPublicKey
    let treasury: SolanaPublicKey
    let mint: SolanaPublicKey

    func recover() async throws {}

    func execute(_ charge: Charge, agreement: Agreement, now: UInt64) async throws -> ChargeState {
        // The payer's indexed state (the index cross-check a preflight makes).
        _ = try await index.states(chain: indexChain, owner: wallet, mint: mint)
        let source = try SolanaPublicKey.associatedTokenAddress(wallet: wallet, mint: mint, tokenProgram: .token)
        let destination = try SolanaPublicKey.associatedTokenAddress(wallet: treasury, mint: mint, tokenProgram: .token)
        let signer = SolanaPublicKey(delegate.publicKey)
        let key = delegate
        let units = UInt64(charge.tokenAmount.baseUnits.low)
        let price = UInt64(charge.id)  // as the executor's fee estimate would: one transaction per charge, never two alike
        let outcome = try await ledger.signSolanaAttempt(charge: charge.id, chain: "solana", signer: signer.description, slotBefore: 1, now: now) {
            let blockhash = try Blockhash(base58: "EkSnNWid2cvwEVnVx9aBqawnmiCNiDgp3gUdkDPTKN1N")
            let transfer = TokenInstruction.transferChecked(source: source, mint: mint, destination: destination, owner: signer, amount: units, decimals: 6)
            let instructions = [ComputeBudgetInstruction.setComputeUnitLimit(40_000), ComputeBudgetInstruction.setComputeUnitPrice(microLamports: price), transfer]
            let message = try LegacyMessage(instructions: instructions, payer: signer, recentBlockhash: blockhash)
            let transaction = try SolanaTransaction(message: .legacy(message), signers: [key])
            return (SignedPayload(transactionID: transaction.id?.description ?? "", raw: transaction.serialized()), blockhash.description, 1_000)
        }
        if case .signed(let attempt) = outcome { try await ledger.markSent(attempt, now: now) }
        return try await ledger.charge(id: charge.id)?.state ?? .signed
    }

    func confirm(now: UInt64) async throws {
        let attempts = try await ledger.unresolvedAttempts(chain: "solana")
        for chargeID in Set(attempts.map(\.charge)).sorted() {
            guard let charge = try await ledger.charge(id: chargeID), ChargeLifecycle.followedStates.contains(charge.state) else { continue }
            let tracked = try await ledger.attempts(charge: charge.id)
            var lifecycle = ChargeLifecycle(state: charge.state, attempts: tracked.map(ChargeLifecycle.Tracked.init), policy: .solana(unknownAfterBlocks: 150))
            let sightings = Dictionary(uniqueKeysWithValues: attempts.filter { $0.charge == chargeID }.map {
                ($0.id, Sighting.landed(block: 10, succeeded: true, final: true, matches: true))
            })
            for action in lifecycle.event(.observed(LifecycleEvidence(head: 100, sightings: sightings, received: [:]))) {
                if case .record(let change) = action { try await ledger.apply(change, charge: charge.id, now: now) }
            }
        }
    }
}
