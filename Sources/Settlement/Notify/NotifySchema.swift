/// The merchant-notification tables (module `notify`), next to the ledger they describe. Like the ledger, they are
/// not derivable: an outbox row is a promise to tell the merchant something, kept until delivered or given up.
enum NotifySchema {
    static let module = "notify"

    static let migrations: [String] = [
        """
        CREATE TABLE outbox (
            id INTEGER PRIMARY KEY,
            event_id TEXT NOT NULL UNIQUE,
            type TEXT NOT NULL,
            invoice TEXT,
            payload BLOB NOT NULL,
            created_at INTEGER NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
            next_attempt_at INTEGER NOT NULL,
            delivered_at INTEGER,
            gave_up_at INTEGER,
            last_status INTEGER,
            last_error TEXT
        ) STRICT;
        CREATE INDEX outbox_pending ON outbox (next_attempt_at) WHERE delivered_at IS NULL AND gave_up_at IS NULL;
        CREATE INDEX outbox_by_invoice ON outbox (invoice);

        -- One row per notice ever decided for a subject (an invoice): each kind goes out at most once.
        CREATE TABLE notices (
            invoice TEXT NOT NULL,
            kind TEXT NOT NULL,
            at INTEGER NOT NULL,
            PRIMARY KEY (invoice, kind)
        ) STRICT, WITHOUT ROWID;

        -- How far the notifier has read the ledger's charge_events (their rowids only grow: rows are never deleted).
        CREATE TABLE notifier_cursor (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            last_event INTEGER NOT NULL
        ) STRICT;
        """,
    ]
}
