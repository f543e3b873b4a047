import Logging
import PostgresNIO
import Solana
import Store

extension PostgresSolanaIndexStore {
    public func trackedAccounts(chain: Int64) async throws -> [TrackedTokenAccount] {
        try await Self.mapped {
            let rows = try await database.client.query("""
                SELECT a.key, o.key, m.key, p.key, t.newest_signature FROM sol_token_accounts t
                JOIN sol_keys a ON a.id = t.account JOIN sol_keys o ON o.id = t.owner
                JOIN sol_keys m ON m.id = t.mint JOIN sol_keys p ON p.id = t.program
                WHERE t.chain = \(chain) ORDER BY a.key
                """, logger: logger)
            var out: [TrackedTokenAccount] = []
            for try await (account, owner, mint, program, newest) in rows.decode((ByteBuffer, ByteBuffer, ByteBuffer, ByteBuffer, ByteBuffer?).self) {
                out.append(TrackedTokenAccount(
                    account: try Value.key(Self.bytes(account)), owner: try Value.key(Self.bytes(owner)), mint: try Value.key(Self.bytes(mint)),
                    program: try Value.program(Self.bytes(program)), newestSignature: try newest.map { buffer throws(StoreError) in try Value.signature(Self.bytes(buffer)) }))
            }
            return out
        }
    }

    public func known(chain: Int64, _ signatures: [SolanaSignature]) async throws -> Set<SolanaSignature> {
        try await Self.mapped {
            guard !signatures.isEmpty else { return [] }
            let rows = try await database.client.query("""
                SELECT signature FROM sol_transactions WHERE chain = \(chain) AND signature = ANY(\(signatures.map { Self.buffer($0.rawValue.bytes) }))
                """, logger: logger)
            var out = Set<SolanaSignature>()
            for try await signature in rows.decode(ByteBuffer.self) { out.insert(try Value.signature(Self.bytes(signature))) }
            return out
        }
    }

    public func unfinalized(chain: Int64) async throws -> [(signature: SolanaSignature, slot: UInt64)] {
        try await Self.mapped {
            let rows = try await database.client.query("""
                SELECT signature, slot FROM sol_transactions WHERE chain = \(chain) AND status = 'confirmed' ORDER BY slot
                """, logger: logger)
            var out: [(signature: SolanaSignature, slot: UInt64)] = []
            for try await (signature, slot) in rows.decode((ByteBuffer, Int64).self) {
                out.append((try Value.signature(Self.bytes(signature)), try Value.unsigned(slot, "slot")))
            }
            return out
        }
    }

    public func events(chain: Int64, owner: SolanaPublicKey?, mint: SolanaPublicKey?, kinds: Set<TokenEvent.Kind>?) async throws -> [SolanaEventRecord] {
        try await Self.mapped {
            var query = Query("SELECT \(Self.eventColumns) \(Self.eventJoins) WHERE e.chain = ")
            query.bind(chain)
            if let owner {
                query.sql += " AND o.key = "
                query.bind(Self.buffer(owner.bytes))
            }
            if let mint {
                query.sql += " AND m.key = "
                query.bind(Self.buffer(mint.bytes))
            }
            if let kinds {
                query.sql += " AND e.kind = ANY("
                query.bind(kinds.map(\.rawValue).sorted())
                query.sql += ")"
            }
            query.sql += " ORDER BY e.slot, e.signature, e.outer_index, e.inner_index"
            return try await Self.eventRecords(database.client.query(query.postgres, logger: logger))
        }
    }

    public func states(chain: Int64, owner: SolanaPublicKey, mint: SolanaPublicKey?) async throws -> [SolanaAccountState] {
        try await Self.mapped {
            var query = Query("""
                SELECT a.key, s.amount, d.key, s.delegated_amount, s.slot FROM sol_account_state s
                JOIN sol_token_accounts t ON t.chain = s.chain AND t.account = s.account
                JOIN sol_keys a ON a.id = s.account JOIN sol_keys o ON o.id = t.owner JOIN sol_keys m ON m.id = t.mint
                LEFT JOIN sol_keys d ON d.id = s.delegate
                WHERE s.chain =
                """)
            query.bind(chain)
            query.sql += " AND o.key = "
            query.bind(Self.buffer(owner.bytes))
            if let mint {
                query.sql += " AND m.key = "
                query.bind(Self.buffer(mint.bytes))
            }
            query.sql += " ORDER BY a.key"
            let rows = try await database.client.query(query.postgres, logger: logger)
            var out: [SolanaAccountState] = []
            for try await (account, amount, delegate, delegated, slot) in rows.decode((ByteBuffer, ByteBuffer, ByteBuffer?, ByteBuffer, Int64).self) {
                out.append(SolanaAccountState(
                    account: try Value.key(Self.bytes(account)), amount: try Value.u64(Self.bytes(amount)),
                    delegate: try delegate.map { buffer throws(StoreError) in try Value.key(Self.bytes(buffer)) },
                    delegatedAmount: try Value.u64(Self.bytes(delegated)), slot: try Value.unsigned(slot, "slot")))
            }
            return out
        }
    }

