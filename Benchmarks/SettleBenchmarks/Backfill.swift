import SettleConfiguration
import EVM
import EVMIndexer
import Foundation
import Logging
import PostgresNIO
import SettleCore
import Store
import Transport

#if canImport(Glibc)
import Glibc
#endif

/// `settle-bench evm-backfill`: end-to-end backfill in `full` mode from a JSON-RPC endpoint into a fresh SQLite
/// index (fetch, decode, write with indexes), reporting logs/s, blocks/s and peak RSS; with `--postgres URL`, the same
/// backfill into a fresh PostgreSQL database made on that server (and dropped afterwards), and the ratio of the two.
enum BackfillBenchmark {
    static func run(arguments: [String]) async throws {
        var url = ""
        var tokensFile = ""
        var database = FileManager.default.temporaryDirectory.appendingPathComponent("settle-bench-\(getpid()).sqlite").path
        var logRange = 100
        var requestsInFlight = 8
        var postgres: PostgresLocation?
        var i = 0
        while i < arguments.count {
            switch arguments[i] {
            case "--url": url = arguments[i + 1]; i += 1
            case "--tokens": tokensFile = arguments[i + 1]; i += 1
            case "--database": database = arguments[i + 1]; i += 1
            case "--log-range": logRange = Int(arguments[i + 1]) ?? logRange; i += 1
            case "--requests-in-flight": requestsInFlight = Int(arguments[i + 1]) ?? requestsInFlight; i += 1
            case "--postgres": postgres = try PostgresLocation(url: arguments[i + 1]); i += 1
            default: throw BenchError("unknown argument \(arguments[i])")
            }
            i += 1
        }
        guard !url.isEmpty, let tokenText = try? String(contentsOfFile: tokensFile, encoding: .utf8) else {
            throw BenchError("usage: settle-bench evm-backfill --url URL --tokens FILE [--database PATH] [--log-range N] [--requests-in-flight N] [--postgres postgres://USER@HOST:PORT/DB?sslmode=disable]")
        }
        let tokens = tokenText.split(separator: "\n").enumerated().map { index, address in
            "[[tokens]]\nsymbol = \"T\(index)\"\naddress = \"\(address)\"\ndecimals = 6\n"
        }
        let text = """
            family = "evm"
            chain_id = 1
            rpc_urls = ["\(url)"]
            block_time_ms = 12000
            max_log_range = \(logRange)
            [finality]
            mode = "confirmations"
            confirmations = 3
            [index]
            mode = "full"
            requests_in_flight = \(requestsInFlight)
            \(tokens.joined(separator: "\n"))
            """
        let config = try ChainConfig.parse(text, file: "bench.toml")
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: database + suffix) }
        let store = SQLiteEVMIndexStore(database: try Database(path: database))
        try await store.migrate()
        let sqlite = try await backfill(config: config, url: url, into: store)
        print(String(format: "settle (full mode, SQLite with indexes): %d logs, %d blocks in %.2f s = %.0f logs/s, %.0f blocks/s, peak RSS %.0f MB",
                     sqlite.logs, sqlite.blocks, sqlite.seconds, sqlite.logsPerSecond, Double(sqlite.blocks) / sqlite.seconds, peakRSSMegabytes()))
        print(String(format: "  time in: fetch+parse %.2f s, decode+verify %.2f s, SQLite %.2f s (summed across steps)",
                     sqlite.timings.fetch, sqlite.timings.decode, sqlite.timings.store))
        guard let postgres else { return }
        let result = try await withFreshPostgresDatabase(on: postgres) { pool in
            let store = PostgresEVMIndexStore(database: pool)
            try await store.migrate()
            return try await backfill(config: config, url: url, into: store)
        }
        print(String(format: "settle (full mode, PostgreSQL with indexes): %d logs, %d blocks in %.2f s = %.0f logs/s, %.0f blocks/s",
                     result.logs, result.blocks, result.seconds, result.logsPerSecond, Double(result.blocks) / result.seconds))
        print(String(format: "  time in: fetch+parse %.2f s, decode+verify %.2f s, PostgreSQL %.2f s (summed across steps)",
                     result.timings.fetch, result.timings.decode, result.timings.store))
        print(String(format: "  PostgreSQL / SQLite: %.2fx the logs/s (same fixture, same run)", result.logsPerSecond / sqlite.logsPerSecond))
    }

    /// What one backfill did and took.
    struct Run: Sendable {
        var logs: Int
        var blocks: Int
        var seconds: Double
        var timings: StepTimings
        var logsPerSecond: Double { Double(logs) / seconds }
    }

    /// Backfills the fixture chain into `store` (migrated, empty) up to the head.
    static func backfill(config: ChainConfig, url: String, into store: any EVMIndexStore) async throws -> Run {
        let http = HTTPClient()
        defer { http.shutdown() }
        let rpc = JSONRPCClient(endpoints: [RPCEndpoint(url: url, label: "fixture")], http: http, timeout: .seconds(120))
        var logger = Logger(label: "bench")
        logger.logLevel = ProcessInfo.processInfo.environment["SETTLE_BENCH_VERBOSE"] == nil ? .error : .info
        let indexer = EVMChainIndexer(config: config, node: EVMNode(rpc: rpc), store: store, spenders: [], logger: logger)
        let clock = ContinuousClock()
        let started = clock.now
        let counter = Counter()
        try await indexer.indexToHead { step in counter.add(step) }
        let elapsed = clock.now - started
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let (logs, blocks, timings) = counter.totals
        return Run(logs: logs, blocks: blocks, seconds: seconds, timings: timings)
    }

    /// Runs `body` on a new database made on the server of `location` (password from `PGPASSWORD`, if set), and drops
    /// it afterwards.
    static func withFreshPostgresDatabase<T: Sendable>(on location: PostgresLocation, _ body: (PostgresPool) async throws -> T) async throws -> T {
        var logger = Logger(label: "bench.postgres")
        logger.logLevel = .error
        let password = ProcessInfo.processInfo.environment["PGPASSWORD"]
        let name = "settle_bench_\(getpid())_\(UInt32.random(in: 0...UInt32.max))"
        let admin = PostgresPool(location, password: password, logger: logger)
        defer { admin.close() }
        try await admin.client.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"), logger: logger)
        var fresh = location
        fresh.database = name
        let pool = PostgresPool(fresh, password: password, logger: logger)
        let result: Result<T, any Error>
        do { result = .success(try await body(pool)) } catch { result = .failure(error) }
        pool.close()
        // FORCE: the pool's connections may still be closing.
        try await admin.client.query(PostgresQuery(unsafeSQL: "DROP DATABASE IF EXISTS \(name) WITH (FORCE)"), logger: logger)
        return try result.get()
    }

    static func peakRSSMegabytes() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_maxrss) / 1024
    }
}

/// Sums progress reports from the indexer's callback.
final class Counter: @unchecked Sendable {
    // @unchecked Sendable: guarded by `lock`.
    private let lock = NSLock()
    private var logs = 0
    private var blocks = 0
    private var timings = StepTimings()

    func add(_ step: IndexProgress) {
        lock.lock()
        defer { lock.unlock() }
        logs += step.approvals + step.transfers
        if step.toBlock >= step.fromBlock { blocks += Int(step.toBlock - step.fromBlock + 1) }
        timings.fetch += step.timings.fetch
        timings.decode += step.timings.decode
        timings.store += step.timings.store
    }

    var totals: (Int, Int, StepTimings) {
        lock.lock()
        defer { lock.unlock() }
        return (logs, blocks, timings)
    }
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
