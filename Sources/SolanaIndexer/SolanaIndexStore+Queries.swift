import Solana
import Store

extension SolanaIndexStore {
    /// Indexed events, oldest first: of the token accounts of `owner` (optionally one mint), or all.
    public func events(chain: Int64, owner: SolanaPublicKey? = nil, mint: SolanaPublicKey? = nil, kinds: Set<TokenEvent.Kind>? = nil) async throws -> [SolanaEventRecord] {
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
        guard let kind = TokenEvent.Kind(rawValue: select.text(4)), let program = TokenProgram(programID: try key(select.blob(5))) else {
            throw StoreError(.corruptValue, "event kind or program")
        }
        let inner = select.int(13)
        let decimals = select.isNull(11) ? nil : select.int(11)
        guard decimals.map({ UInt8(exactly: $0) != nil }) ?? true else { throw StoreError(.corruptValue, "event decimals \(decimals ?? 0)") }
        let event = TokenEvent(
            kind: kind, program: program, source: try key(select.blob(6)),
            counterparty: select.isNull(7) ? nil : try key(select.blob(7)), authority: try key(select.blob(8)),
            mint: select.isNull(9) ? nil : try key(select.blob(9)), amount: try u64(select.blob(10)),
            decimals: decimals.flatMap { UInt8(exactly: $0) }, outerIndex: select.int(12), innerIndex: inner < 0 ? nil : inner)
        return SolanaEventRecord(
            signature: try signature(select.blob(0)), slot: try select.uint64(1),
            blockTime: try select.optionalUInt64(2), owner: select.isNull(3) ? nil : try key(select.blob(3)),
            event: event, final: select.text(14) == "finalized")
    }

    /// Token account states of `owner` (optionally one mint) as last read from the chain.
    public func states(chain: Int64, owner: SolanaPublicKey, mint: SolanaPublicKey? = nil) async throws -> [SolanaAccountState] {
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
                    account: try Self.key(select.blob(0)), amount: try Self.u64(select.blob(1)),
                    delegate: select.isNull(2) ? nil : try Self.key(select.blob(2)), delegatedAmount: try Self.u64(select.blob(3)),
                    slot: try select.uint64(4)))
            }
            return out
        }
    }

    /// The delegate and delegated amount the indexed events of `account` imply (SPL Token semantics: Approve sets
    /// both, Revoke clears, a transfer signed by the delegate spends from the delegation, which clears at zero).
    public func impliedDelegation(chain: Int64, account: SolanaPublicKey) async throws -> (delegate: SolanaPublicKey?, amount: UInt64) {
        let rows = try await database.read { db in
            let select = try db.statement("""
                SELECT e.kind, c.key, a.key, e.amount FROM sol_events e
                JOIN sol_transactions t ON t.chain = e.chain AND t.signature = e.signature AND t.failed = 0
                JOIN sol_keys s ON s.id = e.source JOIN sol_keys a ON a.id = e.authority LEFT JOIN sol_keys c ON c.id = e.counterparty
                WHERE e.chain = ? AND s.key = ? ORDER BY e.slot, e.signature, e.outer_index, e.inner_index
                """)
            select.bind(chain, at: 1)
            select.bind(account.bytes, at: 2)
            var out: [(String, SolanaPublicKey?, SolanaPublicKey, UInt64)] = []
            while try select.step() {
                out.append((select.text(0), select.isNull(1) ? nil : try Self.key(select.blob(1)), try Self.key(select.blob(2)), try Self.u64(select.blob(3))))
            }
            return out
        }
        var delegate: SolanaPublicKey?
        var amount: UInt64 = 0
        for (kind, counterparty, authority, value) in rows {
            switch kind {
            case "approve": delegate = counterparty; amount = value
            case "revoke": delegate = nil; amount = 0
            case "transfer" where delegate != nil && authority == delegate:
                amount = amount >= value ? amount - value : 0
                if amount == 0 { delegate = nil }
            default: break
            }
        }
        return (delegate, amount)
    }
}
