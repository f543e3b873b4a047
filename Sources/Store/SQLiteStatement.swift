import CSQLite

/// A prepared statement. Bind by 1-based index, `step()` through rows, read columns by 0-based index.
public final class SQLiteStatement {
    private let raw: OpaquePointer
    private unowned let connection: SQLiteConnection
    private let sql: String

    init(_ raw: OpaquePointer, connection: SQLiteConnection, sql: String) {
        self.raw = raw
        self.connection = connection
        self.sql = sql
    }

    deinit { sqlite3_finalize(raw) }

    /// Resets the statement and clears its bindings.
    public func reset() {
        sqlite3_reset(raw)
        sqlite3_clear_bindings(raw)
    }

    // MARK: Binding

    public func bind(_ value: Int64, at index: Int32) {
        sqlite3_bind_int64(raw, index, value)
    }

    public func bind(_ value: Int, at index: Int32) {
        sqlite3_bind_int64(raw, index, Int64(value))
    }

    public func bind(_ value: String, at index: Int32) {
        sqlite3_bind_text(raw, index, value, -1, settle_sqlite_transient())
    }

    public func bind(_ value: [UInt8], at index: Int32) {
        value.withUnsafeBytes { bind(bytes: $0, at: index) }
    }

    public func bind(bytes: UnsafeRawBufferPointer, at index: Int32) {
        // A zero-length blob must still be a blob, not NULL: give SQLite a valid pointer.
        withUnsafePointer(to: 0 as UInt8) { empty in
            sqlite3_bind_blob(raw, index, bytes.baseAddress ?? UnsafeRawPointer(empty), Int32(bytes.count), settle_sqlite_transient())
        }
    }

    /// Binds bytes SQLite may read without copying: the memory must stay valid and unchanged until the statement
    /// is stepped (call inside the `withUnsafeBytes` that provides it, then `step()`, as the hot insert paths do).
    public func bind(borrowing bytes: UnsafeRawBufferPointer, at index: Int32) {
        withUnsafePointer(to: 0 as UInt8) { empty in
            sqlite3_bind_blob(raw, index, bytes.baseAddress ?? UnsafeRawPointer(empty), Int32(bytes.count), nil)
        }
    }

    public func bindNull(at index: Int32) {
        sqlite3_bind_null(raw, index)
    }

    /// Binds `values` to parameters 1…n.
    public func bind(_ values: [SQLiteValue]) {
        for (offset, value) in values.enumerated() {
            let index = Int32(offset + 1)
            switch value {
            case .null: bindNull(at: index)
            case .integer(let v): bind(v, at: index)
            case .text(let v): bind(v, at: index)
            case .blob(let v): bind(v, at: index)
            }
        }
    }

    // MARK: Stepping

    /// Advances to the next row; false when done.
    @discardableResult
    public func step() throws(StoreError) -> Bool {
        let rc = sqlite3_step(raw)
        switch rc {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default:
            let error = StoreError.from(rc, message: connection.lastMessage, sql: sql)
            sqlite3_reset(raw)
            throw error
        }
    }

    /// Runs a statement that returns no rows.
    public func run(_ values: [SQLiteValue] = []) throws(StoreError) {
        reset()
        bind(values)
        while try step() {}
    }

    // MARK: Work done

    /// Virtual machine steps run since the statement was prepared: a measure of the rows it read and the work it did.
    public var virtualMachineSteps: Int { Int(sqlite3_stmt_status(raw, SQLITE_STMTSTATUS_VM_STEP, 0)) }
    /// Steps forward in a full table scan (a query that uses an index for every table reads none).
    public var fullScanSteps: Int { Int(sqlite3_stmt_status(raw, SQLITE_STMTSTATUS_FULLSCAN_STEP, 0)) }
    /// Sort operations (ORDER BY or GROUP BY not served by an index).
    public var sorts: Int { Int(sqlite3_stmt_status(raw, SQLITE_STMTSTATUS_SORT, 0)) }

    // MARK: Columns

    public func int64(_ column: Int32) -> Int64 { sqlite3_column_int64(raw, column) }

    /// The column's integer as the unsigned number the schema promises (a block, a time, an amount): a negative one
    /// (a damaged or hand-edited file) is `corruptValue`, never a trap.
    public func uint64(_ column: Int32) throws(StoreError) -> UInt64 {
        let value = sqlite3_column_int64(raw, column)
        guard let unsigned = UInt64(exactly: value) else { throw StoreError(.corruptValue, "column \(column) holds \(value), not a non-negative integer") }
        return unsigned
    }

    /// `uint64` of a column that may be NULL.
    public func optionalUInt64(_ column: Int32) throws(StoreError) -> UInt64? {
        isNull(column) ? nil : try uint64(column)
    }
    public func int(_ column: Int32) -> Int { Int(sqlite3_column_int64(raw, column)) }
    public func isNull(_ column: Int32) -> Bool { sqlite3_column_type(raw, column) == SQLITE_NULL }
    /// Columns in the statement's result.
    var columnCount: Int32 { sqlite3_column_count(raw) }
    /// The storage class of the current row's column.
    func columnType(_ column: Int32) -> SQLiteColumnType { SQLiteColumnType(rawValue: sqlite3_column_type(raw, column)) ?? .text }

    public func text(_ column: Int32) -> String {
        guard let pointer = sqlite3_column_text(raw, column) else { return "" }
        return String(cString: pointer)
    }

    public func blob(_ column: Int32) -> [UInt8] {
        let count = Int(sqlite3_column_bytes(raw, column))
        guard count > 0, let pointer = sqlite3_column_blob(raw, column) else { return [] }
        return Array(UnsafeRawBufferPointer(start: pointer, count: count))
    }

    /// Calls `body` with a blob column's bytes where SQLite holds them (no copy; valid only inside `body`, before
    /// the statement steps again).
    public func withBlob<R, E: Error>(_ column: Int32, _ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        let count = Int(sqlite3_column_bytes(raw, column))
        guard count > 0, let pointer = sqlite3_column_blob(raw, column) else { return try body(UnsafeRawBufferPointer(start: nil, count: 0)) }
        return try body(UnsafeRawBufferPointer(start: pointer, count: count))
    }
}

/// A value to bind.
public enum SQLiteValue: Hashable, Sendable {
    case null
    case integer(Int64)
    case text(String)
    case blob([UInt8])
}

/// SQLite's storage classes.
enum SQLiteColumnType: Int32 {
    case integer = 1, float = 2, text = 3, blob = 4, null = 5
}
