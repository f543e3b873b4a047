import EVM
import PostgresNIO
import SettleCore
import Store

extension PostgresEVMIndexStore {
    public func chainID(named name: String) async throws -> Int64? {
        for try await id in try await database.client.query("SELECT id FROM evm_chains WHERE name = \(name)", logger: logger).decode(Int64.self) {
            return id
        }
        return nil
    }

    /// A page reads about `limit` rows: they come from `evm_approvals_by_owner_spender` in order (with a spender, as the
    /// API always asks), then each row's addresses by id.
    public func allowanceHistory(chain: Int64, owner: EVMAddress, token: EVMAddress?, spender: EVMAddress?,
                                 after: (block: UInt64, logIndex: UInt64)?, limit: Int?) async throws -> [ApprovalRecord] {
        let rows = try await database.client.query(
            Self.allowanceHistoryQuery(chain: chain, owner: owner, token: token, spender: spender, after: after, limit: limit), logger: logger)
        return try await Self.eventRows(rows, ApprovalRecord.init)
    }

    /// The query of an allowance-history page. An address that was never indexed matches no id, so no row. SPI so a
    /// benchmark can EXPLAIN the very query a page runs rather than a copy of it.
    @_spi(Explain) public static func allowanceHistoryQuery(chain: Int64, owner: EVMAddress, token: EVMAddress?, spender: EVMAddress?,
                                      after: (block: UInt64, logIndex: UInt64)?, limit: Int?) -> PostgresQuery {
        var binds = PostgresBindings(capacity: 7)
        binds.append(chain)
        binds.append(buffer(owner))
        var filters = ""
        if let spender {
            binds.append(buffer(spender))
            filters += " AND spender = (SELECT id FROM evm_addresses WHERE address = $\(binds.count))"
        }
        if let token {
            binds.append(buffer(token))
            filters += " AND token = (SELECT id FROM evm_addresses WHERE address = $\(binds.count))"
        }
        // Past Int64 nothing is stored: clamp instead of trapping on a position from outside. No limit is LIMIT NULL.
        binds.append(after.map { Int64(clamping: $0.block) } ?? -1)
        binds.append(after.map { Int64(clamping: $0.logIndex) } ?? -1)
        binds.append(limit.map { Int64(max(0, $0)) })
        let position = binds.count - 2
        // The addresses come from subqueries per row, not joins, so the page keeps the index's order without a sort.
        return PostgresQuery(unsafeSQL: """
            SELECT e.block, e.log_index, e.block_time, e.tx_hash,
                (SELECT address FROM evm_addresses WHERE id = e.token), (SELECT address FROM evm_addresses WHERE id = e.owner),
                (SELECT address FROM evm_addresses WHERE id = e.spender), e.value
            FROM (
                SELECT block, log_index, block_time, tx_hash, token, owner, spender, value FROM evm_approvals
                WHERE chain = $1 AND owner = (SELECT id FROM evm_addresses WHERE address = $2)\(filters)
                AND (block, log_index) > ($\(position)::BIGINT, $\(position + 1)::BIGINT)
                ORDER BY block, log_index LIMIT $\(position + 2)::BIGINT
            ) e
            ORDER BY e.block, e.log_index
            """, binds: binds)
    }

    public func approvals(chain: Int64, from: UInt64, to: UInt64) async throws -> [ApprovalRecord] {
        let rows = try await database.client.query("""
            SELECT e.block, e.log_index, e.block_time, e.tx_hash, t.address, o.address, s.address, e.value
            FROM evm_approvals e
            JOIN evm_addresses t ON t.id = e.token
            JOIN evm_addresses o ON o.id = e.owner
            JOIN evm_addresses s ON s.id = e.spender
            WHERE e.chain = \(chain) AND e.block BETWEEN \(Int64(clamping: from)) AND \(Int64(clamping: to))
            ORDER BY e.block, e.log_index
            """, logger: logger)
        return try await Self.eventRows(rows, ApprovalRecord.init)
    }

    public func transfers(chain: Int64, from: UInt64, to: UInt64) async throws -> [TransferRecord] {
        let rows = try await database.client.query("""
            SELECT e.block, e.log_index, e.block_time, e.tx_hash, t.address, f.address, r.address, e.value
            FROM evm_transfers e
            JOIN evm_addresses t ON t.id = e.token
            JOIN evm_addresses f ON f.id = e.sender
            JOIN evm_addresses r ON r.id = e.recipient
            WHERE e.chain = \(chain) AND e.block BETWEEN \(Int64(clamping: from)) AND \(Int64(clamping: to))
            ORDER BY e.block, e.log_index
            """, logger: logger)
        return try await Self.eventRows(rows, TransferRecord.init)
    }

