import Dispatch
import SettleCore

/// A SQLite database in WAL mode with one writer connection and two bounded pools of readers.
///
/// Writes run one at a time on the writer's own dispatch queue (never on the cooperative thread pool), each
/// `write` call in a single `BEGIN IMMEDIATE … COMMIT` transaction, so a change is all-or-nothing across
/// crashes. Reads run on read-only connections and see the last committed state. Readers come in two lanes
/// (`ReadLane`), each a fixed number of connections with one serial queue each (`ReaderPool`): `.internal` for the
/// daemon's own work, `.api` for HTTP clients. A read beyond its lane's capacity waits for a connection without
/// holding a thread, and never for one of the other lane: however many clients page through the API, the
/// executors' reads find their own connections free.
///
/// `@unchecked Sendable` is safe: the writer connection is touched only on `writerQueue`; the reader pools are
/// `Sendable` themselves.
public final class Database: SQLStore, @unchecked Sendable {
    public let backend = SQLBackend.sqlite
    /// The database file.
    public let path: String
    private let writer: SQLiteConnection
    private let writerQueue = DispatchQueue(label: "settle.store.writer")
    /// Held by each write for its whole duration (a `SQLSession` transaction spans suspension points).
    private let writerGate = WriterGate()
    private let internalReaders: ReaderPool
    private let apiReaders: ReaderPool

    /// Opens (creating if needed) the database at `path`. `durability` `.full` (the default) makes every commit
    /// survive power loss, which the ledger needs: an attempt committed just before its broadcast must never roll
    /// back (with WAL and `NORMAL`, the last commits can). `.normal` is for throwaway or benchmark databases.
    /// - Parameters:
    ///   - readers: connections (and threads) for the daemon's own reads (`ReadLane.internal`), at least 1.
    ///   - apiReaders: connections (and threads) for reads made for HTTP clients (`ReadLane.api`), at least 1.
    public init(path: String, readers: Int = 4, apiReaders: Int = 2, durability: Durability = .full) throws(StoreError) {
        self.path = path
        writer = try SQLiteConnection(path: path, durability: durability)
        try writer.execute("""
            CREATE TABLE IF NOT EXISTS schema_migrations (
                module TEXT NOT NULL PRIMARY KEY,
                version INTEGER NOT NULL CHECK (version >= 0),
                written_by TEXT
            ) STRICT
            """)
        // Databases from before 0.15 have no writer column.
        let columns = try writer.statement("SELECT count(*) FROM pragma_table_info('schema_migrations') WHERE name = 'written_by'")
        let hasWriter = try columns.step() && columns.int(0) == 1
        writer.resetStatements()
        if !hasWriter { try writer.execute("ALTER TABLE schema_migrations ADD COLUMN written_by TEXT") }
        internalReaders = ReaderPool(lane: .internal, path: path, capacity: readers)
        self.apiReaders = ReaderPool(lane: .api, path: path, capacity: apiReaders)
    }

    /// Applies this backend's list of `migrations`.
    public func migrate(module: String, _ migrations: SQLMigrations) async throws {
        try await migrate(module: module, migrations.sqlite)
    }

    /// Applies `migrations[version...]` for `module` in order, each in its own transaction with the version bump.
    /// - Throws: `StoreError.migration` when the database is newer than this program.
    public func migrate(module: String, _ migrations: [String]) async throws {
        try await writeRaw { db in
            let select = try db.statement("SELECT version, written_by FROM schema_migrations WHERE module = ?")
            select.bind(module, at: 1)
            let found = try select.step()
            let current = found ? select.int(0) : 0
            let writer = found && !select.isNull(1) ? select.text(1) : nil
            db.resetStatements()
            guard current <= migrations.count else {
                throw StoreError.newerSchema(module: module, version: current, writtenBy: writer, known: migrations.count)
            }
            for version in current..<migrations.count {
                // A table rebuild (SQLite cannot alter a constraint) needs foreign keys off, which SQLite allows only
                // outside a transaction; every reference is checked before the commit.
                let rebuild = migrations[version].hasPrefix(Self.foreignKeysOffMarker)
                if rebuild { try db.execute("PRAGMA foreign_keys = OFF") }
                defer { if rebuild { try? db.execute("PRAGMA foreign_keys = ON") } }
                try db.execute("BEGIN IMMEDIATE")
                do throws(StoreError) {
                    try db.execute(migrations[version])
                    if rebuild {
                        let check = try db.statement("PRAGMA foreign_key_check")
                        if try check.step() {
                            throw StoreError(.migration, "the rebuilt tables break a foreign key (table \(check.text(0)))")
                        }
                    }
                    let bump = try db.statement("""
                        INSERT INTO schema_migrations(module, version, written_by) VALUES (?, ?, ?)
                        ON CONFLICT(module) DO UPDATE SET version = excluded.version, written_by = excluded.written_by
                        """)
                    bump.bind(module, at: 1)
                    bump.bind(version + 1, at: 2)
                    bump.bind(SettleVersion.current, at: 3)
                    try bump.step()
                    db.resetStatements()
                    try db.execute("COMMIT")
                } catch {
                    db.resetStatements()
                    try? db.execute("ROLLBACK")
                    throw StoreError(.migration, "\(module) migration \(version + 1) failed: \(error.message)", resultCode: error.resultCode)
                }
            }
        }
    }

