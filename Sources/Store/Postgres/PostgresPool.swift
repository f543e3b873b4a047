import Foundation
import Logging
import SettleCore
import PostgresNIO
import Synchronization

/// A PostgreSQL database through postgres-nio's pooled `PostgresClient`, for several daemons on one database.
///
/// The client's `run()` loop lives in a task owned by this object (`close()` ends it). Writes that must commit
/// together run in `transaction`; migrations per module as with SQLite (`schema_migrations`), serialized across
/// daemons by an advisory lock so two starting at once do not both apply one.
public final class PostgresPool: Sendable {
    public let client: PostgresClient
    public let logger: Logger
    /// Where the database is (without its password).
    public let location: PostgresLocation
    private let runner: Task<Void, Never>

    /// - Parameter idleInTransactionTimeout: the server ends a session that sits inside a transaction, between
    ///   statements, this long (`idle_in_transaction_session_timeout`), rolling it back and releasing its locks. Several
    ///   daemons on one database need it: a daemon paused (SIGSTOP, a frozen VM) or cut off from the database in the
    ///   middle of a transaction otherwise keeps its row and advisory locks, and every other daemon waits on them, so
    ///   no lease can be taken over until it comes back. Nil: the server's setting (by default, wait forever).
    public init(_ location: PostgresLocation, password: String?, logger: Logger, idleInTransactionTimeout: Duration? = nil) {
        var configuration = PostgresClient.Configuration(
            host: location.host, port: location.port, username: location.user, password: password, database: location.database,
            tls: location.requireTLS ? .require(.makeClientConfiguration()) : .disable)
        configuration.options.maximumConnections = location.maximumConnections
        if let idleInTransactionTimeout {
            let milliseconds = max(1, idleInTransactionTimeout / .milliseconds(1))
            configuration.options.additionalStartupParameters.append(("idle_in_transaction_session_timeout", "\(milliseconds)ms"))
        }
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        self.client = client
        self.logger = logger
        self.location = location
        runner = Task { await client.run() }
    }

    /// Ends the client's connections.
    public func close() {
        runner.cancel()
    }