    /// Reads rows of (block, log index, time, tx hash, token, address, address, value) into event records.
    private static func eventRows<Row>(
        _ rows: PostgresRowSequence,
        _ make: (UInt64, UInt64, UInt64, Hash32, EVMAddress, EVMAddress, EVMAddress, UInt256) -> Row
    ) async throws -> [Row] {
        var out: [Row] = []
        let typed = rows.decode((Int64, Int64, Int64, ByteBuffer, ByteBuffer, ByteBuffer, ByteBuffer, ByteBuffer).self)
        for try await (block, logIndex, time, hash, token, first, second, value) in typed {
            out.append(make(
                try StoredEVMValue.unsigned(block, "block"), try StoredEVMValue.unsigned(logIndex, "log_index"),
                try StoredEVMValue.unsigned(time, "block_time"), try StoredEVMValue.hash(bytes(hash)),
                try StoredEVMValue.address(bytes(token)), try StoredEVMValue.address(bytes(first)), try StoredEVMValue.address(bytes(second)),
                try StoredEVMValue.amount(bytes(value))))
        }
        return out
    }

    public func currentAllowances(chain: Int64, owner: EVMAddress, token: EVMAddress?, spender: EVMAddress?) async throws -> [AllowanceState] {
        let rows = try await database.client.query(Self.currentAllowancesQuery(chain: chain, owner: owner, token: token, spender: spender), logger: logger)
        var out: [AllowanceState] = []
        for try await (token, owner, spender, value, block) in rows.decode((ByteBuffer, ByteBuffer, ByteBuffer, ByteBuffer, Int64).self) {
            out.append(AllowanceState(
                token: try StoredEVMValue.address(Self.bytes(token)), owner: try StoredEVMValue.address(Self.bytes(owner)),
                spender: try StoredEVMValue.address(Self.bytes(spender)), value: try StoredEVMValue.amount(Self.bytes(value)),
                asOfBlock: try StoredEVMValue.unsigned(block, "as_of_block")))
        }
        return out
    }

    public func balances(chain: Int64, owner: EVMAddress, token: EVMAddress?) async throws -> [BalanceState] {
        let rows = try await database.client.query(Self.balancesQuery(chain: chain, owner: owner, token: token), logger: logger)
        var out: [BalanceState] = []
        for try await (token, owner, value, block) in rows.decode((ByteBuffer, ByteBuffer, ByteBuffer, Int64).self) {
            out.append(BalanceState(
                token: try StoredEVMValue.address(Self.bytes(token)), owner: try StoredEVMValue.address(Self.bytes(owner)),
                value: try StoredEVMValue.amount(Self.bytes(value)), asOfBlock: try StoredEVMValue.unsigned(block, "as_of_block")))
        }
        return out
    }

    /// The query of `currentAllowances`: the owner's rows through `evm_allowances_by_owner`.
    static func currentAllowancesQuery(chain: Int64, owner: EVMAddress, token: EVMAddress?, spender: EVMAddress?) -> PostgresQuery {
        var binds = PostgresBindings(capacity: 4)
        binds.append(chain)
        binds.append(buffer(owner))
        var filters = ""
        if let spender {
            binds.append(buffer(spender))
            filters += " AND a.spender = (SELECT id FROM evm_addresses WHERE address = $\(binds.count))"
        }
        if let token {
            binds.append(buffer(token))
            filters += " AND a.token = (SELECT id FROM evm_addresses WHERE address = $\(binds.count))"
        }
        return PostgresQuery(unsafeSQL: """
            SELECT t.address, o.address, s.address, a.value, a.as_of_block
            FROM evm_allowances a
            JOIN evm_addresses t ON t.id = a.token
            JOIN evm_addresses o ON o.id = a.owner
            JOIN evm_addresses s ON s.id = a.spender
            WHERE a.chain = $1 AND a.owner = (SELECT id FROM evm_addresses WHERE address = $2)\(filters)
            ORDER BY t.address, s.address
            """, binds: binds)
    }

    /// The query of `balances`: the owner's rows through `evm_balances_by_owner`.
    static func balancesQuery(chain: Int64, owner: EVMAddress, token: EVMAddress?) -> PostgresQuery {
        var binds = PostgresBindings(capacity: 3)
        binds.append(chain)
        binds.append(buffer(owner))
        if let token { binds.append(buffer(token)) }
        return PostgresQuery(unsafeSQL: """
            SELECT t.address, o.address, b.value, b.as_of_block
            FROM evm_balances b
            JOIN evm_addresses t ON t.id = b.token
            JOIN evm_addresses o ON o.id = b.owner
            WHERE b.chain = $1 AND b.owner = (SELECT id FROM evm_addresses WHERE address = $2)\(
                token == nil ? "" : " AND b.token = (SELECT id FROM evm_addresses WHERE address = $3)")
            ORDER BY t.address
            """, binds: binds)
    }
}
