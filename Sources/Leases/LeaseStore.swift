import Foundation
import PostgresNIO
import Store

/// Where leases are kept: the same database as the work they guard, so a write and its fence commit together.
public protocol LeaseStore: Sendable {
    /// In one transaction with the row of `name` locked: reads the stored lease, asks `decide`, and stores what it
    /// returns (nothing when nil). What was stored.
    func change(_ name: String, _ decide: @escaping @Sendable (Lease?) -> Lease?) async throws -> Lease?
    /// The stored lease of `name`.
    func current(_ name: String) async throws -> Lease?
}

extension LeaseStore {
    /// Takes (or extends) `name` for `holder`; nil while another holder's lease runs.
    public func acquire(_ name: String, holder: String, now: UInt64, ttl: UInt64) async throws -> Lease? {
        try await change(name) { LeaseRule.acquire(current: $0, name: name, holder: holder, now: now, ttl: ttl) }
    }

    /// Extends `lease`; nil when it lapsed or changed hands (stop the work).
    public func renew(_ lease: Lease, now: UInt64, ttl: UInt64) async throws -> Lease? {
        try await change(lease.name) { LeaseRule.renew(current: $0, lease: lease, now: now, ttl: ttl) }
    }

    /// Ends whatever lease `name` has (it lapses now, holder and epoch kept: the next taker gets the next epoch). For a
    /// daemon that knows no other can be running (SQLite's `DatabaseLock`): a lease left by a killed predecessor
    /// would otherwise hold the work back until it lapsed.
    public func lapse(_ name: String) async throws {
        _ = try await change(name) { current in
            guard var lapsed = current, lapsed.expiresAt > 0 else { return nil }
            lapsed.expiresAt = 0
            return lapsed
        }
    }

    /// Gives `lease` up (it lapses now), if still held.
    public func release(_ lease: Lease) async throws {
        _ = try await change(lease.name) { current in
            guard LeaseRule.isCurrent(lease, stored: current), var lapsed = current else { return nil }
            lapsed.expiresAt = 0
            return lapsed
        }
    }
}

/// Leases in SQLite. One SQLite database has one writer process (`DatabaseLock`), so this is for the same code path
/// on both backends and for tests; the fence matters with PostgreSQL.
public struct SQLiteLeaseStore: LeaseStore {
    public let database: Database

    public static let migrations = [
        """
        CREATE TABLE leases (
            name TEXT NOT NULL PRIMARY KEY,
            holder TEXT NOT NULL,
            epoch INTEGER NOT NULL CHECK (epoch >= 1),
            expires_at INTEGER NOT NULL CHECK (expires_at >= 0)
        ) STRICT;
        """,
    ]

    public init(database: Database) async throws {
        self.database = database
        try await database.migrate(module: "leases", Self.migrations)
    }

    public func current(_ name: String) async throws -> Lease? {
        try await database.read { db in try Self.row(db, name) }
    }

    /// Checks, inside a write transaction on `db`, that `lease` is still current; throws `.fenced` otherwise.
    public static func fence(_ db: SQLiteConnection, _ lease: Lease) throws {
        guard LeaseRule.isCurrent(lease, stored: try row(db, lease.name)) else {
            throw StoreError(.fenced, "the lease \(lease) is no longer current: another daemon took the work over")
        }
    }

    public func change(_ name: String, _ decide: @escaping @Sendable (Lease?) -> Lease?) async throws -> Lease? {
        try await database.write { db in
            guard let next = decide(try Self.row(db, name)) else { return nil }
            let upsert = try db.statement("""
                INSERT INTO leases(name, holder, epoch, expires_at) VALUES (?, ?, ?, ?)
                ON CONFLICT(name) DO UPDATE SET holder = excluded.holder, epoch = excluded.epoch, expires_at = excluded.expires_at
                """)
            upsert.bind(next.name, at: 1)
            upsert.bind(next.holder, at: 2)
            upsert.bind(next.epoch, at: 3)
            upsert.bind(try LeaseColumns.stored(next.expiresAt), at: 4)
            try upsert.step()
            return next
        }
    }

    static func row(_ db: SQLiteConnection, _ name: String) throws -> Lease? {
        let select = try db.statement("SELECT holder, epoch, expires_at FROM leases WHERE name = ?")
        select.bind(name, at: 1)
        guard try select.step() else { return nil }
        return Lease(name: name, holder: select.text(0), epoch: select.int64(1), expiresAt: try LeaseColumns.read(select.int64(2)))
    }
}

/// Leases in PostgreSQL: the row is locked (`SELECT … FOR UPDATE`) for the decision, so two daemons asking at once
/// are served one after the other.
public struct PostgresLeaseStore: LeaseStore {
    public let database: PostgresPool

    public static let migrations = [
        """
        CREATE TABLE leases (
            name TEXT NOT NULL PRIMARY KEY,
            holder TEXT NOT NULL,
            epoch BIGINT NOT NULL CHECK (epoch >= 1),
            expires_at BIGINT NOT NULL CHECK (expires_at >= 0)
        )
        """,
    ]

    public init(database: PostgresPool) async throws {
        self.database = database
        try await database.migrate(module: "leases", Self.migrations)
    }

    public func current(_ name: String) async throws -> Lease? {
        try await database.transaction { connection in try await Self.row(connection, name, lock: false, logger: database.logger) }
    }

