import Foundation
import SettleCore
import Store

/// One message to the merchant, as stored in the outbox.
public struct OutboxMessage: Hashable, Sendable {
    public var id: Int64
    /// Stable across retries (`evt_…`): the merchant deduplicates by it.
    public var eventID: String
    public var type: String
    public var invoice: String?
    /// The exact JSON body delivered (and signed).
    public var payload: [UInt8]
    public var createdAt: UInt64
    public var attempts: Int
    public var nextAttemptAt: UInt64
    public var deliveredAt: UInt64?
    public var gaveUpAt: UInt64?
    public var lastStatus: Int?
    public var lastError: String?

    /// Delivered, given up, or still trying.
    public var status: String { deliveredAt != nil ? "delivered" : gaveUpAt != nil ? "gave_up" : "pending" }
}

/// How long and how often the outbox retries a merchant webhook that was not answered 2xx.
///
/// Keys (`[merchant]` in the main config): `retry_seconds` (waits before each retry; the last repeats), `give_up_after`.
public struct DeliveryPolicy: Hashable, Sendable {
    /// Waits before retry 1, 2, …; the last one repeats. Default: 1 min, 5 min, 30 min, 2 h, 6 h, then every 12 h.
    public var retrySeconds: [UInt64]
    /// Seconds after the message was created when the outbox stops trying (default 3 days). A message can always be
    /// redelivered by hand afterwards.
    public var giveUpAfter: UInt64

    public init(retrySeconds: [UInt64] = [60, 300, 1_800, 7_200, 21_600, 43_200], giveUpAfter: UInt64 = 3 * 86_400) {
        self.retrySeconds = retrySeconds.isEmpty ? [60] : retrySeconds
        self.giveUpAfter = giveUpAfter
    }

    /// When to try again after `attempts` failed deliveries, or nil when that would be past the give-up time.
    public func nextAttempt(after attempts: Int, createdAt: UInt64, now: UInt64) -> UInt64? {
        let next = now + retrySeconds[min(max(attempts - 1, 0), retrySeconds.count - 1)]
        return next > createdAt + giveUpAfter ? nil : next
    }
}

/// The durable outbox of merchant webhooks: rows are written in the same transaction as the decision that caused
/// them, delivered at least once (the merchant deduplicates by `id`), retried with backoff, and kept forever.
public final class Outbox: Sendable {
    public let database: any SQLStore

    public init(database: any SQLStore) {
        self.database = database
    }

    public func migrate() async throws {
        try await database.migrate(module: NotifySchema.module, NotifySchema.migrations)
    }

    /// Adds a message inside the caller's transaction. The same `eventID` again adds nothing.
    /// - Returns: true when the message is new.
    @discardableResult
    public static func enqueue(_ db: any SQLSession, eventID: String, type: MerchantEvent, invoice: String?, data: JSON,
                               now: UInt64) async throws -> Bool {
        let body: JSON = [
            "id": .string(eventID), "object": "event", "type": .string(type.rawValue), "created": .number(String(now)), "data": data,
        ]
        return try await db.run("""
            INSERT INTO outbox(event_id, type, invoice, payload, created_at, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?)
            ON CONFLICT(event_id) DO NOTHING
            """, [.text(eventID), .text(type.rawValue), invoice.sqlValue, .blob(body.serialized), .unsigned(now), .unsigned(now)]) == 1
    }

    /// Adds a message in its own transaction (see `enqueue(_:eventID:…)`).
    @discardableResult
    public func enqueue(eventID: String, type: MerchantEvent, invoice: String?, data: JSON, now: UInt64) async throws -> Bool {
        try await database.write { db in try await Self.enqueue(db, eventID: eventID, type: type, invoice: invoice, data: data, now: now) }
    }

    /// Adds a message once per `kind` of `invoice` (`noteOnce`), in one transaction.
    /// - Returns: true when the message is new.
    @discardableResult
    public func enqueueOnce(kind: String, eventID: String, type: MerchantEvent, invoice: String, data: JSON, now: UInt64) async throws -> Bool {
        try await database.write { db in
            guard try await Self.noteOnce(db, invoice: invoice, kind: kind, now: now) else { return false }
            return try await Self.enqueue(db, eventID: eventID, type: type, invoice: invoice, data: data, now: now)
        }
    }

    /// Records that `kind` was decided for `invoice`, inside the caller's transaction.
    /// - Returns: false when it already was (so the caller sends nothing again).
    public static func noteOnce(_ db: any SQLSession, invoice: String, kind: String, now: UInt64) async throws -> Bool {
        try await db.run("INSERT INTO notices(invoice, kind, at) VALUES (?, ?, ?) ON CONFLICT(invoice, kind) DO NOTHING",
                         [.text(invoice), .text(kind), .unsigned(now)]) == 1
    }

    /// Messages due for delivery at `now`, oldest first (a look, claiming nothing).
    public func pending(now: UInt64, limit: Int = 100) async throws -> [OutboxMessage] {
        try await messages(where: Self.dueCondition, [.unsigned(now)], limit: limit)
    }

