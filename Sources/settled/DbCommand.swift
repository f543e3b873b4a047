import ArgumentParser
import Billing
import EVMIndexer
import Foundation
import SettleRuntime
import Leases
import Logging
import SettleConfiguration
import Settlement
import Signing
import SolanaIndexer
import Store

/// `settled db copy`: moves a SQLite database to PostgreSQL (the step from one daemon to several).
struct DbCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "db",
        abstract: "Move a database: copy a SQLite file into PostgreSQL.",
        subcommands: [Copy.self])

    struct Copy: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Copy a SQLite database (ledger, billing, outbox, EVM and Solana indexes) into an empty PostgreSQL database.",
            discussion: """
                Stop the daemon first: the copy takes the SQLite file's lock, and is refused while a daemon holds it \
                (a charge signed during the copy would be missing from it). The source is brought to this build's \
                schema first (as `settled serve` would), the target is migrated to the same schemas, and must be empty. \
                Tables go in foreign-key order, rows in key order; ids are kept and the target's identities continue \
                after them. Then every table is counted and checksummed (SHA-256 over the rows in key order) on both \
                sides, and the report lists them; any difference exits non-zero.

                  settled db copy --from /var/lib/settle/settle.sqlite \\
                      --to "postgres://settle@db.internal:5432/settle?sslmode=verify-full" --password env:PGPASSWORD

                Then point settle.toml at it ([database] url, password) and start any number of `settled serve`.
                """)

        @Option(help: ArgumentHelp("The SQLite database to copy.", valueName: "path"))
        var from: String

        @Option(help: ArgumentHelp("The PostgreSQL database to copy into: postgres://USER@HOST:PORT/DATABASE?sslmode=…", valueName: "url"))
        var to: String

        @Option(help: ArgumentHelp("The PostgreSQL password, as a secret reference (env:NAME or file:PATH).", valueName: "reference"))
        var password: String?

        func run() async throws {
            let location: PostgresLocation
            do { location = try PostgresLocation(url: to) } catch { throw ValidationError("--to: \(error.message)") }
            guard FileManager.default.fileExists(atPath: from) else { throw ValidationError("--from: no such file \(from)") }
            var secret: String?
            if let password {
                do { secret = try KeyLoader.secretText(from: try KeyReference(parsing: password)) } catch { throw ValidationError("--password: \(error)") }
            }
            let lock: DatabaseLock
            do { lock = try DatabaseLock(databasePath: from) } catch { throw ValidationError("--from: \(error.message)") }
            defer { withExtendedLifetime(lock) {} }
            var logger = Logger(label: "settled.db")
            logger.logLevel = .warning
            let source = try Database(path: from)
            let target = PostgresPool(location, password: secret, logger: logger)
            defer { target.close() }
            // Both sides at this build's schemas (the ledger before the notifier, whose migration reads its history).
            for database in [source as any SQLStore, target] {
                try await Ledger(database: database).migrate()
                try await Outbox(database: database).migrate()
                try await BillingStore(database: database).migrate()
            }
            try await SQLiteEVMIndexStore(database: source).migrate()
            try await PostgresEVMIndexStore(database: target).migrate()
            try await SQLiteSolanaIndexStore(database: source).migrate()
            try await PostgresSolanaIndexStore(database: target).migrate()
            _ = try await SQLiteLeaseStore(database: source)
            _ = try await PostgresLeaseStore(database: target)

            let copy = DatabaseCopy(source: source, target: target)
            let tables = try await copy.tables()
            try await copy.checkEmpty(tables)
            print("copying \(tables.count) tables from \(from) to \(location)")
            var reports: [DatabaseCopy.TableReport] = []
            for table in tables {
                let report = try await copy.copy(table) { rows in
                    if rows % 50_000 == 0 { FileHandle.standardError.write(Data("  \(table): \(rows) rows…\n".utf8)) }
                }
                reports.append(report)
                print("\(report.matches ? "ok  " : "DIFF") \(table.padding(toLength: 28, withPad: " ", startingAt: 0)) rows \(report.sourceRows) → \(report.targetRows)  sha256 \(report.sourceChecksum.prefix(16))… \(report.matches ? "=" : "≠") \(report.targetChecksum.prefix(16))…")
            }
            let different = reports.filter { !$0.matches }
            guard different.isEmpty else {
                throw ValidationError("\(different.count) tables differ after the copy: \(different.map(\.table).joined(separator: ", ")); do not use the target")
            }
            print("copied \(reports.reduce(0) { $0 + $1.sourceRows }) rows in \(reports.count) tables; every count and checksum matches")
        }
    }
}