    /// Checks, inside a transaction on `connection`, that `lease` is still current, and holds the row's lock until
    /// the transaction ends (a hand-over waits for the write to commit); throws `.fenced` otherwise.
    public static func fence(_ connection: PostgresConnection, _ lease: Lease, logger: Logger) async throws {
        guard LeaseRule.isCurrent(lease, stored: try await row(connection, lease.name, lock: true, logger: logger)) else {
            throw StoreError(.fenced, "the lease \(lease) is no longer current: another daemon took the work over")
        }
    }

    public func change(_ name: String, _ decide: @escaping @Sendable (Lease?) -> Lease?) async throws -> Lease? {
        let logger = database.logger
        return try await database.transaction { connection in
            // The row exists before it is locked, so two first askers queue on it instead of racing an insert.
            try await connection.query("INSERT INTO leases(name, holder, epoch, expires_at) VALUES (\(name), '', 1, 0) ON CONFLICT (name) DO NOTHING",
                                       logger: logger)
            var current = try await Self.row(connection, name, lock: true, logger: logger)
            if current?.holder == "" { current = nil }
            guard let next = decide(current) else { return nil }
            let expires = try LeaseColumns.stored(next.expiresAt)
            try await connection.query("UPDATE leases SET holder = \(next.holder), epoch = \(next.epoch), expires_at = \(expires) WHERE name = \(name)",
                                       logger: logger)
            return next
        }
    }

    static func row(_ connection: PostgresConnection, _ name: String, lock: Bool, logger: Logger) async throws -> Lease? {
        let rows = try await connection.query(
            lock ? "SELECT holder, epoch, expires_at FROM leases WHERE name = \(name) FOR UPDATE"
                 : "SELECT holder, epoch, expires_at FROM leases WHERE name = \(name)", logger: logger)
        for try await (holder, epoch, expires) in rows.decode((String, Int64, Int64).self) {
            return Lease(name: name, holder: holder, epoch: epoch, expiresAt: try LeaseColumns.read(expires))
        }
        return nil
    }
}

/// Milliseconds as stored (signed 64-bit in both databases), checked both ways.
enum LeaseColumns {
    static func stored(_ milliseconds: UInt64) throws(StoreError) -> Int64 {
        guard let value = Int64(exactly: milliseconds) else { throw StoreError(.corruptValue, "a lease time past 2^63 - 1 ms") }
        return value
    }

    static func read(_ value: Int64) throws(StoreError) -> UInt64 {
        guard let milliseconds = UInt64(exactly: value) else { throw StoreError(.corruptValue, "a negative lease time in the database") }
        return milliseconds
    }
}

/// The fence on either backend, inside a `SQLStore` write transaction: the stored lease must still be `lease` (same
/// holder and epoch). On PostgreSQL the lease row stays locked until the transaction ends, so a hand-over waits for
/// the fenced write to commit; SQLite has one writer process, so nothing can hand over meanwhile.
public enum LeaseFence {
    /// Throws `StoreError(.fenced)` when `lease` is no longer current; the caller's transaction then rolls back.
    public static func check(_ db: any SQLSession, _ lease: Lease) async throws {
        let row = try await db.row("SELECT holder, epoch, expires_at FROM leases WHERE name = ?\(db.forUpdate)", [.text(lease.name)])
        let stored = try row.map { row in
            Lease(name: lease.name, holder: try row.text(0), epoch: try row.int64(1), expiresAt: try LeaseColumns.read(try row.int64(2)))
        }
        guard LeaseRule.isCurrent(lease, stored: stored) else {
            throw StoreError(.fenced, "the lease \(lease) is no longer current: another daemon took the work over")
        }
    }
}

/// Keeps one lease for this daemon ("index base", "settle base"): takes it when it is free, renews it well before it
/// lapses, and says when another daemon holds it. The work it guards runs only with a lease in hand, and passes it to
/// every write it fences; a lease returned here may still be lost a moment later, which the fence then catches.
public actor LeaseKeeper {
    public let name: String
    public let holder: String
    /// How long a taken or renewed lease runs (ms).
    public let ttl: UInt64
    private let store: any LeaseStore
    private let clock: @Sendable () -> UInt64
    private var current: Lease?

    /// - Parameters:
    ///   - holder: this daemon, unique among the daemons on the database (host, process and a random part).
    ///   - clock: milliseconds since the Unix epoch.
    public init(store: any LeaseStore, name: String, holder: String, ttl: UInt64, clock: @escaping @Sendable () -> UInt64) {
        self.store = store
        self.name = name
        self.holder = holder
        self.ttl = ttl
        self.clock = clock
    }

    /// The lease to work under now, or nil while another daemon holds it. Renewed once less than half its time is left.
    public func hold() async throws -> Lease? {
        let now = clock()
        if let lease = current, lease.expiresAt > now, lease.expiresAt - now > ttl / 2 { return lease }
        if let lease = current, let renewed = try await store.renew(lease, now: now, ttl: ttl) {
            current = renewed
            return renewed
        }
        current = try await store.acquire(name, holder: holder, now: now, ttl: ttl)
        return current
    }

    /// Gives the lease up (at shutdown), so another daemon takes over at once rather than after it lapses.
    public func release() async {
        guard let lease = current else { return }
        current = nil
        try? await store.release(lease)
    }

    /// Milliseconds since the Unix epoch, from this machine's clock: what daemons and commands keep leases by.
    public static let wallClock: @Sendable () -> UInt64 = { UInt64(Date().timeIntervalSince1970 * 1_000) }

    /// A holder name for this process: host, process id and a random part.
    public static func processHolder() -> String {
        "\(ProcessInfo.processInfo.hostName)#\(ProcessInfo.processInfo.processIdentifier)#\(UInt32.random(in: 0...UInt32.max))"
    }
}
