import EVM
import SettleCore
import Store

extension SQLiteEVMIndexStore {
    public func chainID(named name: String) async throws -> Int64? {
        try await database.read { db in
            let select = try db.statement("SELECT id FROM evm_chains WHERE name = ?")
            select.bind(name, at: 1)
            return try select.step() ? select.int64(0) : nil
        }
    }

    /// A page reads about `limit` rows: the positions come from `evm_approvals_by_owner_spender` in order (with a
    /// spender, as the API always asks), then each row by its key.
    public func allowanceHistory(chain: Int64, owner: EVMAddress, token: EVMAddress?, spender: EVMAddress?,
                                 after: (block: UInt64, logIndex: UInt64)?, limit: Int?) async throws -> [ApprovalRecord] {
        try await database.read { db in
            guard let query = try Self.allowanceHistoryKeys(db, chain: chain, owner: owner, token: token, spender: spender, after: after, limit: limit)
            else { return [] }
            let keys = try db.statement(query.sql)
            keys.bind(query.values)
            var positions: [(block: Int64, logIndex: Int64)] = []
            while try keys.step() { positions.append((keys.int64(0), keys.int64(1))) }
            let row = try db.statement(Self.approvalColumns + "WHERE e.chain = ? AND e.block = ? AND e.log_index = ?")
            var out: [ApprovalRecord] = []
            for position in positions {
                row.reset()
                row.bind([.integer(chain), .integer(position.block), .integer(position.logIndex)])
                out += try Self.eventRows(row, ApprovalRecord.init)
            }
            return out
        }
    }

    /// The SQL and values that list the positions (block, log index) of an allowance-history page, in order; nil when
    /// an address asked for was never indexed (no approval can name it). SPI so a benchmark can EXPLAIN the very query
    /// a page runs rather than a copy of it.
    @_spi(Explain) public static func allowanceHistoryKeys(_ db: SQLiteConnection, chain: Int64, owner: EVMAddress, token: EVMAddress?, spender: EVMAddress?,
                                     after: (block: UInt64, logIndex: UInt64)?, limit: Int?) throws -> (sql: String, values: [SQLiteValue])? {
        guard let ownerID = try addressID(db, owner) else { return nil }
        var filters = ""
        var tokenID: Int64?
        var spenderID: Int64?
        if let spender {
            guard let id = try addressID(db, spender) else { return nil }
            spenderID = id
            filters += "AND spender = ?4 "
        }
        if let token {
            guard let id = try addressID(db, token) else { return nil }
            tokenID = id
            filters += "AND token = ?3 "
        }
        let sql = """
            SELECT block, log_index FROM evm_approvals
            WHERE chain = ?1 AND owner = ?2 \(filters)AND (block, log_index) > (?5, ?6)
            ORDER BY block, log_index LIMIT ?7
            """
        // Past Int64 nothing is stored: clamp instead of trapping on a position from outside.
        return (sql, [
            .integer(chain), .integer(ownerID), tokenID.map { .integer($0) } ?? .null, spenderID.map { .integer($0) } ?? .null,
            .integer(after.map { Int64(clamping: $0.block) } ?? -1), .integer(after.map { Int64(clamping: $0.logIndex) } ?? -1),
            .integer(Int64(clamping: limit ?? -1)),
        ])
    }

    /// The interned id of `address`, or nil when no indexed row names it.
    static func addressID(_ db: SQLiteConnection, _ address: EVMAddress) throws -> Int64? {
        let select = try db.statement("SELECT id FROM evm_addresses WHERE address = ?")
        address.withUnsafeBytes { select.bind(bytes: $0, at: 1) }
        defer { select.reset() }
        return try select.step() ? select.int64(0) : nil
    }

