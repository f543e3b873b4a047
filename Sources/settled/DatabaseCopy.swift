import Foundation
import SettleRuntime
import Signing
import Store

/// Copies every table of a SQLite database into an empty PostgreSQL database already migrated to the same schemas
/// (`settled db copy`): tables in foreign-key order, rows in key order in batches, identities moved past the copied
/// ids, then each table counted and checksummed on both sides.
///
/// The caller holds the source's `DatabaseLock` (no daemon may write it meanwhile) and has migrated both sides.
struct DatabaseCopy: Sendable {
    /// What was copied, per table.
    struct TableReport: Sendable, Hashable {
        var table: String
        var sourceRows: Int
        var targetRows: Int
        /// A SHA-256 chain over the rows in key order, each value in one canonical form (the same on both backends).
        var sourceChecksum: String
        var targetChecksum: String
        var matches: Bool { sourceRows == targetRows && sourceChecksum == targetChecksum }
    }

    let source: Database
    let target: PostgresPool
    /// Tables not copied: bookkeeping each database keeps for itself.
    static let skipped: Set<String> = ["schema_migrations", "leases"]
    /// Rows per INSERT.
    var batch = 500

    init(source: Database, target: PostgresPool) {
        self.source = source
        self.target = target
    }

    /// The source's tables in an order where every table comes after the tables its foreign keys name.
    func tables() async throws -> [String] {
        try await source.read { db in
            let names = try await db.rows("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name", [])
                .map { try $0.text(0) }.filter { !Self.skipped.contains($0) }
            var parents: [String: Set<String>] = [:]
            for name in names {
                parents[name] = Set(try await db.rows("SELECT \"table\" FROM pragma_foreign_key_list(?)", [.text(name)]).map { try $0.text(0) })
                    .subtracting([name])
            }
            var ordered: [String] = []
            var remaining = names
            while !remaining.isEmpty {
                guard let next = remaining.first(where: { parents[$0, default: []].isSubset(of: Set(ordered)) }) else {
                    throw StoreError(.migration, "the tables' foreign keys form a cycle: \(remaining)")
                }
                ordered.append(next)
                remaining.removeAll { $0 == next }
            }
            return ordered
        }
    }

    /// Refuses a target that already holds rows in any of `tables` (a copy goes into an empty database only).
    func checkEmpty(_ tables: [String]) async throws {
        for table in tables {
            let rows = try await target.read { db in try await db.row("SELECT count(*) FROM \(Self.quoted(table))", [])?.int64(0) ?? 0 }
            if rows > 0 { throw StoreError(.constraint, "the target database already holds \(rows) rows in \(table): copy into an empty database") }
        }
    }

    /// Copies one table; `progress` hears the rows copied so far.
    func copy(_ table: String, progress: @Sendable (Int) -> Void = { _ in }) async throws -> TableReport {
        let (columns, key) = try await layout(table)
        let targetColumns = Set(try await target.read { db in
            try await db.rows("SELECT column_name::text FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = ?",
                              [.text(table)]).map { try $0.text(0) }
        })
        guard !targetColumns.isEmpty else { throw StoreError(.migration, "the target has no table \(table): migrate it first") }
        let missing = columns.filter { !targetColumns.contains($0) }
        guard missing.isEmpty else { throw StoreError(.migration, "the target's \(table) has no column \(missing.joined(separator: ", "))") }
        let list = columns.map(Self.quoted).joined(separator: ", ")
        var copied = 0
        let keyIndexes = key.compactMap { columns.firstIndex(of: $0) }
        for try await page in Self.pages(source, table: table, list: list, key: key, keyIndexes: keyIndexes, size: batch) {
            let tuple = "(" + columns.map { _ in "?" }.joined(separator: ", ") + ")"
            try await target.write { db in
                try await db.run("INSERT INTO \(Self.quoted(table)) (\(list)) OVERRIDING SYSTEM VALUE VALUES \(page.map { _ in tuple }.joined(separator: ", "))",
                                 page.flatMap(\.values))
            }
            copied += page.count
            progress(copied)
        }
        try await target.write { db in
            // Identities continue after the copied ids.
            for row in try await db.rows("""
                SELECT column_name::text FROM information_schema.columns
                WHERE table_schema = current_schema() AND table_name = ? AND is_identity = 'YES'
                """, [.text(table)]) {
                let column = try row.text(0)
                _ = try await db.rows("""
                    SELECT setval(pg_get_serial_sequence(?, ?), coalesce((SELECT max(\(Self.quoted(column))) FROM \(Self.quoted(table))), 0) + 1, false)::text
                    """, [.text(table), .text(column)])
            }
        }
        let (sourceRows, sourceChecksum) = try await Self.checksum(source, table: table, list: list, key: key, keyIndexes: keyIndexes)
        let (targetRows, targetChecksum) = try await Self.checksum(target, table: table, list: list, key: key, keyIndexes: keyIndexes)
        return TableReport(table: table, sourceRows: sourceRows, targetRows: targetRows, sourceChecksum: sourceChecksum, targetChecksum: targetChecksum)
    }

