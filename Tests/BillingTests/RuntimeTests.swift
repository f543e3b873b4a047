import Leases
import Logging
import SettleRuntime
import Store
import TestSupport
import Testing

/// The wiring's database helpers: a command's lease on PostgreSQL (none on SQLite), and `--database` errors.
@Suite("SettleRuntime: database by argument, command leases")
struct RuntimeTests {
    @Test("a command takes the chain's lease on PostgreSQL and is refused while another holds it; none on SQLite")
    func commandLease() async throws {
        let sqlite = try await TestDatabases.fresh(.sqlite, "lease")
        #expect(try await CommandLease.take("index devnet", on: sqlite) == nil)

        let pool = try await PostgresServer.freshDatabase("commandlease", pool: 2)
        defer { pool.close() }
        let first = try #require(try await CommandLease.take("index devnet", on: pool, seconds: 30))
        let refused = await #expect(throws: RuntimeError.self) { try await CommandLease.take("index devnet", on: pool, seconds: 30) }
        #expect(refused?.message.contains("another settled holds the lease 'index devnet'") == true)
        // Another chain's lease is free meanwhile.
        let other = try #require(try await CommandLease.take("index base", on: pool, seconds: 30))
        await other.release()
        await first.release()
        let next = try #require(try await CommandLease.take("index devnet", on: pool, seconds: 30))
        #expect(next.lease.epoch > first.lease.epoch)
        await next.release()
    }

    @Test("--database: a URL without a user, or a bad password reference, is refused naming the option")
    func databaseArgument() throws {
        let logger = Logger(label: "test")
        let noUser = #expect(throws: RuntimeError.self) { try SettleDatabase.open(argument: "postgres://127.0.0.1/settle", password: nil, logger: logger) }
        #expect(noUser?.message.contains("--database") == true)
        let badPassword = #expect(throws: RuntimeError.self) {
            try SettleDatabase.open(argument: "postgres://settle@127.0.0.1/settle", password: "hunter2", logger: logger)
        }
        #expect(badPassword?.message.contains("--database-password") == true)
    }
}