    public func approvals(chain: Int64, from: UInt64, to: UInt64) async throws -> [ApprovalRecord] {
        try await database.read { db in
            let select = try db.statement(Self.approvalColumns + "WHERE e.chain = ? AND e.block BETWEEN ? AND ? ORDER BY e.block, e.log_index")
            select.bind(chain, at: 1)
            select.bind(Int64(clamping: from), at: 2)
            select.bind(Int64(clamping: to), at: 3)
            return try Self.eventRows(select, ApprovalRecord.init)
        }
    }

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
            select.bind(Int64(clamping: from), at: 2)
            select.bind(Int64(clamping: to), at: 3)
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

    public func currentAllowances(chain: Int64, owner: EVMAddress, token: EVMAddress?, spender: EVMAddress?) async throws -> [AllowanceState] {
        try await database.read { db in
            guard let query = try Self.currentAllowancesQuery(db, chain: chain, owner: owner, token: token, spender: spender) else { return [] }
            let select = try db.statement(query.sql)
            select.bind(query.values)
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

    public func balances(chain: Int64, owner: EVMAddress, token: EVMAddress?) async throws -> [BalanceState] {
        try await database.read { db in
            guard let query = try Self.balancesQuery(db, chain: chain, owner: owner, token: token) else { return [] }
            let select = try db.statement(query.sql)
            select.bind(query.values)
            var out: [BalanceState] = []
            while try select.step() {
                out.append(BalanceState(
                    token: try Self.address(select.blob(0)), owner: try Self.address(select.blob(1)),
                    value: try Self.amount(select.blob(2)), asOfBlock: try select.uint64(3)))
            }
            return out
        }
    }

    /// The SQL and values of `currentAllowances` (nil when an address asked for was never indexed): the owner's rows
    /// through `evm_allowances_by_owner`, which holds every column read, so neither a scan of every tracked wallet's
    /// allowances nor a lookup per row.
    static func currentAllowancesQuery(_ db: SQLiteConnection, chain: Int64, owner: EVMAddress, token: EVMAddress?,
                                       spender: EVMAddress?) throws -> (sql: String, values: [SQLiteValue])? {
        guard let ownerID = try addressID(db, owner) else { return nil }
        var values: [SQLiteValue] = [.integer(chain), .integer(ownerID), .null, .null]
        var filters = ""
        if let spender {
            guard let id = try addressID(db, spender) else { return nil }
            values[3] = .integer(id)
            filters += " AND a.spender = ?4"
        }
        if let token {
            guard let id = try addressID(db, token) else { return nil }
            values[2] = .integer(id)
            filters += " AND a.token = ?3"
        }
        let sql = """
            SELECT t.address, o.address, s.address, a.value, a.as_of_block
            FROM evm_allowances a
            JOIN evm_addresses t ON t.id = a.token
            JOIN evm_addresses o ON o.id = a.owner
            JOIN evm_addresses s ON s.id = a.spender
            WHERE a.chain = ?1 AND a.owner = ?2\(filters)
            ORDER BY t.address, s.address
            """
        return (sql, values)
    }

    /// The SQL and values of `balances` (nil when an address asked for was never indexed), through
    /// `evm_balances_by_owner` like `currentAllowancesQuery`.
    static func balancesQuery(_ db: SQLiteConnection, chain: Int64, owner: EVMAddress, token: EVMAddress?) throws -> (sql: String, values: [SQLiteValue])? {
        guard let ownerID = try addressID(db, owner) else { return nil }
        var values: [SQLiteValue] = [.integer(chain), .integer(ownerID), .null]
        if let token {
            guard let id = try addressID(db, token) else { return nil }
            values[2] = .integer(id)
        }
        let sql = """
            SELECT t.address, o.address, b.value, b.as_of_block
            FROM evm_balances b
            JOIN evm_addresses t ON t.id = b.token
            JOIN evm_addresses o ON o.id = b.owner
            WHERE b.chain = ?1 AND b.owner = ?2\(token == nil ? "" : " AND b.token = ?3")
            ORDER BY t.address
            """
        return (sql, values)
    }
}