    /// The table's columns (in declared order) and its key: the primary key (every Settle table has one).
    func layout(_ table: String) async throws -> (columns: [String], key: [String]) {
        try await source.read { db in
            let info = try await db.rows("SELECT name, pk FROM pragma_table_info(?) ORDER BY cid", [.text(table)])
            let columns = try info.map { try $0.text(0) }
            let key = try info.filter { try $0.int64(1) > 0 }.sorted { try $0.int64(1) < $1.int64(1) }.map { try $0.text(0) }
            guard !columns.isEmpty else { throw StoreError(.migration, "no table \(table) in the source") }
            guard !key.isEmpty else { throw StoreError(.migration, "the table \(table) has no primary key to copy it in order by") }
            return (columns, key)
        }
    }

    /// Rows and a SHA-256 chain over them in key order (each row hashed after the digest so far), read page by page.
    static func checksum(_ store: any SQLStore, table: String, list: String, key: [String], keyIndexes: [Int]) async throws -> (Int, String) {
        var digest = SHA256.hash([UInt8](table.utf8))
        var rows = 0
        for try await page in pages(store, table: table, list: list, key: key, keyIndexes: keyIndexes, size: 2_000) {
            for row in page { digest = SHA256.hash(digest.bytes + row.values.flatMap(canonical)) }
            rows += page.count
        }
        return (rows, digest.hex)
    }

    /// The table's rows in key order, a page at a time: after the last page's key (`(k1, k2) > (?, ?)`, an index
    /// range on both backends), so a page costs the same at the end of a large table as at its start.
    static func pages(_ store: any SQLStore, table: String, list: String, key: [String], keyIndexes: [Int],
                      size: Int) -> AsyncThrowingStream<[SQLRow], any Error> {
        let order = key.map(quoted).joined(separator: ", ")
        let tuple = "(" + order + ")"
        return AsyncThrowingStream { continuation in
            let task = Task {
                do {
                    var after: [SQLValue]?
                    while true {
                        let bound = after
                        let page = try await store.read { db in
                            if let bound {
                                return try await db.rows("""
                                    SELECT \(list) FROM \(quoted(table)) WHERE \(tuple) > (\(bound.map { _ in "?" }.joined(separator: ", ")))
                                    ORDER BY \(order) LIMIT ?
                                    """, bound + [.integer(Int64(size))])
                            }
                            return try await db.rows("SELECT \(list) FROM \(quoted(table)) ORDER BY \(order) LIMIT ?", [.integer(Int64(size))])
                        }
                        if page.isEmpty { break }
                        continuation.yield(page)
                        guard let last = page.last else { break }
                        after = keyIndexes.map { last.values[$0] }
                    }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    /// One value's bytes for the checksum: a type tag, then the value.
    static func canonical(_ value: SQLValue) -> [UInt8] {
        switch value {
        case .null: [0x00, 0x1f]
        case .integer(let number): [0x01] + Array(String(number).utf8) + [0x1f]
        case .text(let text): [0x02] + Array(String(text.utf8.count).utf8) + [0x3a] + Array(text.utf8) + [0x1f]
        case .blob(let bytes): [0x03] + Array(String(bytes.count).utf8) + [0x3a] + bytes + [0x1f]
        }
    }

    static func quoted(_ name: String) -> String { "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }
}
