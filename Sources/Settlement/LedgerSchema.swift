/// The ledger (module `ledger`): agreements, charges and attempts. Unlike the indexes it is NOT derivable from the
/// chain: replay never touches it, and rows are never deleted (a charge ends in a terminal state).
import Store

enum LedgerSchema {
    static let module = "ledger"

    static let migrations = SQLMigrations(sqlite: sqlite, postgres: postgres)

    static let sqlite: [String] = [
        """
        CREATE TABLE agreements (
            id INTEGER PRIMARY KEY,
            customer TEXT NOT NULL,
            subscription TEXT,
            chain TEXT NOT NULL,
            token TEXT NOT NULL,
            wallet TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            UNIQUE (customer, subscription, chain)
        ) STRICT;

        CREATE TABLE charges (
            id INTEGER PRIMARY KEY,
            invoice TEXT NOT NULL UNIQUE,
            agreement INTEGER NOT NULL REFERENCES agreements(id),
            amount_minor INTEGER NOT NULL CHECK (amount_minor > 0),
            currency TEXT NOT NULL CHECK (length(currency) = 3),
            token_amount BLOB NOT NULL CHECK (length(token_amount) = 32),
            token_decimals INTEGER NOT NULL CHECK (token_decimals BETWEEN 0 AND 77),
            rate TEXT NOT NULL,
            rate_at INTEGER NOT NULL,
            due_at INTEGER NOT NULL,
            state TEXT NOT NULL CHECK (state IN ('ingested', 'due', 'awaiting_funds', 'signed', 'broadcast', 'included',
                                                  'settled', 'reported', 'cancelled', 'uncollectible')),
            reason TEXT,
            next_attempt_at INTEGER,
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL
        ) STRICT;
        CREATE INDEX charges_by_state ON charges (state, next_attempt_at);

        CREATE TABLE charge_events (
            charge INTEGER NOT NULL REFERENCES charges(id),
            at INTEGER NOT NULL,
            from_state TEXT NOT NULL,
            to_state TEXT NOT NULL,
            reason TEXT
        ) STRICT;
        CREATE INDEX charge_events_by_charge ON charge_events (charge, at);
        """,
        // Attempts: every signed transaction, written (with its nonce or blockhash) before it is first sent.
        """
        CREATE TABLE attempts (
            id INTEGER PRIMARY KEY,
            charge INTEGER NOT NULL REFERENCES charges(id),
            sequence INTEGER NOT NULL CHECK (sequence >= 1),
            chain TEXT NOT NULL,
            signer TEXT NOT NULL,
            tx_id TEXT NOT NULL UNIQUE,
            raw BLOB NOT NULL,
            nonce INTEGER,
            blockhash TEXT,
            last_valid_height INTEGER,
            max_fee TEXT,
            priority_fee TEXT,
            outcome TEXT NOT NULL CHECK (outcome IN ('signed', 'sent', 'included', 'reverted', 'dead', 'replaced')),
            block INTEGER,
            created_at INTEGER NOT NULL,
            sent_at INTEGER,
            sent_block INTEGER,
            UNIQUE (charge, sequence),
            CHECK (nonce IS NOT NULL OR blockhash IS NOT NULL)
        ) STRICT;
        CREATE INDEX attempts_by_outcome ON attempts (outcome);

        CREATE TABLE nonces (
            chain TEXT NOT NULL,
            signer TEXT NOT NULL,
            next_nonce INTEGER NOT NULL CHECK (next_nonce >= 0),
            PRIMARY KEY (chain, signer)
        ) STRICT, WITHOUT ROWID;
        """,
        // New states (`unknown`, `cancel_requested`, `mismatch`, `reversed`) and the terms a charge pins (chain, token, wallet: an
        // agreement changed later re-prices only charges with no live attempt): SQLite cannot alter a CHECK, so the table is rebuilt
        // (foreign keys off for the rebuild, checked before the commit). Attempts keep the chain's head read before
        // signing (EVM block, Solana slot): the transaction cannot be at or below it, which bounds every search for it. Alerts that
        // stop a chain's signing until an operator acts (`nonce_divergence`).
        """
        \(Database.foreignKeysOffMarker)
        CREATE TABLE charges_rebuilt (
            id INTEGER PRIMARY KEY,
            invoice TEXT NOT NULL UNIQUE,
            agreement INTEGER NOT NULL REFERENCES agreements(id),
            amount_minor INTEGER NOT NULL CHECK (amount_minor > 0),
            currency TEXT NOT NULL CHECK (length(currency) = 3),
            token_amount BLOB NOT NULL CHECK (length(token_amount) = 32),
            token_decimals INTEGER NOT NULL CHECK (token_decimals BETWEEN 0 AND 77),
            rate TEXT NOT NULL,
            rate_at INTEGER NOT NULL,
            due_at INTEGER NOT NULL,
            state TEXT NOT NULL CHECK (state IN ('ingested', 'due', 'awaiting_funds', 'signed', 'broadcast', 'included',
                                                  'settled', 'reported', 'cancelled', 'uncollectible', 'unknown',
                                                  'cancel_requested', 'mismatch', 'reversed')),
            reason TEXT,
            next_attempt_at INTEGER,
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL,
            pay_chain TEXT NOT NULL,
            pay_token TEXT NOT NULL,
            pay_wallet TEXT NOT NULL,
            pay_asset TEXT,
            pay_treasury TEXT
        ) STRICT;
        INSERT INTO charges_rebuilt(id, invoice, agreement, amount_minor, currency, token_amount, token_decimals, rate, rate_at,
                                    due_at, state, reason, next_attempt_at, created_at, updated_at, pay_chain, pay_token, pay_wallet)
            SELECT c.id, c.invoice, c.agreement, c.amount_minor, c.currency, c.token_amount, c.token_decimals, c.rate, c.rate_at,
                   c.due_at, c.state, c.reason, c.next_attempt_at, c.created_at, c.updated_at, a.chain, a.token, a.wallet
            FROM charges c JOIN agreements a ON a.id = c.agreement;
        DROP TABLE charges;
        ALTER TABLE charges_rebuilt RENAME TO charges;
        CREATE INDEX charges_by_state ON charges (state, next_attempt_at);

        ALTER TABLE attempts ADD COLUMN head_at_signing INTEGER;

        CREATE TABLE chain_alerts (
            id INTEGER PRIMARY KEY,
            chain TEXT NOT NULL,
            signer TEXT NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ('nonce_divergence', 'signature_divergence')),
            detail TEXT NOT NULL,
            ledger_next INTEGER,
            chain_count INTEGER,
            raised_at INTEGER NOT NULL,
            cleared_at INTEGER,
            cleared_by TEXT
        ) STRICT;
        CREATE UNIQUE INDEX chain_alerts_open ON chain_alerts (chain, signer, kind) WHERE cleared_at IS NULL;
        """,
        // The API's charge pages by state read in id order within each state (`Ledger.chargesPageQuery`); the settled
        // payments an EVM pass re-checks for reorgs found by block (`Ledger.watchedQuery`), not among every landed one.
        """
        CREATE INDEX charges_by_state_id ON charges (state, id);
        DROP INDEX attempts_by_outcome;
        CREATE INDEX attempts_by_outcome_block ON attempts (outcome, block);
        """,
        // Several daemons on one database (PostgreSQL) change how three things are counted, and SQLite follows so both
        // run one code path: an attempt's sequence comes from its charge's counter (`attempt_count`, bumped with the
        // charge row locked), not `max + 1`; history rows get an explicit `id` (their rowids, kept) so they are ordered
        // the same way on both backends; and the notifier marks each history row it has read (`noticed`) instead of
        // keeping a cursor over ids, which would skip rows committed out of id order.
        """
        \(Database.foreignKeysOffMarker)
        ALTER TABLE charges ADD COLUMN attempt_count INTEGER NOT NULL DEFAULT 0 CHECK (attempt_count >= 0);
        UPDATE charges SET attempt_count = (SELECT coalesce(max(sequence), 0) FROM attempts WHERE attempts.charge = charges.id);

        CREATE TABLE charge_events_rebuilt (
            id INTEGER PRIMARY KEY,
            charge INTEGER NOT NULL REFERENCES charges(id),
            at INTEGER NOT NULL,
            from_state TEXT NOT NULL,
            to_state TEXT NOT NULL,
            reason TEXT,
            noticed INTEGER
        ) STRICT;
        INSERT INTO charge_events_rebuilt(id, charge, at, from_state, to_state, reason)
            SELECT rowid, charge, at, from_state, to_state, reason FROM charge_events;
        DROP TABLE charge_events;
        ALTER TABLE charge_events_rebuilt RENAME TO charge_events;
        CREATE INDEX charge_events_by_charge ON charge_events (charge, at);
        CREATE INDEX charge_events_unnoticed ON charge_events (id) WHERE noticed IS NULL;
        """,
        // A customer's portal lists each agreement's charges (PostgreSQL has had this index from its first schema).
        """
        CREATE INDEX IF NOT EXISTS charges_by_agreement ON charges (agreement);
        """,
        // The dashboard's overview sums what settled per day: the settled moves in a time range.
        """
        CREATE INDEX charge_events_by_move ON charge_events (to_state, at);
        """,
        // Settle's own billing (no Stripe): items, the agreements that subscribe to them, and the invoices Settle
        // issues, one per agreement and period (the UNIQUE is what makes auto-invoicing exactly once).
        """
        CREATE TABLE items (
            id TEXT NOT NULL PRIMARY KEY,
            name TEXT NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ('subscription', 'one_time')),
            interval_unit TEXT CHECK (interval_unit IN ('hour', 'day', 'week', 'month', 'year')),
            interval_count INTEGER CHECK (interval_count >= 1),
            amount_minor INTEGER NOT NULL CHECK (amount_minor > 0),
            currency TEXT NOT NULL CHECK (length(currency) = 3),
            tokens TEXT,
            allowance_payments INTEGER CHECK (allowance_payments >= 1),
            active INTEGER NOT NULL CHECK (active IN (0, 1)),
            auto_invoicing INTEGER NOT NULL CHECK (auto_invoicing IN (0, 1)),
            auto_invoicing_since INTEGER NOT NULL,
            created_at INTEGER NOT NULL,
            CHECK ((kind = 'subscription') = (interval_unit IS NOT NULL AND interval_count IS NOT NULL))
        ) STRICT;

        CREATE TABLE item_subscriptions (
            agreement INTEGER NOT NULL PRIMARY KEY REFERENCES agreements(id),
            item TEXT NOT NULL REFERENCES items(id),
            anchor INTEGER NOT NULL,
            last_period INTEGER NOT NULL CHECK (last_period >= 0),
            created_at INTEGER NOT NULL
        ) STRICT;
        CREATE INDEX item_subscriptions_by_item ON item_subscriptions (item);

        CREATE TABLE native_invoices (
            id TEXT NOT NULL PRIMARY KEY,
            agreement INTEGER NOT NULL REFERENCES agreements(id),
            item TEXT NOT NULL REFERENCES items(id),
            period INTEGER NOT NULL CHECK (period >= 0),
            amount_minor INTEGER NOT NULL CHECK (amount_minor > 0),
            currency TEXT NOT NULL CHECK (length(currency) = 3),
            due_at INTEGER NOT NULL,
            created_at INTEGER NOT NULL,
            UNIQUE (agreement, period)
        ) STRICT;
        """,
    ]

