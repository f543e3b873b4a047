/// The Solana index schema (module `solana_index`); derivable from the chain like the EVM index. Keys (public
/// keys, mints, programs) are interned to integer ids; u64 amounts are 8-byte big-endian blobs (SQLite integers
/// are signed), signatures 64-byte blobs.
enum SQLiteSolanaIndexSchema {
    static let module = "solana_index"

    /// The party expression of `sol_events_by_party` over events `e`: the index serves only queries that use this
    /// exact expression.
    static let delegateParty = "(CASE e.kind WHEN 'approve' THEN e.counterparty WHEN 'transfer' THEN e.authority ELSE 0 END)"

    static let migrations: [String] = [
        """
        CREATE TABLE sol_keys (
            id INTEGER PRIMARY KEY,
            key BLOB NOT NULL UNIQUE CHECK (length(key) = 32)
        ) STRICT;

        CREATE TABLE sol_chains (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            finalized_slot INTEGER
        ) STRICT;

        CREATE TABLE sol_token_accounts (
            chain INTEGER NOT NULL REFERENCES sol_chains(id),
            account INTEGER NOT NULL REFERENCES sol_keys(id),
            owner INTEGER NOT NULL REFERENCES sol_keys(id),
            mint INTEGER NOT NULL REFERENCES sol_keys(id),
            program INTEGER NOT NULL REFERENCES sol_keys(id),
            newest_signature BLOB CHECK (newest_signature IS NULL OR length(newest_signature) = 64),
            PRIMARY KEY (chain, account)
        ) STRICT, WITHOUT ROWID;

        CREATE TABLE sol_transactions (
            chain INTEGER NOT NULL REFERENCES sol_chains(id),
            signature BLOB NOT NULL CHECK (length(signature) = 64),
            slot INTEGER NOT NULL,
            block_time INTEGER,
            failed INTEGER NOT NULL CHECK (failed IN (0, 1)),
            status TEXT NOT NULL CHECK (status IN ('confirmed', 'finalized')),
            PRIMARY KEY (chain, signature)
        ) STRICT, WITHOUT ROWID;

        CREATE TABLE sol_events (
            chain INTEGER NOT NULL,
            signature BLOB NOT NULL,
            outer_index INTEGER NOT NULL,
            inner_index INTEGER NOT NULL,
            slot INTEGER NOT NULL,
            block_time INTEGER,
            kind TEXT NOT NULL CHECK (kind IN ('approve', 'revoke', 'transfer')),
            program INTEGER NOT NULL REFERENCES sol_keys(id),
            source INTEGER NOT NULL REFERENCES sol_keys(id),
            counterparty INTEGER REFERENCES sol_keys(id),
            authority INTEGER NOT NULL REFERENCES sol_keys(id),
            owner INTEGER REFERENCES sol_keys(id),
            mint INTEGER REFERENCES sol_keys(id),
            amount BLOB NOT NULL CHECK (length(amount) = 8),
            decimals INTEGER,
            PRIMARY KEY (chain, signature, outer_index, inner_index),
            FOREIGN KEY (chain, signature) REFERENCES sol_transactions(chain, signature) ON DELETE CASCADE
        ) STRICT, WITHOUT ROWID;
        CREATE INDEX sol_events_by_owner ON sol_events (chain, owner, mint, slot);

        CREATE TABLE sol_account_state (
            chain INTEGER NOT NULL REFERENCES sol_chains(id),
            account INTEGER NOT NULL REFERENCES sol_keys(id),
            amount BLOB NOT NULL CHECK (length(amount) = 8),
            delegate INTEGER REFERENCES sol_keys(id),
            delegated_amount BLOB NOT NULL CHECK (length(delegated_amount) = 8),
            slot INTEGER NOT NULL,
            PRIMARY KEY (chain, account)
        ) STRICT, WITHOUT ROWID;
        """,
        // The API's allowance history in SQL (`delegateHistory`): a wallet's events by the party that matters to a
        // delegate (the delegate of an Approve, the signer of a Transfer; 0 for a Revoke, which concerns every
        // delegate), in history order, with the source account for the token filter; token accounts by owner.
        """
        CREATE INDEX sol_events_by_party ON sol_events (chain, owner,
            (CASE kind WHEN 'approve' THEN counterparty WHEN 'transfer' THEN authority ELSE 0 END),
            slot, signature, outer_index, inner_index, source);
        CREATE INDEX sol_token_accounts_by_owner ON sol_token_accounts (chain, owner, mint);
        """,
    ]
}
