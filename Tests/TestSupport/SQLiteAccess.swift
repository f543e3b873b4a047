import Settlement
import Store

extension Ledger {
    /// The SQLite file under a ledger made on one, for the tests that read query plans, copy the file or damage rows
    /// by hand.
    public var sqlite: Database {
        get throws {
            guard let database = database as? Database else { throw StoreError(.invalidLocation, "this ledger is not on SQLite") }
            return database
        }
    }
}
