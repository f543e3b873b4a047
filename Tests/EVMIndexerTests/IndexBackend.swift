import EVMIndexer
import Leases
import PostgresNIO
import Store
import TestSupport

/// The two index stores, for tests that run on both: a real SQLite file and a real PostgreSQL 15 server.
enum IndexBackend: String, CaseIterable, Sendable, CustomStringConvertible {
    case sqlite, postgres

    var description: String { rawValue }

    /// A migrated, empty index of this backend with a lease store on the same database.
    func open() async throws -> IndexUnderTest {
        switch self {
        case .sqlite:
            let directory = try temporaryDirectory("settle-evm-store")
            let database = try Database(path: directory.appendingPathComponent("index.sqlite").path, durability: .normal)
            let store = SQLiteEVMIndexStore(database: database)
            try await store.migrate()
            return IndexUnderTest(store: store, leases: try await SQLiteLeaseStore(database: database), sqlite: store, postgres: nil)
        case .postgres:
            let pool = try await PostgresServer.freshDatabase("evm")
            let store = PostgresEVMIndexStore(database: pool)
            do {
                try await store.migrate()
                return IndexUnderTest(store: store, leases: try await PostgresLeaseStore(database: pool), sqlite: nil, postgres: store)
            } catch {
                pool.close()
                throw error
            }
        }
    }
}

/// An index store under test, its lease store, and the concrete store for raw SQL.
struct IndexUnderTest {
    let store: any EVMIndexStore
    let leases: any LeaseStore
    let sqlite: SQLiteEVMIndexStore?
    let postgres: PostgresEVMIndexStore?

    /// Runs `sql` (statements without results) directly on the database, past the store.
    func execute(_ sql: String) async throws {
        if let sqlite { try await sqlite.database.writeRaw { db in try db.execute(sql) } }
        if let postgres {
            for statement in sql.split(separator: ";") where !statement.allSatisfy(\.isWhitespace) {
                try await postgres.database.client.query(PostgresQuery(unsafeSQL: String(statement)), logger: postgres.database.logger)
            }
        }
    }

    /// Ends the PostgreSQL client (SQLite closes with the store).
    func close() {
        postgres?.database.close()
    }
}