    public func impliedDelegation(chain: Int64, account: SolanaPublicKey) async throws -> (delegate: SolanaPublicKey?, amount: UInt64) {
        try await Self.mapped {
            let rows = try await database.client.query("""
                SELECT e.kind, c.key, a.key, e.amount FROM sol_events e
                JOIN sol_transactions t ON t.chain = e.chain AND t.signature = e.signature AND NOT t.failed
                JOIN sol_keys s ON s.id = e.source JOIN sol_keys a ON a.id = e.authority LEFT JOIN sol_keys c ON c.id = e.counterparty
                WHERE e.chain = \(chain) AND s.key = \(Self.buffer(account.bytes)) ORDER BY e.slot, e.signature, e.outer_index, e.inner_index
                """, logger: logger)
            var moves: [SolanaDelegationRule.Move] = []
            for try await (kind, counterparty, authority, amount) in rows.decode((String, ByteBuffer?, ByteBuffer, ByteBuffer).self) {
                guard let kind = TokenEvent.Kind(rawValue: kind) else { throw StoreError(.corruptValue, "event kind '\(kind)'") }
                moves.append(SolanaDelegationRule.Move(
                    kind: kind, counterparty: try counterparty.map { buffer throws(StoreError) in try Value.key(Self.bytes(buffer)) },
                    authority: try Value.key(Self.bytes(authority)), amount: try Value.u64(Self.bytes(amount))))
            }
            return SolanaDelegationRule.implied(moves)
        }
    }

    public func eventsBySignature(chain: Int64, fromSlot: UInt64, toSlot: UInt64) async throws -> [SolanaSignature: [TokenEvent]] {
        let (from, to) = (Int64(clamping: fromSlot), Int64(clamping: toSlot))
        let logger = self.logger
        // One snapshot for both reads: a transaction settled in between neither loses nor gains its events.
        return try await transaction { connection in
            try await connection.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY", logger: logger)
            var result: [SolanaSignature: [TokenEvent]] = [:]
            let signatures = try await connection.query("""
                SELECT signature FROM sol_transactions WHERE chain = \(chain) AND slot BETWEEN \(from) AND \(to)
                """, logger: logger)
            for try await signature in signatures.decode(ByteBuffer.self) { result[try Value.signature(Self.bytes(signature))] = [] }
            let events = try await connection.query("""
                SELECT \(unescaped: Self.eventColumns) \(unescaped: Self.eventJoins)
                WHERE e.chain = \(chain) AND e.slot BETWEEN \(from) AND \(to) ORDER BY e.slot, e.signature, e.outer_index, e.inner_index
                """, logger: logger)
            for record in try await Self.eventRecords(events) { result[record.signature, default: []].append(record.event) }
            return result
        }
    }

    // MARK: - Events

    /// The columns `eventRecords` reads, in order (1-based: 1 signature, 2 slot, 13 outer index, 14 inner index).
    static let eventColumns = """
        e.signature, e.slot, e.block_time, o.key, e.kind, p.key, s.key, c.key, a.key, m.key, e.amount, e.decimals,
        e.outer_index, e.inner_index, t.status
        """

    /// `FROM` events `e` with the tables `eventColumns` read.
    static let eventJoins = "FROM sol_events e\n" + eventTableJoins

    /// The joins from events `e` to the tables `eventColumns` read.
    static let eventTableJoins = """
        JOIN sol_transactions t ON t.chain = e.chain AND t.signature = e.signature
        JOIN sol_keys p ON p.id = e.program JOIN sol_keys s ON s.id = e.source JOIN sol_keys a ON a.id = e.authority
        LEFT JOIN sol_keys c ON c.id = e.counterparty LEFT JOIN sol_keys o ON o.id = e.owner LEFT JOIN sol_keys m ON m.id = e.mint
        """

    /// The events of rows selecting `eventColumns`, checked.
    static func eventRecords(_ rows: PostgresRowSequence) async throws -> [SolanaEventRecord] {
        var out: [SolanaEventRecord] = []
        for try await row in rows {
            let (signature, slot, blockTime, owner, kind, program, source, counterparty, authority, mint, amount, decimals, outer, inner, status) =
                try row.decode((ByteBuffer, Int64, Int64?, ByteBuffer?, String, ByteBuffer, ByteBuffer, ByteBuffer?, ByteBuffer, ByteBuffer?,
                                ByteBuffer, Int64?, Int64, Int64, String).self)
            out.append(try Value.EventRow(
                signature: bytes(signature), slot: slot, blockTime: blockTime, owner: owner.map(bytes), kind: kind, program: bytes(program),
                source: bytes(source), counterparty: counterparty.map(bytes), authority: bytes(authority), mint: mint.map(bytes), amount: bytes(amount),
                decimals: decimals, outerIndex: outer, innerIndex: inner, status: status
            ).record())
        }
        return out
    }

    /// SQL text and its bindings built a piece at a time: `bind` appends the value's placeholder (`$n`) to the text.
    struct Query {
        var sql: String
        var binds = PostgresBindings()

        init(_ sql: String) { self.sql = sql }

        mutating func bind<Value: PostgresDynamicTypeEncodable>(_ value: Value) {
            binds.append(value)
            sql += "$\(binds.count)"
        }

        var postgres: PostgresQuery { PostgresQuery(unsafeSQL: sql, binds: binds) }
    }
}
