import API
import EVM
@_spi(Explain) import EVMIndexer
import Foundation
import Hummingbird
import Logging
import PostgresNIO
import Prometheus
import SettleConfiguration
import SettleCore
import Settlement
import Store
import Synchronization
import Transport

/// `settle-bench history [--approvals 10000000] [--wallets 200000] [--heavy 100] [--clients 1,32] [--seconds 10]
/// [--rounds 3] [--postgres URL] [--database PATH]`: allowance-history latency of the real API at `approvals` indexed
/// approvals, SQLite against PostgreSQL in one run (issue 15).
///
/// Each backend gets a fresh index in the stores' own schema filled with `HistoryShape`'s rows (SQLite: a file under
/// the temporary directory or `--database`; PostgreSQL: a database made on the server of `--postgres` and dropped
/// afterwards), the query plans of a first and a deep page are printed (EXPLAIN), and the real `/v1` router is served
/// for each by Hummingbird with Settle's guarded server on 127.0.0.1. Then, for each count of `clients`, that many
/// concurrent HTTP clients ask
/// `GET /v1/chains/devnet/wallets/{wallet}/allowances?limit=50` for `seconds` (after 2 s of warm-up not counted) in
/// three phases — first pages of any wallet, first pages of long-history wallets, deep pages (a cursor from half-way
/// to near the end of a long history) — after a floor phase (`GET /v1/chains`: the same server, authentication and
/// client, no index read) that shows what any answer costs on this machine — one backend at a time, over `rounds`
/// rounds with the backends' order alternating, so load from elsewhere on the machine falls on both. Latency is the client's, from the request to
/// the answer's last byte (not its parsing, to count rows); p50, p99 and pages/s pooled over the rounds, and
/// PostgreSQL ÷ SQLite.
enum HistoryBenchmark {
    static func say(_ line: String) {
        print(line)
        fflush(nil)
    }

    struct Options {
        var shape = HistoryShape(approvals: 10_000_000, wallets: 200_000, heavy: 100)
        /// Concurrent clients, one measurement per count: 1 shows a page's own cost, 32 the server under load.
        var clients = [1, 32]
        var seconds = 10
        var rounds = 3
        var postgres: PostgresLocation?
        var database = FileManager.default.temporaryDirectory.appendingPathComponent("settle-bench-history-\(getpid()).sqlite").path
    }

    static func options(_ arguments: [String]) throws -> Options {
        var options = Options()
        var i = 0
        func number(_ flag: String) throws -> Int {
            guard i + 1 < arguments.count, let value = Int(arguments[i + 1]), value > 0 else { throw BenchError("\(flag) needs a positive number") }
            return value
        }
        while i < arguments.count {
            switch arguments[i] {
            case "--approvals": options.shape.approvals = try number("--approvals")
            case "--wallets": options.shape.wallets = try number("--wallets")
            case "--heavy": options.shape.heavy = try number("--heavy")
            case "--clients":
                let counts = i + 1 < arguments.count ? arguments[i + 1].split(separator: ",").compactMap { Int($0) } : []
                guard !counts.isEmpty, counts.allSatisfy({ $0 > 0 }) else { throw BenchError("--clients needs positive numbers, as 1,32") }
                options.clients = counts
            case "--seconds": options.seconds = try number("--seconds")
            case "--rounds": options.rounds = try number("--rounds")
            case "--postgres" where i + 1 < arguments.count: options.postgres = try PostgresLocation(url: arguments[i + 1])
            case "--database" where i + 1 < arguments.count: options.database = arguments[i + 1]
            case "-h", "--help":
                print("""
                    usage: settle-bench history [--approvals N] [--wallets N] [--heavy N] [--clients N,N…] [--seconds N] [--rounds N]
                                                [--postgres postgres://USER@HOST:PORT/DB?sslmode=disable] [--database PATH]
                    Fills a fresh index with N approvals (default 10,000,000) over --wallets wallets (--heavy of them with long
                    histories), shows the query plans and where one page's time goes in process, then serves the real /v1 API
                    on 127.0.0.1 and times allowance-history pages (p50, p99, pages/s) with each count of --clients, for
                    --seconds per phase, --rounds times; with --postgres, the same against a database made on that server.
                    Benchmarks/history/run.sh runs it with a throwaway PostgreSQL; see Benchmarks/README.md.
                    """)
                exit(0)
            default:
                throw BenchError("unknown argument \(arguments[i]); usage: settle-bench history [--approvals N] [--wallets N] [--heavy N] "
                    + "[--clients N,N…] [--seconds N] [--rounds N] [--postgres postgres://USER@HOST:PORT/DB?sslmode=disable] [--database PATH]")
            }
            i += 2
        }
        let shape = options.shape
        guard shape.wallets > shape.heavy, shape.heavyDepth >= 400 else {
            throw BenchError("need more wallets than --heavy and at least 400 approvals per long-history wallet (approvals / 10 / heavy)")
        }
        return options
    }

