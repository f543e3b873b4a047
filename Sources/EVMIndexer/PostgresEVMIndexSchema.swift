/// The EVM index schema in PostgreSQL (module `evm_index`): the SQLite schema's tables, keys and indexes as they stand
/// after its migrations, in one first version. Integers are BIGINT, hashes, addresses and 32-byte big-endian amounts
/// BYTEA; addresses are interned to ids as in SQLite.
///
/// Unlike SQLite, the secondary indexes are part of the schema and never dropped for a backfill: the database is
/// shared by several daemons, and dropping an index would lock their tables and slow their queries.
enum PostgresEVMIndexSchema {
    static let module = "evm_index"

    /// Each migration is one statement (`PostgresPool.migrate` sends it as one prepared statement), so a version
    /// of several statements is a `DO` block.
    static let migrations: [String] = [
        """
        DO $$ BEGIN
        CREATE TABLE evm_addresses (
            id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            address BYTEA NOT NULL UNIQUE CHECK (octet_length(address) = 20)
        );

        CREATE TABLE evm_chains (
            id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            chain_id BIGINT NOT NULL,
            mode TEXT NOT NULL CHECK (mode IN ('scoped', 'full')),
            next_block BIGINT NOT NULL CHECK (next_block >= 0),
            head_block BIGINT,
            finalized_block BIGINT
        );

        CREATE TABLE evm_blocks (
            chain BIGINT NOT NULL REFERENCES evm_chains(id),
            number BIGINT NOT NULL CHECK (number >= 0),
            hash BYTEA NOT NULL CHECK (octet_length(hash) = 32),
            parent_hash BYTEA NOT NULL CHECK (octet_length(parent_hash) = 32),
            timestamp BIGINT NOT NULL,
            PRIMARY KEY (chain, number)
        );

        CREATE TABLE evm_approvals (
            chain BIGINT NOT NULL REFERENCES evm_chains(id),
            block BIGINT NOT NULL,
            log_index BIGINT NOT NULL,
            block_time BIGINT NOT NULL,
            tx_hash BYTEA NOT NULL CHECK (octet_length(tx_hash) = 32),
            token BIGINT NOT NULL REFERENCES evm_addresses(id),
            owner BIGINT NOT NULL REFERENCES evm_addresses(id),
            spender BIGINT NOT NULL REFERENCES evm_addresses(id),
            value BYTEA NOT NULL CHECK (octet_length(value) = 32),
            PRIMARY KEY (chain, block, log_index)
        );

        CREATE TABLE evm_transfers (
            chain BIGINT NOT NULL REFERENCES evm_chains(id),
            block BIGINT NOT NULL,
            log_index BIGINT NOT NULL,
            block_time BIGINT NOT NULL,
            tx_hash BYTEA NOT NULL CHECK (octet_length(tx_hash) = 32),
            token BIGINT NOT NULL REFERENCES evm_addresses(id),
            sender BIGINT NOT NULL REFERENCES evm_addresses(id),
            recipient BIGINT NOT NULL REFERENCES evm_addresses(id),
            value BYTEA NOT NULL CHECK (octet_length(value) = 32),
            PRIMARY KEY (chain, block, log_index)
        );

        -- A wallet's approvals to a spender in chain order (allowance history pages), the token last to filter on.
        CREATE INDEX evm_approvals_by_owner_spender ON evm_approvals (chain, owner, spender, block, log_index, token);

        CREATE TABLE evm_tracked_owners (
            chain BIGINT NOT NULL REFERENCES evm_chains(id),
            owner BIGINT NOT NULL REFERENCES evm_addresses(id),
            first_block BIGINT NOT NULL,
            PRIMARY KEY (chain, owner)
        );

        CREATE TABLE evm_allowances (
            chain BIGINT NOT NULL REFERENCES evm_chains(id),
            token BIGINT NOT NULL REFERENCES evm_addresses(id),
            owner BIGINT NOT NULL REFERENCES evm_addresses(id),
            spender BIGINT NOT NULL REFERENCES evm_addresses(id),
            value BYTEA NOT NULL CHECK (octet_length(value) = 32),
            as_of_block BIGINT NOT NULL,
            PRIMARY KEY (chain, token, owner, spender)
        );

        CREATE TABLE evm_balances (
            chain BIGINT NOT NULL REFERENCES evm_chains(id),
            token BIGINT NOT NULL REFERENCES evm_addresses(id),
            owner BIGINT NOT NULL REFERENCES evm_addresses(id),
            value BYTEA NOT NULL CHECK (octet_length(value) = 32),
            as_of_block BIGINT NOT NULL,
            PRIMARY KEY (chain, token, owner)
        );

        -- A wallet's current allowances and balances without reading every tracked wallet's.
        CREATE INDEX evm_allowances_by_owner ON evm_allowances (chain, owner, spender, token, value, as_of_block);
        CREATE INDEX evm_balances_by_owner ON evm_balances (chain, owner, token, value, as_of_block);

        CREATE TABLE evm_watched_transactions (
            chain BIGINT NOT NULL REFERENCES evm_chains(id),
            hash BYTEA NOT NULL CHECK (octet_length(hash) = 32),
            status TEXT NOT NULL CHECK (status IN ('pending', 'mined', 'reverted', 'dropped')),
            block BIGINT,
            block_hash BYTEA CHECK (block_hash IS NULL OR octet_length(block_hash) = 32),
            gas_used BIGINT,
            reorg_count BIGINT NOT NULL DEFAULT 0 CHECK (reorg_count >= 0),
            first_seen BIGINT NOT NULL,
            last_checked BIGINT NOT NULL,
            PRIMARY KEY (chain, hash)
        );
        END $$
        """,
    ]
}
