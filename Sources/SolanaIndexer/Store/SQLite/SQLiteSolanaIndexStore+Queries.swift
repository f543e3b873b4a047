import Solana
import Store

extension SQLiteSolanaIndexStore {
    public func events(chain: Int64, owner: SolanaPublicKey?, mint: SolanaPublicKey?, kinds: Set<TokenEvent.Kind>?) async throws -> [SolanaEventRecord] {
        try await database.read { db in
            let select = try db.statement("""
                SELECT \(Self.eventColumns) \(Self.eventJoins)
                WHERE e.chain = ?1 AND (?2 IS NULL OR o.key = ?2) AND (?3 IS NULL OR m.key = ?3)
                ORDER BY e.slot, e.signature, e.outer_index, e.inner_index
                """)
            select.bind(chain, at: 1)
            if let owner { select.bind(owner.bytes, at: 2) } else { select.bindNull(at: 2) }
            if let mint { select.bind(mint.bytes, at: 3) } else { select.bindNull(at: 3) }
            var out: [SolanaEventRecord] = []
            while try select.step() {
                let record = try Self.eventRecord(select)
                if let kinds, !kinds.contains(record.event.kind) { continue }
                out.append(record)
            }
            return out
        }
    }

    /// The columns `eventRecord` reads, in order (1-based: 1 signature, 2 slot, 13 outer index, 14 inner index).
    static let eventColumns = """
        e.signature, e.slot, e.block_time, o.key, e.kind, p.key, s.key, c.key, a.key, m.key, e.amount, e.decimals,
        e.outer_index, e.inner_index, t.status
        """

    /// `FROM` events `e` with the tables `eventColumns` read.
    static let eventJoins = """
        FROM sol_events e
        JOIN sol_transactions t ON t.chain = e.chain AND t.signature = e.signature
        JOIN sol_keys p ON p.id = e.program JOIN sol_keys s ON s.id = e.source JOIN sol_keys a ON a.id = e.authority
        LEFT JOIN sol_keys c ON c.id = e.counterparty LEFT JOIN sol_keys o ON o.id = e.owner LEFT JOIN sol_keys m ON m.id = e.mint
        """

    /// The event in the current row of a statement selecting `eventColumns`.
    static func eventRecord(_ select: SQLiteStatement) throws -> SolanaEventRecord {
        func optionalBlob(_ column: Int32) -> [UInt8]? { select.isNull(column) ? nil : select.blob(column) }
        return try Value.EventRow(
            signature: select.blob(0), slot: select.int64(1), blockTime: select.isNull(2) ? nil : select.int64(2), owner: optionalBlob(3),
            kind: select.text(4), program: select.blob(5), source: select.blob(6), counterparty: optionalBlob(7), authority: select.blob(8),
            mint: optionalBlob(9), amount: select.blob(10), decimals: select.isNull(11) ? nil : select.int64(11), outerIndex: select.int64(12),
            innerIndex: select.int64(13), status: select.text(14)
        ).record()
    }

    public func states(chain: Int64, owner: SolanaPublicKey, mint: SolanaPublicKey?) async throws -> [SolanaAccountState] {
        try await database.read { db in
            let select = try db.statement("""
                SELECT a.key, s.amount, d.key, s.delegated_amount, s.slot FROM sol_account_state s
                JOIN sol_token_accounts t ON t.chain = s.chain AND t.account = s.account
                JOIN sol_keys a ON a.id = s.account JOIN sol_keys o ON o.id = t.owner JOIN sol_keys m ON m.id = t.mint
                LEFT JOIN sol_keys d ON d.id = s.delegate
                WHERE s.chain = ?1 AND o.key = ?2 AND (?3 IS NULL OR m.key = ?3) ORDER BY a.key
                """)
            select.bind(chain, at: 1)
            select.bind(owner.bytes, at: 2)
            if let mint { select.bind(mint.bytes, at: 3) } else { select.bindNull(at: 3) }
            var out: [SolanaAccountState] = []
            while try select.step() {
                out.append(SolanaAccountState(
                    account: try Value.key(select.blob(0)), amount: try Value.u64(select.blob(1)),
                    delegate: select.isNull(2) ? nil : try Value.key(select.blob(2)), delegatedAmount: try Value.u64(select.blob(3)),
                    slot: try select.uint64(4)))
            }
            return out
        }
    }

    public func impliedDelegation(chain: Int64, account: SolanaPublicKey) async throws -> (delegate: SolanaPublicKey?, amount: UInt64) {
        let moves = try await database.read { db in
            let select = try db.statement("""
                SELECT e.kind, c.key, a.key, e.amount FROM sol_events e
                JOIN sol_transactions t ON t.chain = e.chain AND t.signature = e.signature AND t.failed = 0
                JOIN sol_keys s ON s.id = e.source JOIN sol_keys a ON a.id = e.authority LEFT JOIN sol_keys c ON c.id = e.counterparty
                WHERE e.chain = ? AND s.key = ? ORDER BY e.slot, e.signature, e.outer_index, e.inner_index
                """)
            select.bind(chain, at: 1)
            select.bind(account.bytes, at: 2)
            var out: [SolanaDelegationRule.Move] = []
            while try select.step() {
                guard let kind = TokenEvent.Kind(rawValue: select.text(0)) else { throw StoreError(.corruptValue, "event kind '\(select.text(0))'") }
                out.append(SolanaDelegationRule.Move(kind: kind, counterparty: select.isNull(1) ? nil : try Value.key(select.blob(1)),
                                                     authority: try Value.key(select.blob(2)), amount: try Value.u64(select.blob(3))))
            }
            return out
        }
        return SolanaDelegationRule.implied(moves)
    }
}