    static func run(arguments: [String]) async throws {
        let options = try options(arguments)
        let shape = options.shape
        say("history: \(shape.approvals) approvals and \(shape.transfers) transfers over \(shape.wallets) wallets in \(shape.blocks) blocks; "
            + "\(shape.heavy) long-history wallets of \(shape.heavyDepth) approvals (\(shape.heavyDepth * 4 / 5) to our spender); "
            + "\(options.clients.map(String.init).joined(separator: " and ")) clients, \(options.rounds) rounds of \(options.seconds) s per phase and backend")
        let path = options.database
        func removeDatabase() { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        removeDatabase()
        defer { removeDatabase() }
        let http = HTTPClient(maximumConnectionsPerHost: (options.clients.max() ?? 1) + 4)
        defer { http.shutdown() }

        say("SQLite (\(path)): loading")
        let started = ContinuousClock.now
        // As `settled serve` opens it: the default durability and reader lanes.
        let database = try Database(path: path)
        let store = SQLiteEVMIndexStore(database: database)
        let chain = try await loadSQLite(shape, store: store)
        let sqliteLoad = started.secondsUntilNow
        let size = ((try? FileManager.default.attributesOfItem(atPath: path)[.size]) as? Int ?? 0) >> 20
        say("SQLite: file \(size) MiB")
        try await explainSQLite(shape, store: store, chain: chain)
        let ledger = Ledger(database: database)
        try await ledger.migrate()
        let outbox = Outbox(database: database)
        try await outbox.migrate()
        try await decompose(shape, view: chainView(store: store, http: http), store: store, seconds: options.seconds)
        let sqlite = try await serve(store: store, ledger: ledger, outbox: outbox, http: http)
        defer { sqlite.server.cancel() }
        let first = Backend(name: "SQLite", base: sqlite.base, load: sqliteLoad)

        guard let postgres = options.postgres else {
            try await compare([first], shape: shape, options: options, http: http)
            return
        }
        say("PostgreSQL (\(postgres.host):\(postgres.port)): loading")
        let pgStarted = ContinuousClock.now
        try await BackfillBenchmark.withFreshPostgresDatabase(on: postgres) { pool in
            let chain = try await loadPostgres(shape, pool: pool)
            let load = pgStarted.secondsUntilNow
            try await explainPostgres(shape, pool: pool, chain: chain)
            let ledger = Ledger(database: pool)
            try await ledger.migrate()
            let outbox = Outbox(database: pool)
            try await outbox.migrate()
            let served = try await serve(store: PostgresEVMIndexStore(database: pool), ledger: ledger, outbox: outbox, http: http)
            defer { served.server.cancel() }
            try await compare([first, Backend(name: "PostgreSQL", base: served.base, load: load)], shape: shape, options: options, http: http)
        }
    }

    /// A backend being measured: where its API answers, and how long its load took.
    struct Backend: Sendable {
        let name: String
        let base: String
        let load: Double
    }

    /// Every phase against every backend, `rounds` times, the backends' order alternating each round so that whatever
    /// else the machine does falls on both; figures pooled over the rounds.
    static func compare(_ backends: [Backend], shape: HistoryShape, options: Options, http: HTTPClient) async throws {
        let token = Self.token
        let wallets = "/v1/chains/\(chainName)/wallets/"
        let phases: [(name: String, path: @Sendable (inout SystemRandomNumberGenerator) -> String)] = [
            // The same server, router, authentication and client without the index: what any answer costs here.
            ("floor: GET /v1/chains, no index", { _ in "/v1/chains" }),
            ("first page, any wallet", { rng in
                wallets + HistoryShape.address(shape.walletID(Int.random(in: 0..<shape.wallets, using: &rng))).checksummed + "/allowances?limit=50"
            }),
            ("first page, long-history wallet", { rng in
                wallets + HistoryShape.address(shape.walletID(Int.random(in: 0..<shape.heavy, using: &rng))).checksummed + "/allowances?limit=50"
            }),
            ("deep page, long-history wallet", { rng in
                let wallet = Int.random(in: 0..<shape.heavy, using: &rng)
                let position = shape.heavyPosition(wallet: wallet, approval: Int.random(in: shape.heavyDepth / 2..<(shape.heavyDepth - 100), using: &rng))
                // The API's cursor: hex of "block:logIndex", what its next_cursor of the page before would say.
                let cursor = Hex.encode(Array("\(position.block):\(position.logIndex)".utf8))
                return wallets + HistoryShape.address(shape.walletID(wallet)).checksummed + "/allowances?limit=50&cursor=" + cursor
            }),
        ]
        for clients in options.clients {
            var pooled: [String: Samples] = [:]
            for round in 1...options.rounds {
                for phase in phases {
                    for backend in round % 2 == 1 ? backends : backends.reversed() {
                        let base = backend.base
                        let path = phase.path
                        let samples = try await load(clients: clients, seconds: options.seconds, http: http, token: token) { rng in base + path(&rng) }
                        let result = samples.result(phase.name)
                        say(String(format: "  %d clients, round %d, %@ %@: p50 %.2f ms, p99 %.2f ms, %.0f pages/s, %.1f rows/page (%d pages, %d failed)",
                                   clients, round, backend.name, phase.name, result.p50, result.p99, result.pagesPerSecond, result.rowsPerPage,
                                   result.pages, result.failed))
                        if let failure = samples.firstFailure { say("    first failure: \(failure)") }
                        pooled["\(backend.name)|\(phase.name)", default: Samples()].merge(samples)
                    }
                }
            }
            let results = backends.map { backend in
                (backend.name, backend.load, phases.map { pooled["\(backend.name)|\($0.name)", default: Samples()].result($0.name) })
            }
            report(results, clients: clients, options: options)
        }
    }

    static func report(_ results: [(backend: String, load: Double, phases: [PhaseResult])], clients: Int, options: Options) {
        say("")
        say("Allowance history and readiness, \(options.shape.approvals) approvals, \(clients) concurrent clients, \(options.rounds) rounds "
            + "of \(options.seconds) s per phase and backend (latency per page, client side, pooled):")
        for result in results {
            say(String(format: "  %@ (loaded in %.0f s):", result.backend, result.load))
            for phase in result.phases {
                say(String(format: "    %@ p50 %7.2f ms  p99 %7.2f ms  %6.0f pages/s  %5.1f rows/page  (%d pages, %d failed)",
                           padded(phase.name), phase.p50, phase.p99, phase.pagesPerSecond, phase.rowsPerPage, phase.pages, phase.failed))
            }
        }
        guard results.count == 2 else { return }
        say("  PostgreSQL ÷ SQLite (same data, same run; above 1 = PostgreSQL slower):")
        for (sqlite, postgres) in zip(results[0].phases, results[1].phases) {
            say(String(format: "    %@ p50 %5.2fx  p99 %5.2fx  pages/s %5.2fx",
                       padded(sqlite.name), postgres.p50 / sqlite.p50, postgres.p99 / sqlite.p99, postgres.pagesPerSecond / sqlite.pagesPerSecond))
        }
    }

    static func padded(_ name: String) -> String { name.padding(toLength: 34, withPad: " ", startingAt: 0) }

    // MARK: Where a page's time goes

    /// One caller, in this process, without HTTP: a trip to a reader of the API lane that reads nothing; a
    /// long-history wallet's first page (50 rows and the current allowance) as the store reads it (one such trip);
    /// then as the API's view reads and renders it into the answer's bytes. With the HTTP phases' floor, this splits a
    /// page's latency into the read, the rendering and the request's path through the server and client.
    static func decompose(_ shape: HistoryShape, view: EVMChainView, store: SQLiteEVMIndexStore, seconds: Int) async throws {
        let owner: @Sendable (inout SystemRandomNumberGenerator) -> EVMAddress = { rng in HistoryShape.address(shape.walletID(Int.random(in: 0..<shape.heavy, using: &rng))) }
        let spender = HistoryShape.address(HistoryShape.ourSpenderID)
        let steps: [(name: String, run: @Sendable (inout SystemRandomNumberGenerator) async throws -> Int)] = [
            ("store: a trip to a reader, no query", { _ in
                try await store.database.read { (_: SQLiteConnection) in 0 }
            }),
            ("store: allowancePage, 51 rows", { rng in
                try await store.allowancePage(chain: chainName, owner: owner(&rng), token: nil, spender: spender, after: nil, limit: 51)?.history.count ?? 0
            }),
            ("view: read + JSON answer bytes", { rng in
                let page = try await view.allowances(wallet: owner(&rng).checksummed, token: nil, cursor: nil, limit: 50)
                let answer: JSON = ["chain": .string(view.name), "spender": .string(view.puller), "current": .array(page.current),
                                    "data": .array(page.history), "next_cursor": page.nextCursor.map { .string($0) } ?? .null]
                return answer.serialized.count > 0 ? page.history.count : 0
            }),
        ]
        say("Where a page's time goes (one caller, in process, no HTTP; long-history wallets' first pages, \(seconds) s each):")
        for step in steps {
            let run = step.run
            var times: [Double] = []
            var rows = 0
            try await ReadLane.$current.withValue(.api) {
                var rng = SystemRandomNumberGenerator()
                let warm = ContinuousClock.now
                while warm.secondsUntilNow < 1 { rows = try await run(&rng) }
                let started = ContinuousClock.now
                while started.secondsUntilNow < Double(seconds) {
                    let one = ContinuousClock.now
                    rows = try await run(&rng)
                    times.append(one.secondsUntilNow * 1000)
                }
            }
            times.sort()
            say(String(format: "  %@ p50 %.3f ms  p99 %.3f ms  (%d calls, %d rows each)", padded(step.name), times[times.count / 2],
                       times[min(times.count - 1, times.count * 99 / 100)], times.count, rows))
        }
    }

    // MARK: Query plans

    static func explainSQLite(_ shape: HistoryShape, store: SQLiteEVMIndexStore, chain: Int64) async throws {
        for (label, after) in samplePositions(shape) {
            let plan = try await store.database.read { (db: SQLiteConnection) -> [String] in
                guard let query = try SQLiteEVMIndexStore.allowanceHistoryQuery(
                    db, chain: chain, owner: HistoryShape.address(shape.walletID(0)), token: nil,
                    spender: HistoryShape.address(HistoryShape.ourSpenderID), after: after, limit: 51) else { return ["(wallet not indexed)"] }
                let explain = try db.statement("EXPLAIN QUERY PLAN " + query.sql)
                explain.bind(query.values)
                var lines: [String] = []
                while try explain.step() { lines.append(explain.text(3)) }
                return lines
            }
            say("  SQLite plan, \(label): " + plan.joined(separator: "; "))
        }
    }

    static func explainPostgres(_ shape: HistoryShape, pool: PostgresPool, chain: Int64) async throws {
        for (label, after) in samplePositions(shape) {
            let query = PostgresEVMIndexStore.allowanceHistoryQuery(
                chain: chain, owner: HistoryShape.address(shape.walletID(0)), token: nil,
                spender: HistoryShape.address(HistoryShape.ourSpenderID), after: after, limit: 51)
            let explain = PostgresQuery(unsafeSQL: "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY ON) " + query.sql, binds: query.binds)
            var lines: [String] = []
            for try await line in try await pool.client.query(explain, logger: pool.logger).decode(String.self) { lines.append(line) }
            say("  PostgreSQL plan, \(label):\n" + lines.map { "      " + $0 }.joined(separator: "\n"))
        }
    }

    /// A long-history wallet's first page and a page 90% of the way into its history.
    static func samplePositions(_ shape: HistoryShape) -> [(String, (block: UInt64, logIndex: UInt64)?)] {
        let deep = shape.heavyPosition(wallet: 0, approval: shape.heavyDepth * 9 / 10)
        return [("first page", nil), ("deep page", (UInt64(deep.block), UInt64(deep.logIndex)))]
    }
}

extension HistoryBenchmark {
    struct PhaseResult: Sendable {
        let name: String
        let p50: Double
        let p99: Double
        let pagesPerSecond: Double
        let rowsPerPage: Double
        let pages: Int
        let failed: Int
    }

