import EVM
import EVMIndexer
import Foundation
import Logging
import PostgresNIO
import SettleCore
import Store

/// Filling the real EVM index schema (the stores' own migrations) with `HistoryShape`'s rows, in bulk SQL on the
/// database server itself: going through `commit` would take 2 to 6 minutes per 10 million rows here (see the
/// evm-backfill figures) and measure writes, which this benchmark is not about.
extension HistoryBenchmark {
    static let chainName = "devnet"
    static let chunk = 1_000_000

    static func progress(_ what: String, done: Int, of total: Int, since started: ContinuousClock.Instant, table: ContinuousClock.Instant) {
        let seconds = table.secondsUntilNow
        say(String(format: "  %@: %d / %d rows, %.0f rows/s (load at %.0f s)", what, done, total, Double(done) / max(seconds, 0.001),
                   started.secondsUntilNow))
    }

    /// SQLite as a backfill leaves it: rows appended under `beginBulkLoad` (secondary index dropped, big cache), then
    /// `endBulkLoad` builds the index. Foreign keys stay on, as on the daemon's writer. No ANALYZE: the daemon runs none.
    static func loadSQLite(_ shape: HistoryShape, store: SQLiteEVMIndexStore) async throws -> Int64 {
        let started = ContinuousClock.now
        try await store.migrate()
        let chain = try await store.register(name: chainName, chainID: 1337, mode: "scoped", startBlock: 0).id
        guard try await store.beginBulkLoad(chain: chain) else { throw BenchError("the SQLite index is not empty") }
        let ids = shape.addressIDs
        try await store.database.write { (db: SQLiteConnection) in
            let insert = try db.statement("INSERT INTO evm_addresses (id, address) VALUES (?, ?)")
            for id in ids {
                insert.reset()
                try insert.run([.integer(id), .blob(HistoryShape.address(id).withUnsafeBytes { Array($0) })])
            }
        }
        let literal: ([UInt8]) -> String = { "x'" + Hex.encode($0) + "'" }
        let approvals = shape.approvalSelect(chain: chain, random32: "randomblob(32)", literal: literal)
        try await chunks("approvals", total: shape.approvals, since: started) { low, high in
            try await store.database.write { (db: SQLiteConnection) in
                try db.execute("""
                    WITH RECURSIVE s(i) AS (SELECT \(low) UNION ALL SELECT i + 1 FROM s WHERE i < \(high - 1))
                    INSERT INTO evm_approvals \(HistoryShape.approvalColumns) \(approvals) FROM s
                    """)
            }
        }
        let transfers = shape.transferSelect(chain: chain, random32: "randomblob(32)", literal: literal)
        try await chunks("transfers", total: shape.transfers, since: started) { low, high in
            try await store.database.write { (db: SQLiteConnection) in
                try db.execute("""
                    WITH RECURSIVE s(i) AS (SELECT \(low) UNION ALL SELECT i + 1 FROM s WHERE i < \(high - 1))
                    INSERT INTO evm_transfers \(HistoryShape.transferColumns) \(transfers) FROM s
                    """)
            }
        }
        for sql in [stateSQL(shape, chain: chain, literal: literal), trackedSQL(shape, chain: chain), cursorSQL(shape, chain: chain)] {
            try await store.database.write { (db: SQLiteConnection) in try db.execute(sql) }
        }
        let indexing = ContinuousClock.now
        try await store.endBulkLoad(completed: true)
        say(String(format: "  SQLite: secondary index built in %.0f s; whole load %.0f s", indexing.secondsUntilNow, started.secondsUntilNow))
        return chain
    }

