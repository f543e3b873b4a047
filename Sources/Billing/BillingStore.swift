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

/// The billing tables: the event inbox, invoice findings and Stripe marks.
public final class BillingStore: Sendable {
    public let database: Database

    public init(database: Database) {
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
            try db.statement("""
                INSERT INTO stripe_events(id, type, object_id, created, payload, received_at) VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT(id) DO NOTHING
                """).run([.text(id), .text(type), objectID.map { .text($0) } ?? .null, .integer(created), .blob(payload),
                          .integer(Int64(clamping: now))])
            return db.changes == 1
        }
    }

    /// Unprocessed events, oldest first (by Stripe's `created`, then arrival).
    public func pendingEvents(limit: Int = 500) async throws -> [StoredEvent] {
        try await events(where: "processed_at IS NULL ORDER BY created, seq LIMIT \(limit)")
    }

    /// Pending events due at `now`, oldest first: an event waiting out its backoff is skipped, and so is every
    /// later event of the same object (events of one object are processed in order).
    public func dueEvents(now: UInt64, limit: Int = 500) async throws -> [StoredEvent] {
        let at = Int64(clamping: now)
        return try await events(where: """
            processed_at IS NULL AND (next_attempt_at IS NULL OR next_attempt_at <= \(at))
            AND NOT EXISTS (SELECT 1 FROM stripe_events w WHERE w.object_id = stripe_events.object_id AND w.processed_at IS NULL
                            AND w.next_attempt_at > \(at) AND (w.created < stripe_events.created OR (w.created = stripe_events.created AND w.seq < stripe_events.seq)))
            ORDER BY created, seq LIMIT \(max(1, min(limit, 10_000)))
            """)
    }

    /// Every stored event, oldest first.
    public func allEvents() async throws -> [StoredEvent] {
        try await events(where: "1 = 1 ORDER BY seq")
    }

    private func events(where clause: String) async throws -> [StoredEvent] {
        try await database.read { db in
            let select = try db.statement("""
                SELECT seq, id, type, object_id, created, payload, attempts, processed_at, last_error FROM stripe_events WHERE \(clause)
                """)
            var out: [StoredEvent] = []
            while try select.step() {
                out.append(StoredEvent(seq: select.int64(0), id: select.text(1), type: select.text(2),
                                       objectID: select.isNull(3) ? nil : select.text(3), created: try select.uint64(4),
                                       payload: select.blob(5), attempts: select.int(6),
                                       processedAt: try select.optionalUInt64(7),
                                       lastError: select.isNull(8) ? nil : select.text(8)))
            }
            return out
        }
    }

    /// Marks an event processed, or records why it failed (it is tried again at the next pass).
    /// Records a processing attempt: done (`error` nil), or failed and tried again at `retryAt` (nil: next pass).
    public func finish(_ event: StoredEvent, error: String?, retryAt: UInt64? = nil, now: UInt64) async throws {
        try await database.write { db in
            try db.statement("UPDATE stripe_events SET attempts = attempts + 1, processed_at = ?, last_error = ?, next_attempt_at = ? WHERE seq = ?")
                .run([error == nil ? .integer(Int64(clamping: now)) : .null, error.map { .text($0) } ?? .null,
                      retryAt.map { .integer(Int64(clamping: $0)) } ?? .null, .integer(event.seq)])
        }
    }

    // MARK: - Findings

    /// Records a finding (again: refreshes its time and detail). A new one that needs action also puts an
    /// `action.required` merchant webhook in the outbox, in the same transaction.
    /// - Returns: true when the finding is new (or was resolved before).
    @discardableResult
    public func record(_ kind: InvoiceFinding.Kind, invoice: String, detail: String, data: JSON = [:], now: UInt64) async throws -> Bool {
        try await database.write { db in
            let existing = try db.statement("SELECT resolved_at IS NULL FROM invoice_findings WHERE invoice = ? AND kind = ?")
            existing.bind([.text(invoice), .text(kind.rawValue)])
            let open = try existing.step() && existing.int(0) == 1
            existing.reset()
            try db.statement("""
                INSERT INTO invoice_findings(invoice, kind, action, detail, first_seen, last_seen) VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT(invoice, kind) DO UPDATE SET detail = excluded.detail, last_seen = excluded.last_seen, resolved_at = NULL
                """).run([.text(invoice), .text(kind.rawValue), .integer(kind.needsAction ? 1 : 0), .text(detail), .integer(Int64(now)),
                          .integer(Int64(now))])
            if !open, kind.needsAction {
                var members: [(key: String, value: JSON)] = [("invoice", .string(invoice)), ("finding", .string(kind.rawValue)),
                                                             ("detail", .string(detail))]
                if case .object(let extra) = data { members += extra }
                try Outbox.enqueue(db, eventID: "evt_settle_\(invoice)_\(kind.rawValue)_\(now)", type: .actionRequired, invoice: invoice,
                                   data: .object(members), now: now)
            }
            return !open
        }
    }

    /// Marks the open findings of an invoice resolved (it became collectable, or was closed).
    public func resolveFindings(invoice: String, except kinds: Set<InvoiceFinding.Kind> = [], now: UInt64) async throws {
        try await database.write { db in
            let keep = kinds.map { "'\($0.rawValue)'" }.joined(separator: ", ")
            try db.statement("""
                UPDATE invoice_findings SET resolved_at = ? WHERE invoice = ? AND resolved_at IS NULL\(keep.isEmpty ? "" : " AND kind NOT IN (\(keep))")
                """).run([.integer(Int64(now)), .text(invoice)])
        }
    }

    /// Open findings (of one invoice, or all), oldest first.
    public func findings(invoice: String? = nil, includeResolved: Bool = false) async throws -> [InvoiceFinding] {
        try await database.read { db in
            let select = try db.statement("""
                SELECT invoice, kind, detail, first_seen, last_seen, resolved_at FROM invoice_findings
                WHERE (? IS NULL OR invoice = ?) AND (? OR resolved_at IS NULL) ORDER BY first_seen, invoice
                """)
            select.bind([invoice.map { .text($0) } ?? .null, invoice.map { .text($0) } ?? .null, .integer(includeResolved ? 1 : 0)])
            var out: [InvoiceFinding] = []
            while try select.step() {
                guard let kind = InvoiceFinding.Kind(rawValue: select.text(1)) else { continue }
                out.append(InvoiceFinding(invoice: select.text(0), kind: kind, detail: select.text(2), firstSeen: try select.uint64(3),
                                          lastSeen: try select.uint64(4), resolvedAt: try select.optionalUInt64(5)))
            }
            return out
        }
    }

    // MARK: - Marks

    /// Records that Settle did `action` for `invoice` in Stripe.
    public func mark(_ invoice: String, action: String, detail: String?, now: UInt64) async throws {
        try await database.write { db in
            try db.statement("INSERT INTO stripe_marks(invoice, action, at, detail) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING")
                .run([.text(invoice), .text(action), .integer(Int64(now)), detail.map { .text($0) } ?? .null])
        }
    }

    /// Whether Settle did `action` for `invoice` in Stripe.
    /// The detail of a mark (for `payment_record`: the record's id), or nil when there is none.
    public func markDetail(_ invoice: String, action: String) async throws -> String? {
        try await database.read { db in
            let select = try db.statement("SELECT detail FROM stripe_marks WHERE invoice = ? AND action = ?")
            select.bind([.text(invoice), .text(action)])
            return try select.step() && !select.isNull(0) ? select.text(0) : nil
        }
    }

    public func marked(_ invoice: String, action: String) async throws -> Bool {
        try await database.read { db in
            let select = try db.statement("SELECT 1 FROM stripe_marks WHERE invoice = ? AND action = ?")
            select.bind([.text(invoice), .text(action)])
            return try select.step()
        }
    }
}

extension BillingStore {
    /// The schema this build migrates to: module name and latest version (for `settled doctor`).
    public static var schema: (module: String, version: Int) { (BillingSchema.module, BillingSchema.migrations.count) }
}