    static let token = "bench-history-token"

    /// The API's view of the benchmark chain over `store`, as `serve` builds it.
    static func chainView(store: any EVMIndexStore, http: HTTPClient) throws -> EVMChainView {
        let tokens = HistoryShape.tokenIDs.map { id in
            "[[tokens]]\nsymbol = \"T\(id)\"\naddress = \"\(HistoryShape.address(id).checksummed)\"\ndecimals = 6\n"
        }
        let config = try ChainConfig.parse("""
            family = "evm"
            chain_id = 1337
            rpc_urls = ["http://127.0.0.1:9/"]
            block_time_ms = 12000
            [finality]
            mode = "confirmations"
            confirmations = 3
            [index]
            mode = "scoped"
            spenders = ["\(HistoryShape.address(HistoryShape.ourSpenderID).checksummed)"]
            \(tokens.joined(separator: "\n"))
            """, file: "\(chainName).toml")
        let node = EVMNode(rpc: JSONRPCClient(endpoints: [RPCEndpoint(url: "http://127.0.0.1:9/", label: "unused")], http: http))
        return EVMChainView(config: config, store: store, node: node, spender: HistoryShape.address(HistoryShape.ourSpenderID))
    }

    /// The real `/v1` router over `store`, served by Hummingbird with Settle's guarded server on a free port of 127.0.0.1.
    static func serve(store: any EVMIndexStore, ledger: Ledger, outbox: Outbox, http: HTTPClient) async throws
        -> (base: String, server: Task<Void, any Error>) {
        var logger = Logger(label: "bench")
        logger.logLevel = .critical
        let view = try chainView(store: store, http: http)
        let api = SettleAPI(ledger: ledger, outbox: outbox, chains: [view], tokens: BearerTokens([("bench", token, .read)]),
                            health: HealthRegistry(chains: [(chainName, "evm")]), allowancePayments: [:], retrier: nil,
                            metrics: PrometheusCollectorRegistry(), logger: logger)
        let router = Router()
        api.add(to: router)
        let port = Mutex<Int?>(nil)
        let app = Application(router: router, server: .guarded(ServerLimits(), logger: logger),
                              configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                              onServerRunning: { channel in port.withLock { $0 = channel.localAddress?.port } }, logger: logger)
        let server = Task { try await app.run() }
        while port.withLock({ $0 }) == nil { try await Task.sleep(for: .milliseconds(10)) }
        return ("http://127.0.0.1:\(port.withLock { $0 } ?? 0)", server)
    }