    /// Runs `body` in one transaction (BEGIN … COMMIT; rolled back if it throws). The error `body` threw comes back
    /// as it was.
    ///
    /// The transaction ends when its connection closes, whatever `body` is waiting for. The server closes a session
    /// that idled in a transaction past `idle_in_transaction_session_timeout` (a daemon paused, or cut off), and
    /// postgres-nio 1.33.2 never completes a statement sent on such a session, nor its own ROLLBACK: without this
    /// watch the transaction would hang for good. `body` runs in a task of its own, left behind if the connection
    /// closes under it; whatever it still sends goes nowhere, since the server has already rolled back.
    public func transaction<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        let logger = logger
        return try await client.withConnection { connection in
            let committing = Atomic<Bool>(false)
            do {
                return try await Self.untilClosed(connection) {
                    try await connection.query("BEGIN", logger: logger)
                    let value: T
                    do {
                        value = try await body(connection)
                    } catch {
                        if !connection.isClosed { _ = try? await connection.query("ROLLBACK", logger: logger) }
                        throw error
                    }
                    committing.store(true, ordering: .sequentiallyConsistent)
                    try await connection.query("COMMIT", logger: logger)
                    return value
                }
            } catch is ConnectionClosed {
                throw StoreError(.database, committing.load(ordering: .sequentiallyConsistent)
                    ? "the connection to PostgreSQL closed during COMMIT: the transaction's outcome is unknown"
                    : "the connection to PostgreSQL closed in the middle of a transaction (the server rolled it back)")
            } catch let error as PSQLError {
                throw PostgresSession.storeError(error, sql: committing.load(ordering: .sequentiallyConsistent) ? "COMMIT" : "BEGIN")
            }
        }
    }

    private struct ConnectionClosed: Error {}

    /// `work`'s result, or `ConnectionClosed` as soon as `connection` is closed while `work` has not finished (looked at
    /// every 100 ms). Cancelling the caller cancels `work`.
    private static func untilClosed<T: Sendable>(_ connection: PostgresConnection, _ work: @escaping @Sendable () async throws -> T) async throws -> T {
        let race = Race<T>()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                race.start(continuation, work: work, connection: connection)
                if Task.isCancelled { race.cancel() }
            }
        } onCancel: {
            race.cancel()
        }
    }

    /// Whichever ends first, the work or its connection, resumes the one waiter; the watcher stops as soon as the work
    /// is done (its sleep is cancelled), so no task outlives a transaction by up to a polling interval.
    private final class Race<T: Sendable>: Sendable {
        private let waiter = Mutex<CheckedContinuation<T, any Error>?>(nil)
        private let worker = Mutex<Task<Void, Never>?>(nil)
        private let watcher = Mutex<Task<Void, Never>?>(nil)

        func start(_ continuation: CheckedContinuation<T, any Error>, work: @escaping @Sendable () async throws -> T, connection: PostgresConnection) {
            waiter.withLock { $0 = continuation }
            let watch = Task {
                while !Task.isCancelled, self.waiting, !connection.isClosed { try? await Task.sleep(for: .milliseconds(100)) }
                if connection.isClosed { self.finish(.failure(ConnectionClosed())) }
            }
            watcher.withLock { $0 = watch }
            let task = Task {
                do { self.finish(.success(try await work())) } catch { self.finish(.failure(error)) }
            }
            worker.withLock { $0 = task }
        }

        var waiting: Bool { waiter.withLock { $0 != nil } }

        func finish(_ result: Result<T, any Error>) {
            waiter.withLock { $0.take() }?.resume(with: result)
            watcher.withLock { $0 }?.cancel()
        }

        func cancel() { worker.withLock { $0 }?.cancel() }
    }

    /// Applies `migrations[version...]` of `module`, each in its own transaction with the version bump, under a
    /// transaction-scoped advisory lock.
    public func migrate(module: String, _ migrations: [String]) async throws {
        let logger = logger
        // Under the migration lock: daemons starting together on a fresh database otherwise race on this DDL (two
        // CREATE TABLE IF NOT EXISTS, or ADD COLUMN IF NOT EXISTS, at once fail on the catalog's unique keys).
        try await transaction { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(\(Self.migrationLock))", logger: logger)
            try await connection.query("""
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    module TEXT NOT NULL PRIMARY KEY,
                    version INTEGER NOT NULL CHECK (version >= 0))
                """, logger: logger)
            try await connection.query("ALTER TABLE schema_migrations ADD COLUMN IF NOT EXISTS written_by TEXT", logger: logger)
        }
        for _ in migrations.indices {
            let more: Bool = try await transaction { connection in
                try await connection.query("SELECT pg_advisory_xact_lock(\(Self.migrationLock))", logger: logger)
                var current = 0
                var writer: String?
                for try await (version, by) in try await connection.query("SELECT version, written_by FROM schema_migrations WHERE module = \(module)", logger: logger)
                    .decode((Int, String?).self) { (current, writer) = (version, by) }
                guard current <= migrations.count else {
                    throw StoreError.newerSchema(module: module, version: current, writtenBy: writer, known: migrations.count)
                }
                guard current < migrations.count else { return false }
                // One statement per query (the extended protocol takes no more): a migration is split at each `;`
                // that ends a line.
                for statement in Self.statements(migrations[current]) {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                try await connection.query("""
                    INSERT INTO schema_migrations(module, version, written_by) VALUES (\(module), \(current + 1), \(SettleVersion.current))
                    ON CONFLICT (module) DO UPDATE SET version = excluded.version, written_by = excluded.written_by
                    """, logger: logger)
                return true
            }
            if !more { return }
        }
    }

    /// The statements of a migration: split where a `;` ends a line outside a dollar-quoted body (`DO $$ … $$`);
    /// empty pieces and comment-only pieces dropped.
    static func statements(_ migration: String) -> [String] {
        var out: [String] = []
        var current = ""
        var inBody = false
        for line in migration.split(separator: "\n", omittingEmptySubsequences: false) {
            current += line + "\n"
            if line.components(separatedBy: "$$").count % 2 == 0 { inBody.toggle() }
            if !inBody, line.trimmingCharacters(in: .whitespaces).hasSuffix(";") {
                out.append(current)
                current = ""
            }
        }
        out.append(current)
        return out.filter { piece in
            piece.split(separator: "\n").contains { line in
                let text = line.trimmingCharacters(in: .whitespaces)
                return !text.isEmpty && !text.hasPrefix("--")
            }
        }
    }

    /// The advisory lock key of migrations ("settle" in ASCII).
    static let migrationLock: Int64 = 0x73_65_74_74_6c_65
}

