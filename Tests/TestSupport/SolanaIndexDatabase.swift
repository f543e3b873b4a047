import Foundation
import Logging
import PostgresNIO
import SolanaIndexer
import Store

/// A fresh, migrated Solana index on one backend: a SQLite file, or a database of its own on the test PostgreSQL
/// server (`PostgresServer`). Raw SQL is here only for tests that damage rows on purpose or read what a store hides.
public struct SolanaIndexDatabase: Sendable {
    /// The two places the index can live; tests of the store run on both (`@Test(arguments: Backend.allCases)`).
    public typealias Backend = SQLBackend

    public let backend: Backend
    /// The SQLite database (nil on PostgreSQL).
    public let sqlite: Database?
    /// The PostgreSQL pool (nil on SQLite).
    public let postgres: PostgresPool?
    /// The store, migrated.
    public let store: any SolanaIndexStore

    public static func make(_ backend: Backend, durability: Durability = .normal) async throws -> SolanaIndexDatabase {
        switch backend {
        case .sqlite:
            let database = try Database(path: try temporaryDirectory("settle-sol-index").appendingPathComponent("index.sqlite").path, durability: durability)
            let store = SQLiteSolanaIndexStore(database: database)
            try await store.migrate()
            return SolanaIndexDatabase(backend: backend, sqlite: database, postgres: nil, store: store)
        case .postgres:
            let pool = try await PostgresServer.freshDatabase("sol")
            let store = PostgresSolanaIndexStore(database: pool)
            do { try await store.migrate() } catch {
                pool.close()
                throw error
            }
            return SolanaIndexDatabase(backend: backend, sqlite: nil, postgres: pool, store: store)
        }
    }

    /// A new store over the same database (migrated again, as a restarted daemon does).
    public func reopened() async throws -> any SolanaIndexStore {
        let store: any SolanaIndexStore
        if let sqlite {
            store = SQLiteSolanaIndexStore(database: try Database(path: sqlite.path, durability: .normal))
        } else if let postgres {
            store = PostgresSolanaIndexStore(database: postgres)
        } else {
            store = self.store
        }
        try await store.migrate()
        return store
    }

    /// Runs one SQL statement (no result).
    public func execute(_ sql: String) async throws {
        if let sqlite {
            try await sqlite.write { db in try db.execute(sql) }
        } else if let postgres {
            try await postgres.client.query(PostgresQuery(unsafeSQL: sql), logger: postgres.logger)
        }
    }

    /// The first column of a one-row, one-integer query (a count, a slot).
    public func integer(_ sql: String) async throws -> Int64? {
        if let sqlite {
            return try await sqlite.read { db in
                let select = try db.statement(sql)
                return try select.step() && !select.isNull(0) ? select.int64(0) : nil
            }
        }
        guard let postgres else { return nil }
        for try await value in try await postgres.client.query(PostgresQuery(unsafeSQL: sql), logger: postgres.logger).decode(Int64?.self) {
            return value
        }
        return nil
    }

    /// A blob literal in this backend's SQL (`X'…'` or `'\x…'::bytea`).
    public func blob(_ bytes: [UInt8]) -> String {
        let hex = bytes.map { String(format: "%02x", $0) }.joined()
        return backend == .sqlite ? "X'\(hex)'" : "'\\x\(hex)'::bytea"
    }

    /// Ends the PostgreSQL pool's connections (nothing for SQLite).
    public func close() {
        postgres?.close()
    }
}
