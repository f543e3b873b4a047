import Solana
import Store

extension SQLiteSolanaIndexStore {
    /// Read in SQL through `sol_events_by_party`: one range of the index for the delegate's events and one for
    /// revokes, merged in order, so a page reads about `limit` rows however long the wallet's history is.
    public func delegateHistory(chain: Int64, owner: SolanaPublicKey, delegate: SolanaPublicKey, mint: SolanaPublicKey?,
                                after: SolanaHistoryPosition?, limit: Int) async throws -> [SolanaEventRecord] {
        try await database.read { db in
            guard let query = try Self.delegateHistoryQuery(db, chain: chain, owner: owner, delegate: delegate, mint: mint, after: after, limit: limit)
            else { return [] }
            let select = try db.statement(query.sql)
            select.bind(query.values)
            var out: [SolanaEventRecord] = []
            while try select.step() { out.append(try Self.eventRecord(select)) }
            return out
        }
    }

    /// The SQL and values of a `delegateHistory` page (nil when the owner or the mint has never been indexed).
    static func delegateHistoryQuery(_ db: SQLiteConnection, chain: Int64, owner: SolanaPublicKey, delegate: SolanaPublicKey, mint: SolanaPublicKey?,
                                     after: SolanaHistoryPosition?, limit: Int) throws -> (sql: String, values: [SQLiteValue])? {
        guard let ownerID = try keyID(db, owner) else { return nil }
        var mintID: Int64?
        if let mint {
            guard let id = try keyID(db, mint) else { return nil }
            mintID = id
        }
        // A delegate that never appeared in an event matches none (key ids start at 1; revokes are party 0).
        let delegateID = try keyID(db, delegate) ?? -1
        let values: [SQLiteValue] = [
            .integer(chain), .integer(ownerID), .integer(delegateID), mintID.map { .integer($0) } ?? .null,
            .integer(after.map { Int64(clamping: $0.slot) } ?? -1), .blob(after?.signature.rawValue.bytes ?? []),
            .integer(Int64(after?.outerIndex ?? -1)), .integer(Int64(after.map { $0.innerIndex ?? -1 } ?? -2)),
            .integer(Int64(limit)),
        ]
        func arm(party: String) -> String {
            """
            SELECT \(eventColumns) \(eventJoins)
            WHERE e.chain = ?1 AND e.owner = ?2 AND \(SQLiteSolanaIndexSchema.delegateParty) = \(party)
              \(mintID == nil ? "" : "AND e.source IN (SELECT account FROM sol_token_accounts WHERE chain = ?1 AND owner = ?2 AND mint = ?4)")
              AND (e.slot, e.signature, e.outer_index, e.inner_index) > (?5, ?6, ?7, ?8)
            """
        }
        // Column numbers: 2 slot, 1 signature, 13 outer_index, 14 inner_index (the history's order).
        return (arm(party: "?3") + "\nUNION ALL\n" + arm(party: "0") + "\nORDER BY 2, 1, 13, 14 LIMIT ?9", values)
    }

    static func keyID(_ db: SQLiteConnection, _ key: SolanaPublicKey) throws -> Int64? {
        let select = try db.statement("SELECT id FROM sol_keys WHERE key = ?")
        select.bind(key.bytes, at: 1)
        defer { select.reset() }
        return try select.step() ? select.int64(0) : nil
    }
}
