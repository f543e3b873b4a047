import EVM
import SettleCore
import Store

extension EVMIndexStore {
    /// The store's id of the chain named `name`, or nil when it was never indexed.
    public func chainID(named name: String) async throws -> Int64? {
        try await database.read { db in
            let select = try db.statement("SELECT id FROM evm_chains WHERE name = ?")
            select.bind(name, at: 1)
            return try select.step() ? select.int64(0) : nil
        }
    }

    /// Indexed `Approval`s by `owner`, oldest first, optionally for one token and/or spender; a page of at most
    /// `limit` of them after the event at (`block`, `logIndex`) when `after` is given.
    public func allowanceHistory(chain: Int64, owner: EVMAddress, token: EVMAddress? = nil, spender: EVMAddress? = nil,
                                 after: (block: UInt64, logIndex: UInt64)? = nil, limit: Int? = nil) async throws -> [ApprovalRecord] {
        try await database.read { db in
            let select = try db.statement(Self.approvalColumns + """
                WHERE e.chain = ?1 AND o.address = ?2
                  AND (?3 IS NULL OR t.address = ?3) AND (?4 IS NULL OR s.address = ?4)
                  AND (e.block > ?5 OR (e.block = ?5 AND e.log_index > ?6))
                ORDER BY e.block, e.log_index LIMIT ?7
                """)
            select.bind(chain, at: 1)
            owner.withUnsafeBytes { select.bind(bytes: $0, at: 2) }
            if let token { token.withUnsafeBytes { select.bind(bytes: $0, at: 3) } } else { select.bindNull(at: 3) }
            if let spender { spender.withUnsafeBytes { select.bind(bytes: $0, at: 4) } } else { select.bindNull(at: 4) }
            // Past Int64 nothing is stored: clamp instead of trapping on a position from outside.
            select.bind(after.map { Int64(clamping: $0.block) } ?? -1, at: 5)
            select.bind(after.map { Int64(clamping: $0.logIndex) } ?? -1, at: 6)
            select.bind(Int64(clamping: limit ?? -1), at: 7)
            return try Self.eventRows(select, ApprovalRecord.init)
        }
    }

    /// Indexed approvals in `from...to`, in chain order (for replay and tests).
    public func approvals(chain: Int64, from: UInt64, to: UInt64) async throws -> [ApprovalRecord] {
        try await database.read { db in
            let select = try db.statement(Self.approvalColumns + "WHERE e.chain = ? AND e.block BETWEEN ? AND ? ORDER BY e.block, e.log_index")
            select.bind(chain, at: 1)
            select.bind(Int64(from), at: 2)
            select.bind(Int64(to), at: 3)
            return try Self.eventRows(select, ApprovalRecord.init)
        }
    }

    /// Indexed transfers in `from...to`, in chain order (for replay and tests).
    public func transfers(chain: Int64, from: UInt64, to: UInt64) async throws -> [TransferRecord] {
        try await database.read { db in
            let select = try db.statement("""
                SELECT e.block, e.log_index, e.block_time, e.tx_hash, t.address, f.address, r.address, e.value
                FROM evm_transfers e
                JOIN evm_addresses t ON t.id = e.token
                JOIN evm_addresses f ON f.id = e.sender
                JOIN evm_addresses r ON r.id = e.recipient
                WHERE e.chain = ? AND e.block BETWEEN ? AND ?
                ORDER BY e.block, e.log_index
                """)
            select.bind(chain, at: 1)
            select.bind(Int64(from), at: 2)
            select.bind(Int64(to), at: 3)
            return try Self.eventRows(select, TransferRecord.init)
        }
    }

    private static let approvalColumns = """
        SELECT e.block, e.log_index, e.block_time, e.tx_hash, t.address, o.address, s.address, e.value
        FROM evm_approvals e
        JOIN evm_addresses t ON t.id = e.token
        JOIN evm_addresses o ON o.id = e.owner
        JOIN evm_addresses s ON s.id = e.spender

        """

    /// Reads rows of (block, log index, time, tx hash, token, address, address, value) into event records.
    private static func eventRows<Row>(
        _ select: SQLiteStatement,
        _ make: (UInt64, UInt64, UInt64, Hash32, EVMAddress, EVMAddress, EVMAddress, UInt256) -> Row
    ) throws -> [Row] {
        var out: [Row] = []
        while try select.step() {
            out.append(make(
                try select.uint64(0), try select.uint64(1), try select.uint64(2), try hash(select.blob(3)),
                try address(select.blob(4)), try address(select.blob(5)), try address(select.blob(6)), try amount(select.blob(7))))
        }
        return out
    }

    /// Current allowances of `owner` as last read from the chain.
    public func currentAllowances(chain: Int64, owner: EVMAddress, token: EVMAddress? = nil, spender: EVMAddress? = nil) async throws -> [AllowanceState] {
        try await database.read { db in
            let select = try db.statement("""
                SELECT t.address, o.address, s.address, a.value, a.as_of_block
                FROM evm_allowances a
                JOIN evm_addresses t ON t.id = a.token
                JOIN evm_addresses o ON o.id = a.owner
                JOIN evm_addresses s ON s.id = a.spender
                WHERE a.chain = ?1 AND o.address = ?2
                  AND (?3 IS NULL OR t.address = ?3) AND (?4 IS NULL OR s.address = ?4)
                ORDER BY t.address, s.address
                """)
            select.bind(chain, at: 1)
            owner.withUnsafeBytes { select.bind(bytes: $0, at: 2) }
            if let token { token.withUnsafeBytes { select.bind(bytes: $0, at: 3) } } else { select.bindNull(at: 3) }
            if let spender { spender.withUnsafeBytes { select.bind(bytes: $0, at: 4) } } else { select.bindNull(at: 4) }
            var out: [AllowanceState] = []
            while try select.step() {
                out.append(AllowanceState(
                    token: try Self.address(select.blob(0)), owner: try Self.address(select.blob(1)),
                    spender: try Self.address(select.blob(2)), value: try Self.amount(select.blob(3)),
                    asOfBlock: try select.uint64(4)))
            }
            return out
        }
    }

    /// Current balances of `owner` as last read from the chain.
    public func balances(chain: Int64, owner: EVMAddress, token: EVMAddress? = nil) async throws -> [BalanceState] {
        try await database.read { db in
            let select = try db.statement("""
                SELECT t.address, o.address, b.value, b.as_of_block
                FROM evm_balances b
                JOIN evm_addresses t ON t.id = b.token
                JOIN evm_addresses o ON o.id = b.owner
                WHERE b.chain = ?1 AND o.address = ?2 AND (?3 IS NULL OR t.address = ?3)
                ORDER BY t.address
                """)
            select.bind(chain, at: 1)
            owner.withUnsafeBytes { select.bind(bytes: $0, at: 2) }
            if let token { token.withUnsafeBytes { select.bind(bytes: $0, at: 3) } } else { select.bindNull(at: 3) }
            var out: [BalanceState] = []
            while try select.step() {
                out.append(BalanceState(
                    token: try Self.address(select.blob(0)), owner: try Self.address(select.blob(1)),
                    value: try Self.amount(select.blob(2)), asOfBlock: try select.uint64(3)))
            }
            return out
        }
    }
}
