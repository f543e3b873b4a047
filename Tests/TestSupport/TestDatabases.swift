import Foundation
import Store

/// A fresh, empty database on either backend, for store tests that run twice: a SQLite file in a temporary
/// directory, or a database of its own on the shared real PostgreSQL server (`PostgresServer`).
public enum TestDatabases {
    public static func fresh(_ backend: SQLBackend, _ prefix: String) async throws -> any SQLStore {
        switch backend {
        case .sqlite: try Database(path: try temporaryDirectory("settle-\(prefix)").appendingPathComponent("db").path)
        case .postgres: try await PostgresServer.freshDatabase(prefix)
        }
    }

    /// A second connection pool (another daemon) on the same PostgreSQL database as `store`.
    public static func secondDaemon(on store: any SQLStore) throws -> PostgresPool {
        guard let pool = store as? PostgresPool else { throw StoreError(.invalidLocation, "a second daemon needs PostgreSQL") }
        return PostgresPool(pool.location, password: nil, logger: pool.logger)
    }
}
