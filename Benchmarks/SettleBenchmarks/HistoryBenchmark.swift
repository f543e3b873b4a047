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

/// `settle-bench history [--approvals 10000000] [--wallets 200000] [--heavy 100] [--clients 32] [--seconds 15]
/// [--postgres URL] [--database PATH]`: allowance-history latency of the real API at `approvals` indexed approvals,
/// SQLite against PostgreSQL in one run (issue 15).
///
/// For each backend: a fresh index in the stores' own schema filled with `HistoryShape`'s rows (SQLite: a file under
/// the temporary directory or `--database`; PostgreSQL: a database made on the server of `--postgres` and dropped
/// afterwards), the query plans of a first and a deep page (EXPLAIN), then the real `/v1` router served by
/// Hummingbird with Settle's guarded server on 127.0.0.1, and `clients` concurrent HTTP clients asking
/// `GET /v1/chains/devnet/wallets/{wallet}/allowances?limit=50` for `seconds` each (after 2 s of warm-up not counted):
/// first pages of any wallet, first pages of long-history wallets, and deep pages (a cursor half-way to near the end
/// of a long history). Latency is the client's, request to parsed answer; p50, p99, pages/s, and PostgreSQL ÷ SQLite.
enum HistoryBenchmark {
    static func say(_ line: String) {
        print(line)
        fflush(nil)
    }

    struct Options {
        var shape = HistoryShape(approvals: 10_000_000, wallets: 200_000, heavy: 100)
        var clients = 32
        var seconds = 15
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
            case "--clients": options.clients = try number("--clients")
            case "--seconds": options.seconds = try number("--seconds")
            case "--postgres" where i + 1 < arguments.count: options.postgres = try PostgresLocation(url: arguments[i + 1])
            case "--database" where i + 1 < arguments.count: options.database = arguments[i + 1]
            default:
                throw BenchError("unknown argument \(arguments[i]); usage: settle-bench history [--approvals N] [--wallets N] [--heavy N] "
                    + "[--clients N] [--seconds N] [--postgres postgres://USER@HOST:PORT/DB?sslmode=disable] [--database PATH]")
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
            + "\(options.clients) clients, \(options.seconds) s per phase")
        var results: [(backend: String, load: Double, phases: [PhaseResult])] = []

        let path = options.database
        func removeDatabase() { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        removeDatabase()
        do {
            say("SQLite (\(path)): loading")
            let started = ContinuousClock.now
            // As `settled serve` opens it: the default durability and reader lanes.
            let database = try Database(path: path)
            let store = SQLiteEVMIndexStore(database: database)
            let chain = try await loadSQLite(shape, store: store)
            let load = started.secondsUntilNow
            let size = ((try? FileManager.default.attributesOfItem(atPath: path)[.size]) as? Int ?? 0) >> 20
            say("SQLite: file \(size) MiB")
            try await explainSQLite(shape, store: store, chain: chain)
            let ledger = Ledger(database: database)
            try await ledger.migrate()
            let outbox = Outbox(database: database)
            try await outbox.migrate()
            let phases = try await measure(shape, options: options, store: store, ledger: ledger, outbox: outbox, backend: "SQLite")
            results.append(("SQLite", load, phases))
        } catch {
            removeDatabase()
            throw error
        }
        removeDatabase()

        if let postgres = options.postgres {
            say("PostgreSQL (\(postgres.host):\(postgres.port)): loading")
            let started = ContinuousClock.now
            let phases = try await BackfillBenchmark.withFreshPostgresDatabase(on: postgres) { pool in
                let chain = try await loadPostgres(shape, pool: pool)
                let load = started.secondsUntilNow
                try await explainPostgres(shape, pool: pool, chain: chain)
                let ledger = Ledger(database: pool)
                try await ledger.migrate()
                let outbox = Outbox(database: pool)
                try await outbox.migrate()
                let store = PostgresEVMIndexStore(database: pool)
                return (load, try await measure(shape, options: options, store: store, ledger: ledger, outbox: outbox, backend: "PostgreSQL"))
            }
            results.append(("PostgreSQL", phases.0, phases.1))
        }
        report(results, options: options)
    }

