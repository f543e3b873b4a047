import EVMIndexer
import Store
import TestSupport
import Testing

/// Issue 14: the index's bulk mode for a backfill must not turn foreign-key enforcement off on the writer
/// connection that every other module (the ledger above all) writes through.
@Suite("Bulk backfill mode keeps the shared writer's rules")
struct BulkModeTests {
    @Test("during bulk mode, another module's write that breaks a foreign key is still refused")
    func foreignKeysStayOn() async throws {
        let database = try Database(path: try temporaryDirectory("settle-bulk").appendingPathComponent("db").path)
        let store = SQLiteEVMIndexStore(database: database)
        try await store.migrate()
        try await database.writeRaw { db in
            try db.execute("CREATE TABLE parents (id INTEGER PRIMARY KEY) STRICT; CREATE TABLE children (parent INTEGER NOT NULL REFERENCES parents(id)) STRICT")
        }
        try await store.bulkMode(true)
        await #expect(throws: StoreError.self) {
            try await database.write { db in try db.execute("INSERT INTO children(parent) VALUES (42)") }
        }
        try await store.bulkMode(false)
    }
}
