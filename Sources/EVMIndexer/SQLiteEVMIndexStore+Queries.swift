import EVM
import SettleCore
import Store

extension SQLiteEVMIndexStore {
    public func chainID(named name: String) async throws -> Int64? {
        try await database.read { db in try Self.chainID(db, named: name) }
    }

    static func chainID(_ db: SQLiteConnection, named name: String) throws -> Int64? {
        let select = try db.statement("SELECT id FROM evm_chains WHERE name = ?")
        select.bind(name, at: 1)
        defer { select.reset() }
        return try select.step() ? select.int64(0) : nil
    }

    /// A page reads about `limit` rows: one statement, its positions from `evm_approvals_by_owner_spender` in order
    /// (with a spender, as the API always asks), then each row by its key; each distinct address id read once.
    public func allowanceHistory(chain: Int64, owner: EVMAddress, token: EVMAddress?, spender: EVMAddress?,
                                 after: (block: UInt64, logIndex: UInt64)?, limit: Int?) async throws -> [ApprovalRecord] {
        try await database.read { db in
            guard let wallet = try Self.walletFilter(db, owner: owner, token: token, spender: spender) else { return [] }
            return try Self.historyRows(db, chain: chain, wallet, owner: owner, after: after, limit: limit)
        }
    }

    /// One trip to a reader and one snapshot for what an API answer shows: the chain's id, the wallet's address ids
    /// (looked up once for both queries), its current allowances, and a page of its history.
    public func allowancePage(chain name: String, owner: EVMAddress, token: EVMAddress?, spender: EVMAddress?,
                              after: (block: UInt64, logIndex: UInt64)?, limit: Int) async throws -> AllowancePageRows? {
        try await database.read { db in
            guard let chain = try Self.chainID(db, named: name) else { return nil }
            guard let wallet = try Self.walletFilter(db, owner: owner, token: token, spender: spender) else {
                return AllowancePageRows(current: [], history: [])
            }
            return AllowancePageRows(current: try Self.currentAllowanceRows(db, Self.currentAllowancesQuery(chain: chain, wallet)),
                                     history: try Self.historyRows(db, chain: chain, wallet, owner: owner, after: after, limit: limit))
        }
    }

    /// The address ids a wallet's query filters on.
    struct WalletFilter {
        var owner: Int64
        var token: Int64?
        var spender: Int64?
        /// The addresses behind those ids.
        var known: [Int64: EVMAddress]
    }

    /// The ids of `owner` and of the token and spender asked for; nil when one of them was never indexed (no row can
    /// name it).
    static func walletFilter(_ db: SQLiteConnection, owner: EVMAddress, token: EVMAddress?, spender: EVMAddress?) throws -> WalletFilter? {
        guard let ownerID = try addressID(db, owner) else { return nil }
        var filter = WalletFilter(owner: ownerID, known: [ownerID: owner])
        if let spender {
            guard let id = try addressID(db, spender) else { return nil }
            filter.spender = id
            filter.known[id] = spender
        }
        if let token {
            guard let id = try addressID(db, token) else { return nil }
            filter.token = id
            filter.known[id] = token
        }
        return filter
    }

    /// The SQL and values of an allowance-history page (nil when an address asked for was never indexed). SPI so a
    /// benchmark and the plan tests EXPLAIN the very query a page runs rather than a copy of it.
    @_spi(Explain) public static func allowanceHistoryQuery(_ db: SQLiteConnection, chain: Int64, owner: EVMAddress, token: EVMAddress?,
                                                           spender: EVMAddress?, after: (block: UInt64, logIndex: UInt64)?,
                                                           limit: Int?) throws -> (sql: String, values: [SQLiteValue])? {
        try walletFilter(db, owner: owner, token: token, spender: spender).map { allowanceHistoryQuery(chain: chain, $0, after: after, limit: limit) }
    }

    /// The positions come from the secondary index in a subquery, then each row by its primary key: asked for every
    /// column at once, SQLite without statistics would rather walk the primary key's `chain` prefix in order than
    /// look each row up, so the subquery names the index's plan. The rows come out in the subquery's order (it is
    /// the outer loop); an outer ORDER BY would sort them again, so `historyRows` makes sure of the order instead.
    /// Rows carry address ids; the caller maps them.
    static func allowanceHistoryQuery(chain: Int64, _ wallet: WalletFilter, after: (block: UInt64, logIndex: UInt64)?,
                                      limit: Int?) -> (sql: String, values: [SQLiteValue]) {
        var filters = ""
        if wallet.spender != nil { filters += "AND spender = ?4 " }
        if wallet.token != nil { filters += "AND token = ?3 " }
        let sql = """
            SELECT e.block, e.log_index, e.block_time, e.tx_hash, e.token, e.spender, e.value
            FROM (
                SELECT block, log_index FROM evm_approvals
                WHERE chain = ?1 AND owner = ?2 \(filters)AND (block, log_index) > (?5, ?6)
                ORDER BY block, log_index LIMIT ?7
            ) k
            JOIN evm_approvals e ON e.chain = ?1 AND e.block = k.block AND e.log_index = k.log_index
            """
        // Past Int64 nothing is stored: clamp instead of trapping on a position from outside.
        return (sql, [
            .integer(chain), .integer(wallet.owner), wallet.token.map { .integer($0) } ?? .null, wallet.spender.map { .integer($0) } ?? .null,
            .integer(after.map { Int64(clamping: $0.block) } ?? -1), .integer(after.map { Int64(clamping: $0.logIndex) } ?? -1),
            .integer(Int64(clamping: limit ?? -1)),
        ])
    }

