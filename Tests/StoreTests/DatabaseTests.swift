import Foundation
import SettleCore
import Store
import TestSupport
import Testing

@Suite("SQLite database: writer, reader pool, migrations")
struct DatabaseTests {
    func database() throws -> Database {
        try Database(path: try temporaryDirectory("settle-db").appendingPathComponent("db.sqlite").path, readers: 2)
    }

    @Test("readers see every committed write (no stale snapshot from a cached statement)")
    func freshReads() async throws {
        let db = try database()
        try await db.migrate(module: "t", ["CREATE TABLE kv (k TEXT PRIMARY KEY, v INTEGER NOT NULL) STRICT"])
        for value in 1...20 {
            try await db.write { c in try c.statement("INSERT INTO kv VALUES ('a', ?) ON CONFLICT(k) DO UPDATE SET v = excluded.v").run([.integer(Int64(value))]) }
            let read = try await db.read { c in
                let s = try c.statement("SELECT v FROM kv WHERE k = 'a'")
                return try s.step() ? s.int(0) : -1
            }
            #expect(read == value)
        }
    }

    @Test("a write that throws leaves nothing behind")
    func rollback() async throws {
        let db = try database()
        try await db.migrate(module: "t", ["CREATE TABLE kv (k TEXT PRIMARY KEY, v INTEGER NOT NULL CHECK (v >= 0)) STRICT"])
        await #expect(throws: StoreError.self) {
            try await db.write { c in
                try c.statement("INSERT INTO kv VALUES ('a', 1)").run()
                try c.statement("INSERT INTO kv VALUES ('b', -1)").run()  // CHECK fails
            }
        }
        let count = try await db.read { c in
            let s = try c.statement("SELECT count(*) FROM kv")
            return try s.step() ? s.int(0) : -1
        }
        #expect(count == 0)
    }

    @Test("migrations apply once, in order, and refuse a newer schema")
    func migrations() async throws {
        let db = try database()
        try await db.migrate(module: "m", ["CREATE TABLE a (x INTEGER)", "CREATE TABLE b (y INTEGER)"])
        try await db.migrate(module: "m", ["CREATE TABLE a (x INTEGER)", "CREATE TABLE b (y INTEGER)"])
        #expect(try await db.schemaVersion(module: "m") == 2)
        let error = await #expect(throws: StoreError.self) { try await db.migrate(module: "m", ["CREATE TABLE a (x INTEGER)"]) }
        #expect(error?.code == .migration)
        let broken = await #expect(throws: StoreError.self) { try await db.migrate(module: "n", ["CREATE TABLE ok (x)", "NOT SQL"]) }
        #expect(broken?.code == .migration)
        #expect(try await db.schemaVersion(module: "n") == 1)
    }

    @Test("a database made before schema_migrations had a writer column gains it at open and records the writer")
    func writerColumnAdded() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("settle-old-\(UUID().uuidString).sqlite").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        do {  // the 0.14 layout
            let old = try SQLiteConnection(path: path)
            try old.execute("CREATE TABLE schema_migrations (module TEXT NOT NULL PRIMARY KEY, version INTEGER NOT NULL CHECK (version >= 0)) STRICT")
            try old.execute("INSERT INTO schema_migrations VALUES ('m', 1)")
            try old.execute("CREATE TABLE a (x INTEGER)")
        }
        let db = try Database(path: path)
        #expect(try await db.schemaVersion(module: "m") == 1)
        try await db.migrate(module: "m", ["CREATE TABLE a (x INTEGER)", "CREATE TABLE b (y INTEGER)"])
        let writer = try await db.read { c in
            let s = try c.statement("SELECT written_by FROM schema_migrations WHERE module = 'm'")
            return try s.step() ? s.text(0) : nil
        }
        #expect(writer == SettleVersion.current)
    }

    @Test("constraint violations are typed")
    func constraint() async throws {
        let db = try database()
        try await db.migrate(module: "t", ["CREATE TABLE u (k TEXT PRIMARY KEY) STRICT"])
        try await db.write { c in try c.statement("INSERT INTO u VALUES ('x')").run() }
        let error = await #expect(throws: StoreError.self) { try await db.write { c in try c.statement("INSERT INTO u VALUES ('x')").run() } }
        #expect(error?.code == .constraint)
    }

    @Test("an unsigned column holding a negative number (a damaged or hand-edited file) is corruptValue, never a trap")
    func negativeUnsigned() async throws {
        let db = try database()
        try await db.migrate(module: "t", ["CREATE TABLE n (v INTEGER)"])
        try await db.write { c in try c.statement("INSERT INTO n VALUES (?), (NULL), (?)").run([.integer(-1), .integer(Int64.max)]) }
        let values = try await db.read { c in
            let s = try c.statement("SELECT v FROM n ORDER BY rowid")
            var out: [Result<UInt64?, StoreError>] = []
            while try s.step() {
                do throws(StoreError) { out.append(.success(try s.optionalUInt64(0))) } catch { out.append(.failure(error)) }
            }
            return out
        }
        #expect(values.count == 3)
        guard case .failure(let error) = values[0] else { Issue.record("a negative number read as \(values[0])"); return }
        #expect(error.code == .corruptValue)
        #expect(try values[1].get() == nil)
        #expect(try values[2].get() == UInt64(Int64.max))
    }
}