    /// `clients` tasks asking for `url(rng)` back to back: 2 s of warm-up, then `seconds` measured.
    static func load(clients: Int, seconds: Int, http: HTTPClient, token: String,
                     url: @escaping @Sendable (inout SystemRandomNumberGenerator) -> String) async throws -> Samples {
        let state = PhaseState()
        let measured = try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<clients {
                group.addTask {
                    var rng = SystemRandomNumberGenerator()
                    while !state.stop.load(ordering: .relaxed) {
                        let target = url(&rng)
                        let request = Transport.HTTPRequest(url: target, headers: [("Authorization", "Bearer \(token)")])
                        var rows: Int?
                        var failure: String?
                        var milliseconds = 0.0
                        do {
                            // A page's latency ends when its last byte has arrived: the client's own reading of it
                            // (parsing the JSON to count its rows) is not the server's time.
                            let started = ContinuousClock.now
                            let response = try await http.execute(request)
                            milliseconds = started.secondsUntilNow * 1000
                            if response.status == 200, let page = try? JSON(parsing: response.body) {
                                rows = page["data"]?.arrayValue?.count
                            } else {
                                failure = "\(response.status): \(String(decoding: response.body.prefix(200), as: UTF8.self))"
                            }
                        } catch {
                            failure = "\(error)"
                        }
                        guard state.measuring.load(ordering: .relaxed), !state.stop.load(ordering: .relaxed) else { continue }
                        state.samples.withLock { $0.add(milliseconds: milliseconds, rows: rows, failure: failure) }
                    }
                }
            }
            try await Task.sleep(for: .seconds(2))
            state.measuring.store(true, ordering: .relaxed)
            let started = ContinuousClock.now
            try await Task.sleep(for: .seconds(seconds))
            state.stop.store(true, ordering: .relaxed)
            let elapsed = started.secondsUntilNow
            try await group.waitForAll()
            return elapsed
        }
        var samples = state.samples.withLock { $0 }
        samples.seconds = measured
        return samples
    }
}

