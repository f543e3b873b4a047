import Foundation
import SettleCore
import Settlement
import Store

/// A Stripe event as stored in the inbox.
public struct StoredEvent: Hashable, Sendable {
    public var seq: Int64
    public var id: String
    public var type: String
    /// The id of `data.object` (the invoice, subscription, …), when it has one.
    public var objectID: String?
    public var created: UInt64
    public var payload: [UInt8]
    public var attempts: Int
    public var processedAt: UInt64?
    public var lastError: String?
}

/// The billing tables: the event inbox, invoice findings and Stripe marks (SQLite or PostgreSQL).
public final class BillingStore: Sendable {
    public let database: any SQLStore

    public init(database: any SQLStore) {
        self.database = database
    }

    public func migrate() async throws {
        try await database.migrate(module: BillingSchema.module, BillingSchema.migrations)
    }

    // MARK: - Inbox

    /// Stores an event unless one with the same id is there.
    /// - Returns: false for a duplicate.
    /// - Throws: `BillingError.malformed` for a `created` past 2^63 - 1 (nothing is stored).
    public func insert(id: String, type: String, objectID: String?, created: UInt64, payload: [UInt8], now: UInt64) async throws -> Bool {
        guard let created = Int64(exactly: created) else { throw BillingError(.malformed, "event \(id): created \(created) is past 2^63 - 1") }
        return try await database.write { db in
            try await db.run("""
                INSERT INTO stripe_events(id, type, object_id, created, payload, received_at) VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT(id) DO NOTHING
                """, [.text(id), .text(type), objectID.sqlValue, .integer(created), .blob(payload), .unsigned(now)]) == 1
        }
    }

    /// Unprocessed events, oldest first (by Stripe's `created`, then arrival).
    public func pendingEvents(limit: Int = 500) async throws -> [StoredEvent] {
        try await events(where: "processed_at IS NULL ORDER BY created, seq LIMIT \(max(1, min(limit, 10_000)))", [])
    }

    /// Pending events due at `now`, oldest first: an event waiting out its backoff (or claimed by a daemon) is
    /// skipped, and so is every later event of the same object (events of one object are processed in order).
    public func dueEvents(now: UInt64, limit: Int = 500) async throws -> [StoredEvent] {
        try await events(where: Self.dueCondition(limit: limit), Self.dueValues(now))
    }

    static func dueCondition(limit: Int) -> String {
        """
        processed_at IS NULL AND (next_attempt_at IS NULL OR next_attempt_at <= ?)
        AND NOT EXISTS (SELECT 1 FROM stripe_events w WHERE w.object_id = stripe_events.object_id AND w.processed_at IS NULL
                        AND w.next_attempt_at > ? AND (w.created < stripe_events.created OR (w.created = stripe_events.created AND w.seq < stripe_events.seq)))
        ORDER BY created, seq LIMIT \(max(1, min(limit, 10_000)))
        """
    }

    static func dueValues(_ now: UInt64) -> [SQLValue] { [.unsigned(now), .unsigned(now)] }

    /// Claims the events due at `now` for processing by this daemon: in one transaction they are locked (events
    /// another daemon holds are passed over) and held until `now + hold` (their next attempt), so no other daemon
    /// takes them, nor a later event of the same object, while this one works. `finish` replaces the hold; after a
    /// crash it lapses and the event is processed again (processing is idempotent: one charge per invoice).
    public func claimEvents(now: UInt64, hold: UInt64 = 300, limit: Int = 500) async throws -> [StoredEvent] {
        try await database.write { db in
            // Claims run one at a time: a claim must see the holds committed before it, or two daemons could take
            // an object's earlier and later events at once (row locks alone only keep them from taking the same one).
            try await db.serialize("stripe_events claim")
            let events = try await db.rows("\(Self.eventQuery) WHERE \(Self.dueCondition(limit: limit))\(db.skipLocked)", Self.dueValues(now))
                .map(Self.event)
            for event in events {
                try await db.run("UPDATE stripe_events SET next_attempt_at = ? WHERE seq = ?", [.unsigned(now &+ hold), .integer(event.seq)])
            }
            return events
        }
    }

    /// Gives a claimed event back untried: due again at once.
    public func release(_ event: StoredEvent) async throws {
        try await database.write { db in
            try await db.run("UPDATE stripe_events SET next_attempt_at = NULL WHERE seq = ? AND processed_at IS NULL", [.integer(event.seq)])
        }
    }

    /// Every stored event, oldest first.
    public func allEvents() async throws -> [StoredEvent] {
        try await events(where: "1 = 1 ORDER BY seq", [])
    }

    static let eventQuery = "SELECT seq, id, type, object_id, created, payload, attempts, processed_at, last_error FROM stripe_events"

    private func events(where clause: String, _ values: [SQLValue]) async throws -> [StoredEvent] {
        try await database.read { db in try await db.rows("\(Self.eventQuery) WHERE \(clause)", values).map(Self.event) }
    }

    static func event(_ row: SQLRow) throws -> StoredEvent {
        StoredEvent(seq: try row.int64(0), id: try row.text(1), type: try row.text(2), objectID: try row.optionalText(3),
                    created: try row.uint64(4), payload: try row.blob(5), attempts: try row.int(6),
                    processedAt: try row.optionalUInt64(7), lastError: try row.optionalText(8))
    }