    /// PostgreSQL: the same rows by `INSERT … SELECT FROM generate_series` on the server. The approvals' secondary index
    /// is dropped for the load and made again from its own stored definition (`pg_indexes`), so the schema ends exactly
    /// as the migration made it. As a superuser the load skips the foreign-key triggers (`session_replication_role =
    /// replica`): the rows name only ids inserted first. Then `VACUUM (ANALYZE)`, as autovacuum would soon do.
    static func loadPostgres(_ shape: HistoryShape, pool: PostgresPool) async throws -> Int64 {
        let started = ContinuousClock.now
        let store = PostgresEVMIndexStore(database: pool)
        try await store.migrate()
        let chain = try await store.register(name: chainName, chainID: 1337, mode: "scoped", startBlock: 0).id
        let logger = pool.logger
        var superuser = false
        for try await flag in try await pool.client.query("SELECT rolsuper FROM pg_roles WHERE rolname = current_user", logger: logger).decode(Bool.self) {
            superuser = flag
        }
        say(superuser ? "  PostgreSQL: superuser, foreign-key triggers skipped during the load"
                      : "  PostgreSQL: not a superuser, the load checks every foreign key (slower)")
        var definition = ""
        for try await text in try await pool.client.query(
            "SELECT indexdef FROM pg_indexes WHERE indexname = 'evm_approvals_by_owner_spender'", logger: logger).decode(String.self) {
            definition = text
        }
        guard !definition.isEmpty else { throw BenchError("no evm_approvals_by_owner_spender index after the migrations") }
        let indexDefinition = definition
        try await pool.client.query("DROP INDEX evm_approvals_by_owner_spender", logger: logger)

        let replica = superuser
        func run(_ sql: String) async throws {
            try await pool.transaction { connection in
                if replica { try await connection.query("SET LOCAL session_replication_role = replica", logger: logger) }
                try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger)
            }
        }
        try await run("""
            INSERT INTO evm_addresses (id, address) OVERRIDING SYSTEM VALUE
            SELECT n, decode('a1' || lpad(to_hex(n), 38, '0'), 'hex')
            FROM (SELECT generate_series(1, \(HistoryShape.treasuryID)) AS n
                  UNION ALL SELECT generate_series(\(HistoryShape.firstWalletID), \(shape.walletID(shape.wallets - 1)))) AS ids
            """)
        try await pool.client.query("SELECT setval(pg_get_serial_sequence('evm_addresses', 'id'), (SELECT max(id) FROM evm_addresses))", logger: logger)
        let literal: ([UInt8]) -> String = { "'\\x" + Hex.encode($0) + "'::bytea" }
        let random32 = "uuid_send(gen_random_uuid()) || uuid_send(gen_random_uuid())"
        let approvals = shape.approvalSelect(chain: chain, random32: random32, literal: literal)
        try await chunks("approvals", total: shape.approvals, since: started) { low, high in
            try await run("INSERT INTO evm_approvals \(HistoryShape.approvalColumns) \(approvals) FROM generate_series(\(low)::BIGINT, \(high - 1)::BIGINT) AS s(i)")
        }
        let transfers = shape.transferSelect(chain: chain, random32: random32, literal: literal)
        try await chunks("transfers", total: shape.transfers, since: started) { low, high in
            try await run("INSERT INTO evm_transfers \(HistoryShape.transferColumns) \(transfers) FROM generate_series(\(low)::BIGINT, \(high - 1)::BIGINT) AS s(i)")
        }
        try await run(stateSQL(shape, chain: chain, literal: literal))
        try await run(trackedSQL(shape, chain: chain))
        try await run(cursorSQL(shape, chain: chain))
        let indexing = ContinuousClock.now
        try await pool.transaction { connection in
            try await connection.query("SET LOCAL maintenance_work_mem = '256MB'", logger: logger)
            try await connection.query(PostgresQuery(unsafeSQL: indexDefinition), logger: logger)
        }
        say(String(format: "  PostgreSQL: secondary index built in %.0f s", indexing.secondsUntilNow))
        let vacuum = ContinuousClock.now
        try await pool.client.query("VACUUM (ANALYZE) evm_addresses, evm_approvals, evm_transfers, evm_allowances, evm_tracked_owners", logger: logger)
        say(String(format: "  PostgreSQL: VACUUM (ANALYZE) %.0f s; whole load %.0f s", vacuum.secondsUntilNow, started.secondsUntilNow))
        return chain
    }

    /// Runs `insert(low, high)` over `0..<total` in `chunk`-row steps, printing progress.
    static func chunks(_ what: String, total: Int, since started: ContinuousClock.Instant,
                       _ insert: (Int, Int) async throws -> Void) async throws {
        var low = 0
        let table = ContinuousClock.now
        while low < total {
            let high = min(total, low + chunk)
            try await insert(low, high)
            low = high
            progress(what, done: low, of: total, since: started, table: table)
        }
    }

    /// Every wallet's current allowance to our spender in one token (what the API also reads on each page).
    static func stateSQL(_ shape: HistoryShape, chain: Int64, literal: ([UInt8]) -> String) -> String {
        """
        INSERT INTO evm_allowances (chain, token, owner, spender, value, as_of_block)
        SELECT \(chain), \(HistoryShape.tokenIDs.lowerBound) + id % \(HistoryShape.tokenIDs.count), id, \(HistoryShape.ourSpenderID),
            \(literal(HistoryShape.amounts[2])), \(shape.blocks - 1)
        FROM evm_addresses WHERE id >= \(HistoryShape.firstWalletID)
        """
    }

    /// Every wallet tracked (scoped mode: they approved our spender), from block 0.
    static func trackedSQL(_ shape: HistoryShape, chain: Int64) -> String {
        "INSERT INTO evm_tracked_owners (chain, owner, first_block) SELECT \(chain), id, 0 FROM evm_addresses WHERE id >= \(HistoryShape.firstWalletID)"
    }

    /// The cursor past the last block, as after a backfill.
    static func cursorSQL(_ shape: HistoryShape, chain: Int64) -> String {
        "UPDATE evm_chains SET next_block = \(shape.blocks), head_block = \(shape.blocks - 1), finalized_block = \(shape.blocks - 1) WHERE id = \(chain)"
    }
}