    static let dueCondition = "delivered_at IS NULL AND gave_up_at IS NULL AND next_attempt_at <= ?"

    /// Claims up to `limit` messages due at `now` for delivery by this daemon: in one transaction the rows are locked
    /// (rows another daemon holds are passed over) and their next attempt moved to `now + hold`, so no other daemon
    /// picks them while this one posts. The delivery's `record` replaces the hold; after a crash it lapses and the
    /// message is sent again (at least once; the merchant deduplicates by event id).
    public func claim(now: UInt64, hold: UInt64 = 120, limit: Int = 100) async throws -> [OutboxMessage] {
        try await database.write { db in
            let due = try await db.rows("\(Self.messageQuery(where: Self.dueCondition, limit: limit))\(db.skipLocked)", [.unsigned(now)])
                .map(Self.message)
            for message in due {
                try await db.run("UPDATE outbox SET next_attempt_at = ? WHERE id = ?", [.unsigned(now &+ hold), .integer(message.id)])
            }
            return due
        }
    }

    /// Every message, or those of one invoice, oldest first.
    public func messages(invoice: String? = nil, limit: Int = 1_000) async throws -> [OutboxMessage] {
        if let invoice { return try await messages(where: "invoice = ?", [.text(invoice)], limit: limit) }
        return try await messages(where: "1 = 1", [], limit: limit)
    }

    /// The message with this id or event id.
    public func message(_ idOrEvent: String) async throws -> OutboxMessage? {
        try await messages(where: "event_id = ? OR CAST(id AS TEXT) = ?", [.text(idOrEvent), .text(idOrEvent)], limit: 1).first
    }

    /// Records one delivery try: delivered on 2xx, otherwise scheduled again by `policy` or given up.
    public func record(_ message: OutboxMessage, status: Int?, error: String?, policy: DeliveryPolicy, now: UInt64) async throws {
        let delivered = status.map { (200..<300).contains($0) } ?? false
        let attempts = message.attempts + 1
        let next = delivered ? nil : policy.nextAttempt(after: attempts, createdAt: message.createdAt, now: now)
        try await database.write { db in
            try await db.run("""
                UPDATE outbox SET attempts = ?, last_status = ?, last_error = ?, delivered_at = ?, gave_up_at = ?,
                next_attempt_at = coalesce(?, next_attempt_at) WHERE id = ? AND delivered_at IS NULL
                """, [
                    .integer(Int64(attempts)), status.map { .integer(Int64($0)) } ?? .null, error.sqlValue,
                    delivered ? .unsigned(now) : .null, !delivered && next == nil ? .unsigned(now) : .null,
                    .unsigned(next), .integer(message.id),
                ])
        }
    }

    /// Manual redelivery: the message (delivered, given up or pending) is sent again at the next pass, with a fresh
    /// retry window.
    /// - Returns: false when there is no such message.
    @discardableResult
    public func redeliver(_ idOrEvent: String, now: UInt64) async throws -> Bool {
        try await database.write { db in
            try await db.run("""
                UPDATE outbox SET delivered_at = NULL, gave_up_at = NULL, next_attempt_at = ?, created_at = ?, attempts = 0
                WHERE event_id = ? OR CAST(id AS TEXT) = ?
                """, [.unsigned(now), .unsigned(now), .text(idOrEvent), .text(idOrEvent)]) > 0
        }
    }

    /// Messages not yet delivered nor given up (the backlog).
    public func backlog() async throws -> Int {
        try await database.read { db in
            try await db.row("SELECT count(*) FROM outbox WHERE delivered_at IS NULL AND gave_up_at IS NULL", [])?.int(0) ?? 0
        }
    }

    private func messages(where condition: String, _ values: [SQLValue], limit: Int) async throws -> [OutboxMessage] {
        try await database.read { db in try await db.rows(Self.messageQuery(where: condition, limit: limit), values).map(Self.message) }
    }

    static func messageQuery(where condition: String, limit: Int) -> String {
        """
        SELECT id, event_id, type, invoice, payload, created_at, attempts, next_attempt_at, delivered_at, gave_up_at, last_status,
               last_error FROM outbox WHERE \(condition) ORDER BY id LIMIT \(max(1, min(limit, 10_000)))
        """
    }

    static func message(_ row: SQLRow) throws -> OutboxMessage {
        OutboxMessage(
            id: try row.int64(0), eventID: try row.text(1), type: try row.text(2), invoice: try row.optionalText(3),
            payload: try row.blob(4), createdAt: try row.uint64(5), attempts: try row.int(6),
            nextAttemptAt: try row.uint64(7), deliveredAt: try row.optionalUInt64(8),
            gaveUpAt: try row.optionalUInt64(9), lastStatus: try row.isNull(10) ? nil : row.int(10),
            lastError: try row.optionalText(11))
    }
}

extension Outbox {
    /// The schema this build migrates to: module name and latest version (for `settled doctor`).
    public static func schema(_ backend: SQLBackend) -> (module: String, version: Int) {
        (NotifySchema.module, NotifySchema.migrations.list(backend).count)
    }
}