    /// Records a processing attempt: done (`error` nil), or failed and tried again at `retryAt` (nil: next pass).
    public func finish(_ event: StoredEvent, error: String?, retryAt: UInt64? = nil, now: UInt64) async throws {
        try await database.write { db in
            try await db.run("UPDATE stripe_events SET attempts = attempts + 1, processed_at = ?, last_error = ?, next_attempt_at = ? WHERE seq = ?",
                             [error == nil ? .unsigned(now) : .null, error.sqlValue, .unsigned(retryAt), .integer(event.seq)])
        }
    }

    // MARK: - Findings

    /// Records a finding (again: refreshes its time and detail). A new one that needs action also puts an
    /// `action.required` merchant webhook in the outbox, in the same transaction.
    /// - Returns: true when the finding is new (or was resolved before).
    @discardableResult
    public func record(_ kind: InvoiceFinding.Kind, invoice: String, detail: String, data: JSON = [:], now: UInt64) async throws -> Bool {
        try await database.write { db in
            let existing = try await db.row("SELECT resolved_at FROM invoice_findings WHERE invoice = ? AND kind = ?\(db.forUpdate)",
                                            [.text(invoice), .text(kind.rawValue)])
            let open = existing.map { $0.isNull(0) } ?? false
            try await db.run("""
                INSERT INTO invoice_findings(invoice, kind, action, detail, first_seen, last_seen) VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT(invoice, kind) DO UPDATE SET detail = excluded.detail, last_seen = excluded.last_seen, resolved_at = NULL
                """, [.text(invoice), .text(kind.rawValue), .integer(kind.needsAction ? 1 : 0), .text(detail), .unsigned(now), .unsigned(now)])
            if !open, kind.needsAction {
                var members: [(key: String, value: JSON)] = [("invoice", .string(invoice)), ("finding", .string(kind.rawValue)),
                                                             ("detail", .string(detail))]
                if case .object(let extra) = data { members += extra }
                try await Outbox.enqueue(db, eventID: "evt_settle_\(invoice)_\(kind.rawValue)_\(now)", type: .actionRequired, invoice: invoice,
                                         data: .object(members), now: now)
            }
            return !open
        }
    }

    /// Marks the open findings of an invoice resolved (it became collectable, or was closed).
    public func resolveFindings(invoice: String, except kinds: Set<InvoiceFinding.Kind> = [], now: UInt64) async throws {
        try await database.write { db in
            let keep = kinds.map { "'\($0.rawValue)'" }.sorted().joined(separator: ", ")
            try await db.run("""
                UPDATE invoice_findings SET resolved_at = ? WHERE invoice = ? AND resolved_at IS NULL\(keep.isEmpty ? "" : " AND kind NOT IN (\(keep))")
                """, [.unsigned(now), .text(invoice)])
        }
    }

    /// Open findings (of one invoice, or all), oldest first.
    public func findings(invoice: String? = nil, includeResolved: Bool = false) async throws -> [InvoiceFinding] {
        var conditions: [String] = []
        var values: [SQLValue] = []
        if let invoice {
            conditions.append("invoice = ?")
            values.append(.text(invoice))
        }
        if !includeResolved { conditions.append("resolved_at IS NULL") }
        let clause = conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND ")
        return try await database.read { [values] db in
            try await db.rows("""
                SELECT invoice, kind, detail, first_seen, last_seen, resolved_at FROM invoice_findings\(clause) ORDER BY first_seen, invoice
                """, values).compactMap { row in
                guard let kind = InvoiceFinding.Kind(rawValue: try row.text(1)) else { return nil }
                return InvoiceFinding(invoice: try row.text(0), kind: kind, detail: try row.text(2), firstSeen: try row.uint64(3),
                                      lastSeen: try row.uint64(4), resolvedAt: try row.optionalUInt64(5))
            }
        }
    }

    // MARK: - Marks

    /// Records that Settle did `action` for `invoice` in Stripe.
    public func mark(_ invoice: String, action: String, detail: String?, now: UInt64) async throws {
        try await database.write { db in
            try await db.run("INSERT INTO stripe_marks(invoice, action, at, detail) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                             [.text(invoice), .text(action), .unsigned(now), detail.sqlValue])
        }
    }

    /// The detail of a mark (for `payment_record`: the record's id), or nil when there is none.
    public func markDetail(_ invoice: String, action: String) async throws -> String? {
        try await database.read { db in
            try await db.row("SELECT detail FROM stripe_marks WHERE invoice = ? AND action = ?", [.text(invoice), .text(action)])?.optionalText(0)
        }
    }

    /// Whether Settle did `action` for `invoice` in Stripe.
    public func marked(_ invoice: String, action: String) async throws -> Bool {
        try await database.read { db in
            try await db.row("SELECT 1 FROM stripe_marks WHERE invoice = ? AND action = ?", [.text(invoice), .text(action)]) != nil
        }
    }
}

extension BillingStore {
    /// The schema this build migrates to: module name and latest version (for `settled doctor`).
    public static func schema(_ backend: SQLBackend) -> (module: String, version: Int) {
        (BillingSchema.module, BillingSchema.migrations.list(backend).count)
    }
}
