import Dispatch
import Synchronization

/// A `SQLSession` on one SQLite connection: each statement runs on the connection's own serial queue (never on the
/// cooperative thread pool), and the caller holds the connection for the whole transaction (the writer's
/// `WriterGate`, or a reader slot checked out of its pool).
///
/// `@unchecked Sendable` is safe: `connection` is touched only on `queue`, by one transaction at a time.
final class SQLiteSession: SQLSession, @unchecked Sendable {
    let backend = SQLBackend.sqlite
    private let connection: SQLiteConnection
    private let queue: DispatchQueue

    init(_ connection: SQLiteConnection, queue: DispatchQueue) {
        self.connection = connection
        self.queue = queue
    }

    func run(_ sql: String, _ values: [SQLValue]) async throws -> Int {
        try await onQueue { db in
            try db.statement(sql).run(values)
            return db.changes
        }
    }

    func rows(_ sql: String, _ values: [SQLValue]) async throws -> [SQLRow] {
        try await onQueue { db in
            let select = try db.statement(sql)
            select.bind(values)
            var out: [SQLRow] = []
            while try select.step() { out.append(select.row) }
            select.reset()
            return out
        }
    }

    /// Runs `body` with the connection on its queue.
    func onQueue<T: Sendable>(_ body: @escaping @Sendable (SQLiteConnection) throws -> T) async throws -> T {
        try await queue.run { [self] in try body(connection) }
    }

    /// Runs `body` in one transaction opened with `begin` (committed, or rolled back if `body` throws).
    func transaction<T: Sendable>(begin: String, _ body: @escaping @Sendable (any SQLSession) async throws -> T) async throws -> T {
        try await onQueue { db in try db.execute(begin) }
        do {
            let value = try await body(self)
            try await onQueue { db in
                db.resetStatements()
                try db.execute("COMMIT")
            }
            return value
        } catch {
            _ = try? await onQueue { db in
                db.resetStatements()
                try db.execute("ROLLBACK")
            }
            throw error
        }
    }
}

extension SQLiteStatement {
    /// The current row, every column as the value SQLite holds.
    var row: SQLRow {
        SQLRow((0..<columnCount).map { column in
            switch columnType(column) {
            case SQLiteColumnType.integer: .integer(int64(column))
            case SQLiteColumnType.null: .null
            case SQLiteColumnType.blob: .blob(blob(column))
            default: .text(text(column))
            }
        })
    }
}

extension DispatchQueue {
    /// Runs `body` on this queue and waits for it without holding a thread of the cooperative pool.
    func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        let result: Result<T, any Error> = await withCheckedContinuation { continuation in
            async { continuation.resume(returning: Result { try body() }) }
        }
        return try result.get()
    }
}

/// One holder at a time of the SQLite writer connection, across suspension points: a `write` whose body awaits
/// (a `SQLSession` transaction) keeps the connection until it commits, and every other write waits its turn
/// without holding a thread, first come first served.
final class WriterGate: Sendable {
    private struct State {
        var held = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())

    func lock() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let acquired = state.withLock { state in
                guard state.held else {
                    state.held = true
                    return true
                }
                state.waiters.append(continuation)
                return false
            }
            if acquired { continuation.resume() }
        }
    }

    func unlock() {
        let next = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard !state.waiters.isEmpty else {
                state.held = false
                return nil
            }
            return state.waiters.removeFirst()  // stays held: handed straight to the longest waiter
        }
        next?.resume()
    }
}