    /// The current schema in one step: PostgreSQL databases start here. Ids are identities that accept explicit
    /// values (`settled db copy` keeps a SQLite file's ids).
    static let postgres: [String] = [
        """
        CREATE TABLE agreements (
            id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
            customer TEXT NOT NULL,
            subscription TEXT,
            chain TEXT NOT NULL,
            token TEXT NOT NULL,
            wallet TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            UNIQUE NULLS NOT DISTINCT (customer, subscription, chain)
        );

        CREATE TABLE charges (
            id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
            invoice TEXT NOT NULL UNIQUE,
            agreement BIGINT NOT NULL REFERENCES agreements(id),
            amount_minor BIGINT NOT NULL CHECK (amount_minor > 0),
            currency TEXT NOT NULL CHECK (length(currency) = 3),
            token_amount BYTEA NOT NULL CHECK (length(token_amount) = 32),
            token_decimals BIGINT NOT NULL CHECK (token_decimals BETWEEN 0 AND 77),
            rate TEXT NOT NULL,
            rate_at BIGINT NOT NULL,
            due_at BIGINT NOT NULL,
            state TEXT NOT NULL CHECK (state IN ('ingested', 'due', 'awaiting_funds', 'signed', 'broadcast', 'included',
                                                  'settled', 'reported', 'cancelled', 'uncollectible', 'unknown',
                                                  'cancel_requested', 'mismatch', 'reversed')),
            reason TEXT,
            next_attempt_at BIGINT,
            created_at BIGINT NOT NULL,
            updated_at BIGINT NOT NULL,
            pay_chain TEXT NOT NULL,
            pay_token TEXT NOT NULL,
            pay_wallet TEXT NOT NULL,
            pay_asset TEXT,
            pay_treasury TEXT,
            attempt_count BIGINT NOT NULL DEFAULT 0 CHECK (attempt_count >= 0)
        );
        CREATE INDEX charges_by_state ON charges (state, next_attempt_at);
        CREATE INDEX charges_by_state_id ON charges (state, id);
        CREATE INDEX charges_by_agreement ON charges (agreement);

        CREATE TABLE charge_events (
            id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
            charge BIGINT NOT NULL REFERENCES charges(id),
            at BIGINT NOT NULL,
            from_state TEXT NOT NULL,
            to_state TEXT NOT NULL,
            reason TEXT,
            noticed BIGINT
        );
        CREATE INDEX charge_events_by_charge ON charge_events (charge, at);
        CREATE INDEX charge_events_unnoticed ON charge_events (id) WHERE noticed IS NULL;

        CREATE TABLE attempts (
            id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
            charge BIGINT NOT NULL REFERENCES charges(id),
            sequence BIGINT NOT NULL CHECK (sequence >= 1),
            chain TEXT NOT NULL,
            signer TEXT NOT NULL,
            tx_id TEXT NOT NULL UNIQUE,
            raw BYTEA NOT NULL,
            nonce BIGINT,
            blockhash TEXT,
            last_valid_height BIGINT,
            max_fee TEXT,
            priority_fee TEXT,
            outcome TEXT NOT NULL CHECK (outcome IN ('signed', 'sent', 'included', 'reverted', 'dead', 'replaced')),
            block BIGINT,
            created_at BIGINT NOT NULL,
            sent_at BIGINT,
            sent_block BIGINT,
            head_at_signing BIGINT,
            UNIQUE (charge, sequence),
            CHECK (nonce IS NOT NULL OR blockhash IS NOT NULL)
        );
        CREATE INDEX attempts_by_outcome_block ON attempts (outcome, block);
        CREATE INDEX attempts_by_nonce ON attempts (chain, signer, nonce);

        CREATE TABLE nonces (
            chain TEXT NOT NULL,
            signer TEXT NOT NULL,
            next_nonce BIGINT NOT NULL CHECK (next_nonce >= 0),
            PRIMARY KEY (chain, signer)
        );

        CREATE TABLE chain_alerts (
            id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
            chain TEXT NOT NULL,
            signer TEXT NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ('nonce_divergence', 'signature_divergence')),
            detail TEXT NOT NULL,
            ledger_next BIGINT,
            chain_count BIGINT,
            raised_at BIGINT NOT NULL,
            cleared_at BIGINT,
            cleared_by TEXT
        );
        CREATE UNIQUE INDEX chain_alerts_open ON chain_alerts (chain, signer, kind) WHERE cleared_at IS NULL;
        """,
        """
        CREATE INDEX charge_events_by_move ON charge_events (to_state, at);
        """,
        """
        CREATE TABLE items (
            id TEXT NOT NULL PRIMARY KEY,
            name TEXT NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ('subscription', 'one_time')),
            interval_unit TEXT CHECK (interval_unit IN ('hour', 'day', 'week', 'month', 'year')),
            interval_count BIGINT CHECK (interval_count >= 1),
            amount_minor BIGINT NOT NULL CHECK (amount_minor > 0),
            currency TEXT NOT NULL CHECK (length(currency) = 3),
            tokens TEXT,
            allowance_payments BIGINT CHECK (allowance_payments >= 1),
            active BIGINT NOT NULL CHECK (active IN (0, 1)),
            auto_invoicing BIGINT NOT NULL CHECK (auto_invoicing IN (0, 1)),
            auto_invoicing_since BIGINT NOT NULL,
            created_at BIGINT NOT NULL,
            CHECK ((kind = 'subscription') = (interval_unit IS NOT NULL AND interval_count IS NOT NULL))
        );

        CREATE TABLE item_subscriptions (
            agreement BIGINT NOT NULL PRIMARY KEY REFERENCES agreements(id),
            item TEXT NOT NULL REFERENCES items(id),
            anchor BIGINT NOT NULL,
            last_period BIGINT NOT NULL CHECK (last_period >= 0),
            created_at BIGINT NOT NULL
        );
        CREATE INDEX item_subscriptions_by_item ON item_subscriptions (item);

        CREATE TABLE native_invoices (
            id TEXT NOT NULL PRIMARY KEY,
            agreement BIGINT NOT NULL REFERENCES agreements(id),
            item TEXT NOT NULL REFERENCES items(id),
            period BIGINT NOT NULL CHECK (period >= 0),
            amount_minor BIGINT NOT NULL CHECK (amount_minor > 0),
            currency TEXT NOT NULL CHECK (length(currency) = 3),
            due_at BIGINT NOT NULL,
            created_at BIGINT NOT NULL,
            UNIQUE (agreement, period)
        );
        """,
    ]
}