    /// Runs `wallet`'s allowance-history query; each token and spender id becomes its address through the wallet's
    /// known addresses, then `evm_addresses` on first sight (a page names a handful of tokens and spenders, not one
    /// per row).
    static func historyRows(_ db: SQLiteConnection, chain: Int64, _ wallet: WalletFilter, owner: EVMAddress,
                            after: (block: UInt64, logIndex: UInt64)?, limit: Int?) throws -> [ApprovalRecord] {
        let query = allowanceHistoryQuery(chain: chain, wallet, after: after, limit: limit)
        var addresses = wallet.known
        let select = try db.statement(query.sql)
        select.bind(query.values)
        defer { select.reset() }
        var out: [ApprovalRecord] = []
        while try select.step() {
            // The hash and amount straight from SQLite's row buffer: no array per column per row.
            out.append(ApprovalRecord(
                block: try select.uint64(0), logIndex: try select.uint64(1), blockTime: try select.uint64(2),
                transactionHash: try select.withBlob(3, StoredEVMValue.hash), token: try address(id: select.int64(4), db, &addresses), owner: owner,
                spender: try address(id: select.int64(5), db, &addresses), value: try select.withBlob(6, StoredEVMValue.amount)))
        }
        // In order already (see `allowanceHistoryQuery`); a plan that ever changed that must not reorder a page.
        if !zip(out, out.dropFirst()).allSatisfy({ ($0.block, $0.logIndex) < ($1.block, $1.logIndex) }) {
            out.sort { ($0.block, $0.logIndex) < ($1.block, $1.logIndex) }
        }
        return out
    }

    /// The address of interned id `id`, from `known` or else the table (then remembered).
    static func address(id: Int64, _ db: SQLiteConnection, _ known: inout [Int64: EVMAddress]) throws -> EVMAddress {
        if let address = known[id] { return address }
        let select = try db.statement("SELECT address FROM evm_addresses WHERE id = ?")
        select.bind(id, at: 1)
        defer { select.reset() }
        guard try select.step() else { throw StoreError(.corruptValue, "an indexed event names address id \(id), which is not in evm_addresses") }
        let address = try address(select.blob(0))
        known[id] = address
        return address
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
            return try Self.currentAllowanceRows(db, query)
        }
    }

    static func currentAllowanceRows(_ db: SQLiteConnection, _ query: (sql: String, values: [SQLiteValue])) throws -> [AllowanceState] {
        let select = try db.statement(query.sql)
        select.bind(query.values)
        defer { select.reset() }
        var out: [AllowanceState] = []
        while try select.step() {
            out.append(AllowanceState(
                token: try Self.address(select.blob(0)), owner: try Self.address(select.blob(1)),
                spender: try Self.address(select.blob(2)), value: try Self.amount(select.blob(3)),
                asOfBlock: try select.uint64(4)))
        }
        return out
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
        try walletFilter(db, owner: owner, token: token, spender: spender).map { currentAllowancesQuery(chain: chain, $0) }
    }

    static func currentAllowancesQuery(chain: Int64, _ wallet: WalletFilter) -> (sql: String, values: [SQLiteValue]) {
        var filters = ""
        if wallet.spender != nil { filters += " AND a.spender = ?4" }
        if wallet.token != nil { filters += " AND a.token = ?3" }
        let sql = """
            SELECT t.address, o.address, s.address, a.value, a.as_of_block
            FROM evm_allowances a
            JOIN evm_addresses t ON t.id = a.token
            JOIN evm_addresses o ON o.id = a.owner
            JOIN evm_addresses s ON s.id = a.spender
            WHERE a.chain = ?1 AND a.owner = ?2\(filters)
            ORDER BY t.address, s.address
            """
        return (sql, [.integer(chain), .integer(wallet.owner), wallet.token.map { .integer($0) } ?? .null, wallet.spender.map { .integer($0) } ?? .null])
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