    /// The first line of a migration that rebuilds a table: it runs with foreign keys off, checked before commit.
    public static let foreignKeysOffMarker = "-- settle: foreign keys off for a table rebuild"

    /// The schema version of `module` (0 when never migrated).
    public func schemaVersion(module: String) async throws -> Int {
        try await read { db in
            let select = try db.statement("SELECT version FROM schema_migrations WHERE module = ?")
            select.bind(module, at: 1)
            return try select.step() ? select.int(0) : 0
        }
    }

    /// Runs `body` in one write transaction on the writer connection; rolls back if it throws.
    public func write<T: Sendable>(_ body: @escaping @Sendable (SQLiteConnection) throws -> T) async throws -> T {
        try await writeRaw { db in
            try db.execute("BEGIN IMMEDIATE")
            do {
                let value = try body(db)
                db.resetStatements()
                try db.execute("COMMIT")
                return value
            } catch {
                db.resetStatements()
                try? db.execute("ROLLBACK")
                throw error
            }
        }
    }

    /// One `BEGIN IMMEDIATE … COMMIT` like `write`, with foreign-key enforcement off for this transaction alone: for
    /// bulk inserts whose keys the body itself looked up or created in the same transaction (the EVM index's
    /// interned address ids), where the per-row parent lookups are most of the insert's cost. The writer connection
    /// is held throughout, so no other write runs without its checks, and enforcement is back on before it is
    /// released, also when the body throws (or the writer is not handed out again).
    public func writeTrustingForeignKeys<T: Sendable>(_ body: @escaping @Sendable (SQLiteConnection) throws -> T) async throws -> T {
        try await writeRaw { db in
            try db.execute("PRAGMA foreign_keys = OFF")
            let result: Result<T, any Error>
            do {
                try db.execute("BEGIN IMMEDIATE")
                do {
                    let value = try body(db)
                    db.resetStatements()
                    try db.execute("COMMIT")
                    result = .success(value)
                } catch {
                    db.resetStatements()
                    try? db.execute("ROLLBACK")
                    result = .failure(error)
                }
            }
            try db.execute("PRAGMA foreign_keys = ON")
            return try result.get()
        }
    }

    /// Runs `body` on the writer connection without opening a transaction (for migrations and pragmas).
    public func writeRaw<T: Sendable>(_ body: @escaping @Sendable (SQLiteConnection) throws -> T) async throws -> T {
        await writerGate.lock()
        defer { writerGate.unlock() }
        return try await writerQueue.run { [self] in try body(writer) }
    }

    /// `SQLStore`: runs `body` in one `BEGIN IMMEDIATE … COMMIT` on the writer connection, which it holds across
    /// its suspension points (other writes wait).
    public func write<T: Sendable>(_ body: @escaping @Sendable (any SQLSession) async throws -> T) async throws -> T {
        await writerGate.lock()
        defer { writerGate.unlock() }
        return try await SQLiteSession(writer, queue: writerQueue).transaction(begin: "BEGIN IMMEDIATE", body)
    }

    /// `SQLStore`: runs `body` in one read transaction on a connection of the current task's lane.
    public func read<T: Sendable>(_ body: @escaping @Sendable (any SQLSession) async throws -> T) async throws -> T {
        try await pool(ReadLane.current).session(body)
    }

    /// Runs `body` on a read-only connection of the current task's lane (`ReadLane.current`: `.internal` unless the
    /// caller set it), inside one read transaction (one snapshot). Waits, without holding a thread, while every
    /// connection of the lane is busy.
    public func read<T: Sendable>(_ body: @escaping @Sendable (SQLiteConnection) throws -> T) async throws -> T {
        try await read(lane: ReadLane.current, body)
    }

    /// Runs `body` on a read-only connection of `lane`, inside one read transaction (one snapshot).
    public func read<T: Sendable>(lane: ReadLane, _ body: @escaping @Sendable (SQLiteConnection) throws -> T) async throws -> T {
        try await pool(lane).read(body)
    }

    /// How busy `lane`'s readers are now.
    public func readerStatus(_ lane: ReadLane) -> ReaderLaneStatus { pool(lane).status }

    private func pool(_ lane: ReadLane) -> ReaderPool {
        switch lane {
        case .internal: internalReaders
        case .api: apiReaders
        }
    }
}
