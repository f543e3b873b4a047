import Foundation
import Leases
import Logging
import PostgresNIO
import Store
import TestSupport
import Testing

/// The fence in a real write: a daemon that lost its lease while paused cannot commit its work afterwards, on
/// PostgreSQL with two clients (two daemons) on one database.
@Suite("Lease fencing on PostgreSQL")
struct FenceTests {
    @Test("a paused holder's write after a hand-over is refused and rolled back; the new holder's commits")
    func pausedHolder() async throws {
        let first = try await PostgresServer.freshDatabase("fence")
        defer { first.close() }
        let leases = try await PostgresLeaseStore(database: first)
        try await first.client.query("CREATE TABLE attempts (nonce BIGINT PRIMARY KEY, holder TEXT NOT NULL)")
        let logger = Logger(label: "test")

        func write(_ lease: Lease, nonce: Int64) async throws {
            try await first.transaction { connection in
                try await PostgresLeaseStore.fence(connection, lease, logger: logger)
                try await connection.query("INSERT INTO attempts(nonce, holder) VALUES (\(nonce), \(lease.holder))", logger: logger)
            }
        }

        let a = try #require(try await leases.acquire("settle base", holder: "a", now: 1_000, ttl: 100))
        try await write(a, nonce: 7)
        // a "pauses"; its lease lapses and b takes over, then a wakes and tries to sign nonce 8.
        let b = try #require(try await leases.acquire("settle base", holder: "b", now: 1_200, ttl: 100))
        let refused = await #expect(throws: StoreError.self) { try await write(a, nonce: 8) }
        #expect(refused?.code == .fenced)
        try await write(b, nonce: 8)
        var rows: [String] = []
        for try await (nonce, holder) in try await first.client.query("SELECT nonce, holder FROM attempts ORDER BY nonce").decode((Int64, String).self) {
            rows.append("\(nonce):\(holder)")
        }
        #expect(rows == ["7:a", "8:b"])
    }
}
