import Foundation
import Logging
import PostgresNIO
import Store

/// One real PostgreSQL 15 server per test process (`Tests/Peers/postgres_peer.py`: a throwaway cluster on
/// 127.0.0.1); every test gets a database of its own on it.
public enum PostgresServer {
    /// Started on first use on a thread of its own: initdb and the server's start take seconds, and a `Result`
    /// global's one-time initializer would hold a cooperative-pool thread (and every other test waiting on it) meanwhile.
    private static let shared = Task { try await Peer.start(script: "postgres_peer.py") }

    /// A new, empty database on the shared server, and a `PostgresPool` connected to it.
    public static func freshDatabase(_ prefix: String = "t", pool: Int = 10) async throws -> PostgresPool {
        let peer = try await shared.value
        let name = "\(prefix)_\(UInt64.random(in: 0...UInt64.max))"
        let logger = Logger(label: "test.postgres")
        let admin = PostgresPool(PostgresLocation(host: "127.0.0.1", port: peer.port, user: "settle", database: "postgres", requireTLS: false,
                                                      maximumConnections: 1), password: nil, logger: logger)
        defer { admin.close() }
        try await admin.client.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"), logger: logger)
        return PostgresPool(PostgresLocation(host: "127.0.0.1", port: peer.port, user: "settle", database: name, requireTLS: false,
                                                 maximumConnections: pool), password: nil, logger: logger)
    }
}
