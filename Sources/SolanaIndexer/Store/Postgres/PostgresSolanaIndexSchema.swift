/// The Solana index schema in PostgreSQL (module `solana_index`, in the database's own `schema_migrations`): the
/// SQLite schema's history collapsed into one current schema, with the same tables, unique keys and indexes (so the
/// same keyset pagination), BIGINT for integers and BYTEA for blobs. Keys are interned to integer ids (identity
/// columns, from 1: 0 is never a key, which `sol_events_by_party` uses for revokes); u64 amounts are 8-byte
/// big-endian blobs, signatures 64-byte blobs.
enum PostgresSolanaIndexSchema {
    static let module = "solana_index"

    /// The party expression of `sol_events_by_party` over events `e`: the index serves only queries that use this
    /// exact expression.
    static let delegateParty = "(CASE e.kind WHEN 'approve' THEN e.counterparty WHEN 'transfer' THEN e.authority ELSE 0 END)"

    static let migrations: [String] = [
        """
        CREATE TABLE sol_keys (
            id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            key BYTEA NOT NULL UNIQUE CHECK (length(key) = 32)
        );

        CREATE TABLE sol_chains (
            id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            finalized_slot BIGINT
        );

        CREATE TABLE sol_token_accounts (
            chain BIGINT NOT NULL REFERENCES sol_chains(id),
            account BIGINT NOT NULL REFERENCES sol_keys(id),
            owner BIGINT NOT NULL REFERENCES sol_keys(id),
            mint BIGINT NOT NULL REFERENCES sol_keys(id),
            program BIGINT NOT NULL REFERENCES sol_keys(id),
            newest_signature BYTEA CHECK (newest_signature IS NULL OR length(newest_signature) = 64),
            PRIMARY KEY (chain, account)
        );
        CREATE INDEX sol_token_accounts_by_owner ON sol_token_accounts (chain, owner, mint);

        CREATE TABLE sol_transactions (
            chain BIGINT NOT NULL REFERENCES sol_chains(id),
            signature BYTEA NOT NULL CHECK (length(signature) = 64),
            slot BIGINT NOT NULL,
            block_time BIGINT,
            failed BOOLEAN NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('confirmed', 'finalized')),
            PRIMARY KEY (chain, signature)
        );

        CREATE TABLE sol_events (
            chain BIGINT NOT NULL,
            signature BYTEA NOT NULL,
            outer_index BIGINT NOT NULL,
            inner_index BIGINT NOT NULL,
            slot BIGINT NOT NULL,
            block_time BIGINT,
            kind TEXT NOT NULL CHECK (kind IN ('approve', 'revoke', 'transfer')),
            program BIGINT NOT NULL REFERENCES sol_keys(id),
            source BIGINT NOT NULL REFERENCES sol_keys(id),
            counterparty BIGINT REFERENCES sol_keys(id),
            authority BIGINT NOT NULL REFERENCES sol_keys(id),
            owner BIGINT REFERENCES sol_keys(id),
            mint BIGINT REFERENCES sol_keys(id),
            amount BYTEA NOT NULL CHECK (length(amount) = 8),
            decimals BIGINT,
            PRIMARY KEY (chain, signature, outer_index, inner_index),
            FOREIGN KEY (chain, signature) REFERENCES sol_transactions(chain, signature) ON DELETE CASCADE
        );
        CREATE INDEX sol_events_by_owner ON sol_events (chain, owner, mint, slot);
        -- The allowance history (`delegateHistory`): a wallet's events by the party that matters to a delegate (the
        -- delegate of an Approve, the signer of a Transfer; 0 for a Revoke, which concerns every delegate), in history
        -- order, with the source account for the token filter.
        CREATE INDEX sol_events_by_party ON sol_events (chain, owner,
            (CASE kind WHEN 'approve' THEN counterparty WHEN 'transfer' THEN authority ELSE 0 END),
            slot, signature, outer_index, inner_index, source);

        CREATE TABLE sol_account_state (
            chain BIGINT NOT NULL REFERENCES sol_chains(id),
            account BIGINT NOT NULL REFERENCES sol_keys(id),
            amount BYTEA NOT NULL CHECK (length(amount) = 8),
            delegate BIGINT REFERENCES sol_keys(id),
            delegated_amount BYTEA NOT NULL CHECK (length(delegated_amount) = 8),
            slot BIGINT NOT NULL,
            PRIMARY KEY (chain, account)
        );
        """,
    ]
}