/// Page latencies (milliseconds) and counts of one or more measured windows.
struct Samples: Sendable {
    var times: [Double] = []
    var rows = 0
    var failed = 0
    var seconds = 0.0
    var firstFailure: String?

    mutating func add(milliseconds: Double, rows: Int?, failure: String?) {
        if let rows {
            times.append(milliseconds)
            self.rows += rows
        } else {
            failed += 1
            if firstFailure == nil { firstFailure = failure }
        }
    }

    mutating func merge(_ other: Samples) {
        times += other.times
        rows += other.rows
        failed += other.failed
        seconds += other.seconds
        if firstFailure == nil { firstFailure = other.firstFailure }
    }

    func result(_ name: String) -> HistoryBenchmark.PhaseResult {
        let sorted = times.sorted()
        func percentile(_ p: Double) -> Double {
            sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int((Double(sorted.count - 1) * p).rounded()))]
        }
        return HistoryBenchmark.PhaseResult(name: name, p50: percentile(0.5), p99: percentile(0.99), pagesPerSecond: Double(times.count) / max(seconds, 0.001),
                                            rowsPerPage: times.isEmpty ? 0 : Double(rows) / Double(times.count), pages: times.count, failed: failed)
    }
}

/// What a phase's clients share: whether the measured window is open, whether to stop, and the samples.
final class PhaseState: Sendable {
    let measuring = Atomic<Bool>(false)
    let stop = Atomic<Bool>(false)
    let samples = Mutex<Samples>(Samples())
}
