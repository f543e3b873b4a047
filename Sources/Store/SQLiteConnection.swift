import CSQLite

/// One SQLite connection with a cache of prepared statements.
///
/// Not `Sendable`: a connection belongs to one owner at a time (the store's writer, or a reader checked out of
/// the pool). `@unchecked Sendable` on the owners documents how they keep to that.
public final class SQLiteConnection {
    let handle: OpaquePointer
    private var cache: [String: SQLiteStatement] = [:]

    /// Opens (creating if asked) the database at `path` in WAL mode with foreign keys on.
    /// - Parameters:
    ///   - readOnly: open without write access (readers of the pool).
    ///   - busyTimeout: how long to wait on a lock before failing with `.busy`.
    public init(path: String, readOnly: Bool = false, busyTimeout: Duration = .seconds(10),
                durability: Durability = .full) throws(StoreError) {
        var db: OpaquePointer?
        let flags = (readOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE)
            | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE
        let rc = sqlite3_open_v2(path, &db, flags, nil)
        guard rc == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            if let db { sqlite3_close_v2(db) }
            throw StoreError(.cannotOpen, "cannot open database \(path): \(message)", resultCode: rc)
        }
        handle = db
        let (seconds, attoseconds) = busyTimeout.components
        sqlite3_busy_timeout(db, Int32(clamping: seconds * 1000 + attoseconds / 1_000_000_000_000_000))
        sqlite3_extended_result_codes(db, 1)
        if readOnly {
            // Readers map the database file (read-only pages, up to SQLite's compiled limit: 2 GiB in Debian's
            // build) instead of copying each page they miss out of the OS cache with a pread: an API page at ten
            // million rows reads a few dozen pages, and those copies were a tenth of its cost. WAL frames are
            // still read as before; nothing in Settle shrinks the file (no VACUUM) under a mapping.
            try execute("PRAGMA mmap_size = \(Self.readerMapBytes)")
        } else {
            try execute("PRAGMA journal_mode = WAL")
            try execute("PRAGMA synchronous = \(durability.rawValue)")
        }
        try execute("PRAGMA foreign_keys = ON")
    }

    /// How much of the database file a reader maps (SQLite clamps it to its compiled maximum).
    static let readerMapBytes: Int64 = 2 << 30

    deinit {
        cache.removeAll()  // finalize statements before closing
        sqlite3_close_v2(handle)
    }

    /// Runs one or more SQL statements that return no rows.
    public func execute(_ sql: String) throws(StoreError) {
        var error: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(handle, sql, nil, nil, &error)
        if rc != SQLITE_OK {
            let message = error.map { String(cString: $0) } ?? lastMessage
            sqlite3_free(error)
            throw StoreError.from(rc, message: message, sql: sql)
        }
    }

    /// A prepared statement for `sql`, cached for reuse (reset and with bindings cleared).
    public func statement(_ sql: String) throws(StoreError) -> SQLiteStatement {
        if let cached = cache[sql] {
            cached.reset()
            return cached
        }
        var raw: OpaquePointer?
        let rc = sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &raw, nil)
        guard rc == SQLITE_OK, let raw else {
            throw StoreError.from(rc, message: lastMessage, sql: sql)
        }
        let statement = SQLiteStatement(raw, connection: self, sql: sql)
        cache[sql] = statement
        return statement
    }

    /// Resets every cached statement. A statement left mid-iteration keeps its read snapshot open (in WAL mode
    /// the connection would go on seeing old data), so every unit of work ends with this.
    public func resetStatements() {
        for statement in cache.values { statement.reset() }
    }

    /// Runs `body` in one `BEGIN IMMEDIATE … COMMIT` transaction, rolling back if it throws.
    public func transaction<T>(_ body: () throws -> T) throws -> T {
        try execute("BEGIN IMMEDIATE")
        do {
            let value = try body()
            try execute("COMMIT")
            return value
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }

    /// Rows changed by the last INSERT, UPDATE or DELETE.
    public var changes: Int { Int(sqlite3_changes(handle)) }

    /// Rowid of the last INSERT.
    public var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(handle) }

    var lastMessage: String { String(cString: sqlite3_errmsg(handle)) }
}

extension StoreError {
    static func from(_ rc: Int32, message: String, sql: String) -> StoreError {
        let primary = rc & 0xff
        let code: Code
        switch primary {
        case SQLITE_CONSTRAINT: code = .constraint
        case SQLITE_BUSY, SQLITE_LOCKED: code = .busy
        case SQLITE_CANTOPEN: code = .cannotOpen
        default: code = .sqlite
        }
        let statement = sql.count > 120 ? String(sql.prefix(120)) + "…" : sql
        return StoreError(code, "\(message) [\(statement)]", resultCode: rc)
    }
}