    static func report(_ results: [(backend: String, load: Double, phases: [PhaseResult])], options: Options) {
        say("")
        say("Allowance history, \(options.shape.approvals) approvals, \(options.clients) concurrent clients (latency per page, client side):")
        for result in results {
            say(String(format: "  %@ (loaded in %.0f s):", result.backend, result.load))
            for phase in result.phases {
                say(String(format: "    %@ p50 %7.1f ms  p99 %7.1f ms  %6.0f pages/s  %5.1f rows/page  (%d pages, %d failed)",
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

    // MARK: Query plans

    static func explainSQLite(_ shape: HistoryShape, store: SQLiteEVMIndexStore, chain: Int64) async throws {
        for (label, after) in samplePositions(shape) {
            let plan = try await store.database.read { (db: SQLiteConnection) -> [String] in
                guard let query = try SQLiteEVMIndexStore.allowanceHistoryKeys(
                    db, chain: chain, owner: HistoryShape.address(shape.walletID(0)), token: nil,
                    spender: HistoryShape.address(HistoryShape.ourSpenderID), after: after, limit: 51) else { return ["(wallet not indexed)"] }
                let explain = try db.statement("EXPLAIN QUERY PLAN " + query.sql)
                explain.bind(query.values)
                var lines: [String] = []
                while try explain.step() { lines.append(explain.text(3)) }
                return lines
            }
            say("  SQLite plan, \(label) (then each row by its primary key): " + plan.joined(separator: "; "))
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

    /// Serves the API on `store` and runs the three phases against it.
    static func measure(_ shape: HistoryShape, options: Options, store: any EVMIndexStore, ledger: Ledger, outbox: Outbox,
                        backend: String) async throws -> [PhaseResult] {
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
        let http = HTTPClient(maximumConnectionsPerHost: options.clients + 4)
        defer { http.shutdown() }
        let node = EVMNode(rpc: JSONRPCClient(endpoints: [RPCEndpoint(url: "http://127.0.0.1:9/", label: "unused")], http: http))
        var logger = Logger(label: "bench")
        logger.logLevel = .critical
        let token = "bench-history-token"
        let view = EVMChainView(config: config, store: store, node: node, spender: HistoryShape.address(HistoryShape.ourSpenderID))
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
        defer { server.cancel() }
        while port.withLock({ $0 }) == nil { try await Task.sleep(for: .milliseconds(10)) }
        let base = "http://127.0.0.1:\(port.withLock { $0 } ?? 0)/v1/chains/\(chainName)/wallets/"

        let phases: [(String, @Sendable (inout SystemRandomNumberGenerator) -> String)] = [
            ("first page, any wallet", { rng in
                base + HistoryShape.address(shape.walletID(Int.random(in: 0..<shape.wallets, using: &rng))).checksummed + "/allowances?limit=50"
            }),
            ("first page, long-history wallet", { rng in
                base + HistoryShape.address(shape.walletID(Int.random(in: 0..<shape.heavy, using: &rng))).checksummed + "/allowances?limit=50"
            }),
            ("deep page, long-history wallet", { rng in
                let wallet = Int.random(in: 0..<shape.heavy, using: &rng)
                let position = shape.heavyPosition(wallet: wallet, approval: Int.random(in: shape.heavyDepth / 2..<(shape.heavyDepth - 100), using: &rng))
                // The API's cursor: hex of "block:logIndex", what its next_cursor of the page before would say.
                let cursor = Hex.encode(Array("\(position.block):\(position.logIndex)".utf8))
                return base + HistoryShape.address(shape.walletID(wallet)).checksummed + "/allowances?limit=50&cursor=" + cursor
            }),
        ]
        var out: [PhaseResult] = []
        for (name, url) in phases {
            let result = try await load(name: name, clients: options.clients, seconds: options.seconds, http: http, token: token, url: url)
            say(String(format: "  %@ %@: p50 %.1f ms, p99 %.1f ms, %.0f pages/s, %.1f rows/page (%d pages, %d failed)",
                       backend, name, result.p50, result.p99, result.pagesPerSecond, result.rowsPerPage, result.pages, result.failed))
            out.append(result)
        }
        return out
    }

    /// `clients` tasks asking for `url(rng)` back to back: 2 s of warm-up, then `seconds` measured.
    static func load(name: String, clients: Int, seconds: Int, http: HTTPClient, token: String,
                     url: @escaping @Sendable (inout SystemRandomNumberGenerator) -> String) async throws -> PhaseResult {
        let state = PhaseState()
        let measured = try await withThrowingTaskGroup(of: Double.self) { group in
            for _ in 0..<clients {
                group.addTask {
                    var rng = SystemRandomNumberGenerator()
                    while !state.stop.load(ordering: .relaxed) {
                        let started = ContinuousClock.now
                        let target = url(&rng)
                        var rows: Int?
                        var failure: String?
                        do {
                            let response = try await http.execute(Transport.HTTPRequest(url: target, headers: [("Authorization", "Bearer \(token)")]))
                            if response.status == 200, let page = try? JSON(parsing: response.body) {
                                rows = page["data"]?.arrayValue?.count
                            } else {
                                failure = "\(response.status): \(String(decoding: response.body.prefix(200), as: UTF8.self))"
                            }
                        } catch {
                            failure = "\(error)"
                        }
                        let milliseconds = started.secondsUntilNow * 1000
                        guard state.measuring.load(ordering: .relaxed), !state.stop.load(ordering: .relaxed) else { continue }
                        state.samples.withLock {
                            if let rows {
                                $0.times.append(milliseconds)
                                $0.rows += rows
                                $0.pages += 1
                            } else {
                                $0.failed += 1
                                if $0.firstFailure == nil { $0.firstFailure = failure }
                            }
                        }
                    }
                    return 0
                }
            }
            try await Task.sleep(for: .seconds(2))
            state.measuring.store(true, ordering: .relaxed)
            let started = ContinuousClock.now
            try await Task.sleep(for: .seconds(seconds))
            state.stop.store(true, ordering: .relaxed)
            let elapsed = started.secondsUntilNow
            for try await _ in group {}
            return elapsed
        }
        let (times, rows, pages, failed, firstFailure) = state.samples.withLock { $0 }
        if let firstFailure { say("  \(name): first failure: \(firstFailure)") }
        let sorted = times.sorted()
        func percentile(_ p: Double) -> Double {
            sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int((Double(sorted.count - 1) * p).rounded()))]
        }
        return PhaseResult(name: name, p50: percentile(0.5), p99: percentile(0.99), pagesPerSecond: Double(pages) / measured,
                           rowsPerPage: pages == 0 ? 0 : Double(rows) / Double(pages), pages: pages, failed: failed)
    }
}

/// What a phase's clients share: whether the measured window is open, whether to stop, and the samples.
final class PhaseState: Sendable {
    let measuring = Atomic<Bool>(false)
    let stop = Atomic<Bool>(false)
    let samples = Mutex<(times: [Double], rows: Int, pages: Int, failed: Int, firstFailure: String?)>(([], 0, 0, 0, nil))
}
