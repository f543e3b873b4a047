/// The billing tables (module `billing`): Stripe's events as received, what Settle found wrong with invoices, and
/// what Settle has told Stripe.
enum BillingSchema {
    static let module = "billing"

    static let migrations: [String] = [
        """
        -- Every verified Stripe event, stored before the webhook is answered; processed in order per object.
        CREATE TABLE stripe_events (
            seq INTEGER PRIMARY KEY,
            id TEXT NOT NULL UNIQUE,
            type TEXT NOT NULL,
            object_id TEXT,
            created INTEGER NOT NULL,
            payload BLOB NOT NULL,
            received_at INTEGER NOT NULL,
            processed_at INTEGER,
            attempts INTEGER NOT NULL DEFAULT 0,
            last_error TEXT
        ) STRICT;
        CREATE INDEX stripe_events_pending ON stripe_events (created, seq) WHERE processed_at IS NULL;

        -- Invoices Settle will not (or cannot) collect as they stand, and why. `action` ones need a person.
        CREATE TABLE invoice_findings (
            invoice TEXT NOT NULL,
            kind TEXT NOT NULL,
            action INTEGER NOT NULL CHECK (action IN (0, 1)),
            detail TEXT NOT NULL,
            first_seen INTEGER NOT NULL,
            last_seen INTEGER NOT NULL,
            resolved_at INTEGER,
            PRIMARY KEY (invoice, kind)
        ) STRICT, WITHOUT ROWID;

        -- What Settle has done in Stripe per invoice (marked paid, marked uncollectible), with the request's details.
        CREATE TABLE stripe_marks (
            invoice TEXT NOT NULL,
            action TEXT NOT NULL,
            at INTEGER NOT NULL,
            detail TEXT,
            PRIMARY KEY (invoice, action)
        ) STRICT, WITHOUT ROWID;
        """,
        // An event that fails for a reason a retry will not fix waits with backoff, so it cannot starve newer ones.
        """
        ALTER TABLE stripe_events ADD COLUMN next_attempt_at INTEGER;
        """,
    ]
}
