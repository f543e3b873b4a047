import Dispatch
import Synchronization

/// A SQLite database in WAL mode with one writer connection and a pool of readers.
///
/// Writes run one at a time on the writer's own dispatch queue (never on the cooperative thread pool), each
/// `write` call in a single `BEGIN IMMEDIATE … COMMIT` transaction, so a change is all-or-nothing across
/// crashes. Reads run on pooled read-only connections and see the last committed state.
///
/// `@unchecked Sendable` is safe: the writer connection is touched only on `writerQueue`; each reader
/// connection is checked out of `idleReaders` (a `Mutex`) by exactly one caller at a time.
public final class Database: @unchecked Sendable {
    /// The database file.
    public let path: String
    private let writer: SQLiteConnection
    private let writerQueue = DispatchQueue(label: "settle.store.writer")
    private let readerQueue = DispatchQueue(label: "settle.store.readers", attributes: .concurrent)
    private let idleReaders: Mutex<[IdleConnection]>
    private let readerCount: Int

    /// Opens (creating if needed) the database at `path`. `durability` `.full` (the default) makes every commit
    /// survive power loss, which the ledger needs: an attempt committed just before its broadcast must never roll
    /// back (with WAL and `NORMAL`, the last commits can). `.normal` is for throwaway or benchmark databases.
    public init(path: String, readers: Int = 4, durability: Durability = .full) throws(StoreError) {
        self.path = path
        writer = try SQLiteConnection(path: path, durability: durability)
        try writer.execute("""
            CREATE TABLE IF NOT EXISTS schema_migrations (
                module TEXT NOT NULL PRIMARY KEY,
                version INTEGER NOT NULL CHECK (version >= 0)
            ) STRICT
            """)
        readerCount = max(1, readers)
        idleReaders = Mutex([])
    }

    /// Applies `migrations[version...]` for `module` in order, each in its own transaction with the version bump.
    /// - Throws: `StoreError.migration` when the database is newer than this program.
    public func migrate(module: String, _ migrations: [String]) async throws {
        try await writeRaw { db in
            let select = try db.statement("SELECT version FROM schema_migrations WHERE module = ?")
            select.bind(module, at: 1)
            let current = try select.step() ? select.int(0) : 0
            db.resetStatements()
            guard current <= migrations.count else {
                throw StoreError(.migration, "database schema of \(module) is at version \(current); this program knows \(migrations.count): upgrade settled")
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
                    let bump = try db.statement("INSERT INTO schema_migrations(module, version) VALUES (?, ?) ON CONFLICT(module) DO UPDATE SET version = excluded.version")
                    bump.bind(module, at: 1)
                    bump.bind(version + 1, at: 2)
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

    /// Runs `body` on the writer connection without opening a transaction (for migrations and pragmas).
    public func writeRaw<T: Sendable>(_ body: @escaping @Sendable (SQLiteConnection) throws -> T) async throws -> T {
        let result: Result<T, any Error> = await withCheckedContinuation { continuation in
            writerQueue.async { [self] in
                continuation.resume(returning: Result { try body(writer) })
            }
        }
        return try result.get()
    }

    /// Runs `body` on a read-only connection from the pool, inside one read transaction (one snapshot).
    public func read<T: Sendable>(_ body: @escaping @Sendable (SQLiteConnection) throws -> T) async throws -> T {
        let result: Result<T, any Error> = await withCheckedContinuation { continuation in
            readerQueue.async { [self] in
                continuation.resume(returning: Result {
                    let connection = try checkOutReader()
                    defer { checkIn(connection) }
                    try connection.execute("BEGIN DEFERRED")
                    defer {
                        connection.resetStatements()
                        try? connection.execute("COMMIT")
                    }
                    return try body(connection)
                })
            }
        }
        return try result.get()
    }

    private func checkOutReader() throws(StoreError) -> SQLiteConnection {
        if let idle = idleReaders.withLock({ $0.popLast() }) { return idle.connection }
        return try SQLiteConnection(path: path, readOnly: true)
    }

    private func checkIn(_ connection: SQLiteConnection) {
        idleReaders.withLock { readers in
            if readers.count < readerCount { readers.append(IdleConnection(connection: connection)) }
        }
    }
}


/// A reader connection parked in the pool. `@unchecked Sendable`: a parked connection is used by nobody; it moves
/// to exactly one caller when checked out.
private struct IdleConnection: @unchecked Sendable {
    let connection: SQLiteConnection
}