/// Where a PostgreSQL database is: `postgres://USER@HOST:PORT/DATABASE?sslmode=disable|require&pool=N`. The
/// password is never in the URL; it is a secret reference of its own (`env:`/`file:`).
public struct PostgresLocation: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var user: String
    public var database: String
    public var requireTLS: Bool
    public var maximumConnections: Int

    public init(host: String, port: Int = 5432, user: String, database: String, requireTLS: Bool = true, maximumConnections: Int = 10) {
        self.host = host
        self.port = port
        self.user = user
        self.database = database
        self.requireTLS = requireTLS
        self.maximumConnections = maximumConnections
    }

    /// Parses a `postgres://` (or `postgresql://`) URL.
    /// - Throws: `StoreError(.invalidLocation)` naming the problem; a password in the URL is refused.
    public init(url text: String) throws(StoreError) {
        func fail(_ problem: String) -> StoreError { StoreError(.invalidLocation, "database URL: \(problem)") }
        guard let schemeEnd = text.range(of: "://"), ["postgres", "postgresql"].contains(String(text[..<schemeEnd.lowerBound])) else {
            throw fail("must start with postgres://")
        }
        var rest = Substring(text[schemeEnd.upperBound...])
        var query = Substring("")
        if let mark = rest.firstIndex(of: "?") {
            query = rest[rest.index(after: mark)...]
            rest = rest[..<mark]
        }
        guard let at = rest.firstIndex(of: "@") else { throw fail("names no user (postgres://USER@HOST/DATABASE)") }
        let user = rest[..<at]
        guard !user.isEmpty else { throw fail("names no user") }
        guard !user.contains(":") else { throw fail("holds a password: give it as [database] password = \"env:…\" or \"file:…\"") }
        rest = rest[rest.index(after: at)...]
        guard let slash = rest.firstIndex(of: "/") else { throw fail("names no database (…/DATABASE)") }
        let database = rest[rest.index(after: slash)...]
        guard !database.isEmpty, !database.contains("/") else { throw fail("names no database") }
        var hostPort = rest[..<slash]
        var port = 5432
        if let colon = hostPort.lastIndex(of: ":"), !hostPort.hasSuffix("]") {
            guard let number = Int(hostPort[hostPort.index(after: colon)...]), (1...65_535).contains(number) else {
                throw fail("the port must be 1…65535")
            }
            port = number
            hostPort = hostPort[..<colon]
        }
        let host = hostPort.hasPrefix("[") && hostPort.hasSuffix("]") ? hostPort.dropFirst().dropLast() : hostPort
        guard !host.isEmpty else { throw fail("names no host") }
        var requireTLS = true
        var pool = 10
        for pair in query.split(separator: "&") where !pair.isEmpty {
            let parts = pair.split(separator: "=", maxSplits: 1)
            let value = parts.count == 2 ? String(parts[1]) : ""
            switch parts.first {
            case "sslmode":
                switch value {
                case "disable": requireTLS = false
                case "require", "verify-full": requireTLS = true
                default: throw fail("sslmode must be disable, require or verify-full")
                }
            case "pool":
                guard let number = Int(value), (1...1_000).contains(number) else { throw fail("pool must be 1…1000 connections") }
                pool = number
            default:
                throw fail("unknown option '\(parts.first ?? "")' (known: sslmode, pool)")
            }
        }
        self.init(host: String(host), port: port, user: String(user), database: String(database), requireTLS: requireTLS, maximumConnections: pool)
    }

    /// The URL without secrets (there are none in it).
    public var description: String {
        "postgres://\(user)@\(host.contains(":") ? "[\(host)]" : host):\(port)/\(database)?sslmode=\(requireTLS ? "require" : "disable")"
    }
}
