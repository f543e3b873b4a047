/// The database behind a module's store, whichever it is: SQLite (`Database`, the embedded default) or PostgreSQL
/// (`PostgresPool`, several daemons on one database). A store written against `SQLStore` states its SQL once; the
/// few places where the dialects differ ask `backend` (row locks, `SKIP LOCKED`), and placeholders are written `?`
/// (numbered for PostgreSQL by the driver).
///
/// Every `write` is one transaction: all of it commits or none of it does. A `read` sees one snapshot.
public protocol SQLStore: Sendable {
    var backend: SQLBackend { get }
    /// Runs `body` in one write transaction; rolls back if it throws.
    func write<T: Sendable>(_ body: @escaping @Sendable (any SQLSession) async throws -> T) async throws -> T
    /// Runs `body` in one read transaction (one snapshot), on a connection of the current task's `ReadLane`.
    func read<T: Sendable>(_ body: @escaping @Sendable (any SQLSession) async throws -> T) async throws -> T
    /// Applies the module's migrations for this backend, each in its own transaction with the version bump.
    func migrate(module: String, _ migrations: SQLMigrations) async throws
    /// The schema version of `module` on this backend (0 when never migrated).
    func schemaVersion(module: String) async throws -> Int
}

/// Which database a store runs on.
public enum SQLBackend: String, Sendable, CaseIterable {
    case sqlite, postgres
}

/// A module's schema history, per backend. SQLite's list keeps its whole history (files in the field are at every
/// version); PostgreSQL's starts at the current schema.
public struct SQLMigrations: Sendable {
    public var sqlite: [String]
    public var postgres: [String]

    public init(sqlite: [String], postgres: [String]) {
        self.sqlite = sqlite
        self.postgres = postgres
    }

    public func list(_ backend: SQLBackend) -> [String] {
        switch backend {
        case .sqlite: sqlite
        case .postgres: postgres
        }
    }
}

/// A value bound to a placeholder or read from a column.
public typealias SQLValue = SQLiteValue

/// One transaction's statements. A session belongs to the `write` or `read` call that made it: it must not be kept
/// or used after its body returns.
public protocol SQLSession: Sendable {
    var backend: SQLBackend { get }
    /// Runs one statement; the rows it changed (INSERT, UPDATE, DELETE).
    @discardableResult
    func run(_ sql: String, _ values: [SQLValue]) async throws -> Int
    /// Runs one query and returns its rows.
    func rows(_ sql: String, _ values: [SQLValue]) async throws -> [SQLRow]
}

extension SQLSession {
    /// The first row of a query, or nil.
    public func row(_ sql: String, _ values: [SQLValue]) async throws -> SQLRow? {
        try await rows(sql, values).first
    }

    /// Appended to a `SELECT` that reads a row this transaction will change, so that a concurrent transaction on
    /// PostgreSQL waits for this one (SQLite has a single writer: nothing to add).
    public var forUpdate: String { backend == .postgres ? " FOR UPDATE" : "" }

    /// Makes the transactions that call this with the same `key` run one after another from here to their end
    /// (PostgreSQL: a transaction-scoped advisory lock; SQLite's single writer already does).
    public func serialize(_ key: String) async throws {
        guard backend == .postgres else { return }
        _ = try await rows("SELECT pg_advisory_xact_lock(hashtext(?))::text", [.text(key)])
    }

    /// Appended to a `SELECT` that claims work: rows another daemon has locked are passed over rather than waited for.
    public var skipLocked: String { backend == .postgres ? " FOR UPDATE SKIP LOCKED" : "" }
}

/// A row as read, with checked accessors: a column that does not hold what the schema promises is `corruptValue`,
/// never a trap.
public struct SQLRow: Sendable, Hashable {
    public var values: [SQLValue]

    public init(_ values: [SQLValue]) { self.values = values }

    public func isNull(_ column: Int) -> Bool {
        guard values.indices.contains(column) else { return true }
        return values[column] == .null
    }

    public func int64(_ column: Int) throws(StoreError) -> Int64 {
        guard values.indices.contains(column), case .integer(let value) = values[column] else { throw mismatch(column, "an integer") }
        return value
    }

    public func optionalInt64(_ column: Int) throws(StoreError) -> Int64? {
        isNull(column) ? nil : try int64(column)
    }

    /// The column's integer as the unsigned number the schema promises; a negative one is `corruptValue`.
    public func uint64(_ column: Int) throws(StoreError) -> UInt64 {
        let value = try int64(column)
        guard let unsigned = UInt64(exactly: value) else { throw StoreError(.corruptValue, "column \(column) holds \(value), not a non-negative integer") }
        return unsigned
    }

    public func optionalUInt64(_ column: Int) throws(StoreError) -> UInt64? {
        isNull(column) ? nil : try uint64(column)
    }

    /// A small count or index (`Int`), checked.
    public func int(_ column: Int) throws(StoreError) -> Int {
        let value = try int64(column)
        guard let small = Int(exactly: value) else { throw mismatch(column, "a count") }
        return small
    }

    public func text(_ column: Int) throws(StoreError) -> String {
        guard values.indices.contains(column), case .text(let value) = values[column] else { throw mismatch(column, "text") }
        return value
    }

    public func optionalText(_ column: Int) throws(StoreError) -> String? {
        isNull(column) ? nil : try text(column)
    }

    public func blob(_ column: Int) throws(StoreError) -> [UInt8] {
        guard values.indices.contains(column) else { throw mismatch(column, "bytes") }
        switch values[column] {
        case .blob(let bytes): return bytes
        case .null: return []
        default: throw mismatch(column, "bytes")
        }
    }

    private func mismatch(_ column: Int, _ expected: String) -> StoreError {
        StoreError(.corruptValue, "column \(column) holds \(values.indices.contains(column) ? "\(values[column])" : "nothing"), not \(expected)")
    }
}

extension Optional where Wrapped == String {
    /// The value to bind: text, or NULL.
    public var sqlValue: SQLValue { map { .text($0) } ?? .null }
}

extension SQLValue {
    /// An unsigned number (a time, a block, a nonce) as stored: signed 64-bit in both databases. The numbers stored
    /// this way are bounded far below 2^63 where they enter (node numbers at 2^62, clock seconds); one past it is
    /// stored as 2^63 - 1 rather than trapping. NULL for nil.
    public static func unsigned(_ value: UInt64?) -> SQLValue {
        guard let value else { return .null }
        return .integer(Int64(clamping: value))
    }
}
