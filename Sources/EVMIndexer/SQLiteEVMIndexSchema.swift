/// The EVM index schema in SQLite (module `evm_index`). Every table here is derivable from the chain: `settled replay`
/// may rebuild any of it. Addresses are interned to small integer ids (`evm_addresses`) so event rows stay
/// small and their keys append in order; amounts are 32-byte big-endian blobs.
enum SQLiteEVMIndexSchema {
    static let module = "evm_index"

    /// Secondary indexes of the event tables: created after the initial backfill (or at once when there is none),
    /// so bulk inserts append to the primary keys only. `CREATE INDEX IF NOT EXISTS` makes creating them idempotent.
    ///
    /// Only indexes a query uses: allowance history reads a wallet's approvals to a spender in chain order (the
    /// token last, to filter on without reading the row); transfers are read by block range (replay, confirmation of
    /// our own payments) through the primary key. A query of transfers by wallet adds its index here when it arrives
    /// (every index costs on every insert; see ARCHITECTURE.md).
    static let secondaryIndexes: [(name: String, definition: String)] = [
        ("evm_approvals_by_owner_spender", "evm_approvals (chain, owner, spender, block, log_index, token)"),
    ]

    /// Secondary indexes of earlier versions, dropped when the current ones are made. `evm_approvals_by_owner`
    /// (chain, owner, token, spender, block, log_index) could not give a wallet's approvals to a spender in chain
    /// order without sorting all of them.
    static let retiredIndexes = ["evm_approvals_by_owner"]

    static let migrations: [String] = [
        """
        CREATE TABLE evm_addresses (
            id INTEGER PRIMARY KEY,
            address BLOB NOT NULL UNIQUE CHECK (length(address) = 20)
        ) STRICT;

        CREATE TABLE evm_chains (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            chain_id INTEGER NOT NULL,
            mode TEXT NOT NULL CHECK (mode IN ('scoped', 'full')),
            next_block INTEGER NOT NULL CHECK (next_block >= 0),
            head_block INTEGER,
            finalized_block INTEGER
        ) STRICT;

        CREATE TABLE evm_blocks (
            chain INTEGER NOT NULL REFERENCES evm_chains(id),
            number INTEGER NOT NULL CHECK (number >= 0),
            hash BLOB NOT NULL CHECK (length(hash) = 32),
            parent_hash BLOB NOT NULL CHECK (length(parent_hash) = 32),
            timestamp INTEGER NOT NULL,
            PRIMARY KEY (chain, number)
        ) STRICT, WITHOUT ROWID;

        CREATE TABLE evm_approvals (
            chain INTEGER NOT NULL REFERENCES evm_chains(id),
            block INTEGER NOT NULL,
            log_index INTEGER NOT NULL,
            block_time INTEGER NOT NULL,
            tx_hash BLOB NOT NULL CHECK (length(tx_hash) = 32),
            token INTEGER NOT NULL REFERENCES evm_addresses(id),
            owner INTEGER NOT NULL REFERENCES evm_addresses(id),
            spender INTEGER NOT NULL REFERENCES evm_addresses(id),
            value BLOB NOT NULL CHECK (length(value) = 32),
            PRIMARY KEY (chain, block, log_index)
        ) STRICT, WITHOUT ROWID;

        CREATE TABLE evm_transfers (
            chain INTEGER NOT NULL REFERENCES evm_chains(id),
            block INTEGER NOT NULL,
            log_index INTEGER NOT NULL,
            block_time INTEGER NOT NULL,
            tx_hash BLOB NOT NULL CHECK (length(tx_hash) = 32),
            token INTEGER NOT NULL REFERENCES evm_addresses(id),
            sender INTEGER NOT NULL REFERENCES evm_addresses(id),
            recipient INTEGER NOT NULL REFERENCES evm_addresses(id),
            value BLOB NOT NULL CHECK (length(value) = 32),
            PRIMARY KEY (chain, block, log_index)
        ) STRICT, WITHOUT ROWID;

        -- (v1 shipped no secondary indexes here: EVMIndexSchema.secondaryIndexes creates them after backfill.)
        CREATE TABLE evm_tracked_owners (
            chain INTEGER NOT NULL REFERENCES evm_chains(id),
            owner INTEGER NOT NULL REFERENCES evm_addresses(id),
            first_block INTEGER NOT NULL,
            PRIMARY KEY (chain, owner)
        ) STRICT, WITHOUT ROWID;

        CREATE TABLE evm_allowances (
            chain INTEGER NOT NULL REFERENCES evm_chains(id),
            token INTEGER NOT NULL REFERENCES evm_addresses(id),
            owner INTEGER NOT NULL REFERENCES evm_addresses(id),
            spender INTEGER NOT NULL REFERENCES evm_addresses(id),
            value BLOB NOT NULL CHECK (length(value) = 32),
            as_of_block INTEGER NOT NULL,
            PRIMARY KEY (chain, token, owner, spender)
        ) STRICT, WITHOUT ROWID;

        CREATE TABLE evm_balances (
            chain INTEGER NOT NULL REFERENCES evm_chains(id),
            token INTEGER NOT NULL REFERENCES evm_addresses(id),
            owner INTEGER NOT NULL REFERENCES evm_addresses(id),
            value BLOB NOT NULL CHECK (length(value) = 32),
            as_of_block INTEGER NOT NULL,
            PRIMARY KEY (chain, token, owner)
        ) STRICT, WITHOUT ROWID;

        CREATE TABLE evm_watched_transactions (
            chain INTEGER NOT NULL REFERENCES evm_chains(id),
            hash BLOB NOT NULL CHECK (length(hash) = 32),
            status TEXT NOT NULL CHECK (status IN ('pending', 'mined', 'reverted', 'dropped')),
            block INTEGER,
            block_hash BLOB CHECK (block_hash IS NULL OR length(block_hash) = 32),
            gas_used INTEGER,
            reorg_count INTEGER NOT NULL DEFAULT 0 CHECK (reorg_count >= 0),
            first_seen INTEGER NOT NULL,
            last_checked INTEGER NOT NULL,
            PRIMARY KEY (chain, hash)
        ) STRICT, WITHOUT ROWID;
        """,
        // A wallet's current allowances and balances (the API on every request; the executor's preflight per charge)
        // without reading every tracked wallet's: keyed by owner and holding every column read (with no statistics,
        // SQLite prefers the primary key's `chain` prefix over an index that needs a lookup per row).
        """
        CREATE INDEX evm_allowances_by_owner ON evm_allowances (chain, owner, spender, token, value, as_of_block);
        CREATE INDEX evm_balances_by_owner ON evm_balances (chain, owner, token, value, as_of_block);
        """,
    ]
}
