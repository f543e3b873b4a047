import PostgresNIO
import Solana

extension PostgresSolanaIndexStore {
    /// Read in SQL through `sol_events_by_party` as in SQLite: one range of the index for the delegate's events and
    /// one for revokes, each read in index order up to `limit` rows (its own `ORDER BY … LIMIT`, so PostgreSQL walks
    /// the index instead of sorting the wallet's whole history), merged, and only the page's rows joined to their keys
    /// (`page` first: with nine relations, past `join_collapse_limit`, PostgreSQL keeps the written join order, and
    /// written the other way round it joined the wallet's whole history before the page).
    /// A token filter is `source = ANY(ARRAY(…))` of the owner's accounts for the mint, not `source IN (…)`: as a join,
    /// with the events table analyzed and the few token-account rows not yet (autovacuum may never analyze them), the
    /// planner read the wallet's whole history and sorted it.
    /// Keys are looked up inside the statement: an owner or a mint never indexed matches nothing (an empty page), a
    /// delegate never indexed matches no approval or transfer (revokes still show).
    public func delegateHistory(chain: Int64, owner: SolanaPublicKey, delegate: SolanaPublicKey, mint: SolanaPublicKey?,
                                after: SolanaHistoryPosition?, limit: Int) async throws -> [SolanaEventRecord] {
        try await Self.mapped {
            guard limit > 0 else { return [] }
            let query = Self.delegateHistoryQuery(chain: chain, owner: owner, delegate: delegate, mint: mint, after: after, limit: limit)
            return try await Self.eventRecords(database.client.query(query, logger: logger))
        }
    }

    /// The statement of a `delegateHistory` page.
    static func delegateHistoryQuery(chain: Int64, owner: SolanaPublicKey, delegate: SolanaPublicKey, mint: SolanaPublicKey?,
                                     after: SolanaHistoryPosition?, limit: Int) -> PostgresQuery {
        var binds = PostgresBindings(capacity: 9)
        binds.append(chain)                                                          // $1
        binds.append(buffer(owner.bytes))                                           // $2
        binds.append(buffer(delegate.bytes))                                        // $3
        binds.append(buffer(mint?.bytes ?? []))                                      // $4 (unused without a mint)
        binds.append(after.map { Int64(clamping: $0.slot) } ?? -1)                   // $5
        binds.append(buffer(after?.signature.rawValue.bytes ?? []))                  // $6
        binds.append(Int64(after?.outerIndex ?? -1))                                 // $7
        binds.append(after.map { Value.inner($0.innerIndex) } ?? -2)                 // $8
        binds.append(Int64(limit))                                                   // $9
        let ownerID = "(SELECT id FROM sol_keys WHERE key = $2)"
        func arm(party: String) -> String {
            """
            (SELECT e.signature, e.slot, e.outer_index, e.inner_index FROM sol_events e
             WHERE e.chain = $1 AND e.owner = \(ownerID) AND \(PostgresSolanaIndexSchema.delegateParty) = \(party)
               \(mint == nil ? "" : "AND e.source = ANY(ARRAY(SELECT account FROM sol_token_accounts WHERE chain = $1 AND owner = \(ownerID) AND mint = (SELECT id FROM sol_keys WHERE key = $4)))")
               AND (e.slot, e.signature, e.outer_index, e.inner_index) > ($5, $6, $7, $8)
             ORDER BY e.slot, e.signature, e.outer_index, e.inner_index LIMIT $9)
            """
        }
        let sql = """
            WITH page AS (
            \(arm(party: "COALESCE((SELECT id FROM sol_keys WHERE key = $3), -1)"))
            UNION ALL
            \(arm(party: "0"))
            ORDER BY 2, 1, 3, 4 LIMIT $9)
            SELECT \(eventColumns)
            FROM page
            JOIN sol_events e ON e.chain = $1 AND e.signature = page.signature AND e.outer_index = page.outer_index AND e.inner_index = page.inner_index
            \(eventTableJoins)
            ORDER BY e.slot, e.signature, e.outer_index, e.inner_index
            """
        return PostgresQuery(unsafeSQL: sql, binds: binds)
    }
}
