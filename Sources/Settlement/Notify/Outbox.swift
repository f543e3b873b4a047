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
    public let database: Database

    public init(database: Database) {
        self.database = database
    }

    public func migrate() async throws {
        try await database.migrate(module: NotifySchema.module, NotifySchema.migrations)
    }

    /// Adds a message inside the caller's transaction. The same `eventID` again adds nothing.
    /// - Returns: true when the message is new.
    @discardableResult
    public static func enqueue(_ db: SQLiteConnection, eventID: String, type: MerchantEvent, invoice: String?, data: JSON,
                               now: UInt64) throws -> Bool {
        let body: JSON = [
            "id": .string(eventID), "object": "event", "type": .string(type.rawValue), "created": .number(String(now)), "data": data,
        ]
        try db.statement("""
            INSERT INTO outbox(event_id, type, invoice, payload, created_at, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?)
            ON CONFLICT(event_id) DO NOTHING
            """).run([.text(eventID), .text(type.rawValue), invoice.map { .text($0) } ?? .null, .blob(body.serialized),
                      .integer(Int64(now)), .integer(Int64(now))])
        return db.changes == 1
    }

    /// Adds a message in its own transaction (see `enqueue(_:eventID:…)`).
    @discardableResult
    public func enqueue(eventID: String, type: MerchantEvent, invoice: String?, data: JSON, now: UInt64) async throws -> Bool {
        try await database.write { db in try Self.enqueue(db, eventID: eventID, type: type, invoice: invoice, data: data, now: now) }
    }

    /// Records that `kind` was decided for `invoice`, inside the caller's transaction.
    /// - Returns: false when it already was (so the caller sends nothing again).
    public static func noteOnce(_ db: SQLiteConnection, invoice: String, kind: String, now: UInt64) throws -> Bool {
        try db.statement("INSERT INTO notices(invoice, kind, at) VALUES (?, ?, ?) ON CONFLICT(invoice, kind) DO NOTHING")
            .run([.text(invoice), .text(kind), .integer(Int64(now))])
        return db.changes == 1
    }

    /// Messages due for delivery at `now`, oldest first.
    public func pending(now: UInt64, limit: Int = 100) async throws -> [OutboxMessage] {
        try await messages(where: "delivered_at IS NULL AND gave_up_at IS NULL AND next_attempt_at <= ?", [.integer(Int64(now))], limit: limit)
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
            try db.statement("""
                UPDATE outbox SET attempts = ?, last_status = ?, last_error = ?, delivered_at = ?, gave_up_at = ?,
                next_attempt_at = coalesce(?, next_attempt_at) WHERE id = ? AND delivered_at IS NULL
                """).run([
                    .integer(Int64(attempts)), status.map { .integer(Int64($0)) } ?? .null, error.map { .text($0) } ?? .null,
                    delivered ? .integer(Int64(now)) : .null, !delivered && next == nil ? .integer(Int64(now)) : .null,
                    next.map { .integer(Int64($0)) } ?? .null, .integer(message.id),
                ])
        }
    }

    /// Manual redelivery: the message (delivered, given up or pending) is sent again at the next pass, with a fresh
    /// retry window.
    /// - Returns: false when there is no such message.
    @discardableResult
    public func redeliver(_ idOrEvent: String, now: UInt64) async throws -> Bool {
        try await database.write { db in
            try db.statement("""
                UPDATE outbox SET delivered_at = NULL, gave_up_at = NULL, next_attempt_at = ?, created_at = ?, attempts = 0
                WHERE event_id = ? OR CAST(id AS TEXT) = ?
                """).run([.integer(Int64(now)), .integer(Int64(now)), .text(idOrEvent), .text(idOrEvent)])
            return db.changes > 0
        }
    }

    /// Messages not yet delivered nor given up (the backlog).
    public func backlog() async throws -> Int {
        try await database.read { db in
            let select = try db.statement("SELECT count(*) FROM outbox WHERE delivered_at IS NULL AND gave_up_at IS NULL")
            _ = try select.step()
            return select.int(0)
        }
    }

    private func messages(where condition: String, _ values: [SQLiteValue], limit: Int) async throws -> [OutboxMessage] {
        try await database.read { db in
            let select = try db.statement("""
                SELECT id, event_id, type, invoice, payload, created_at, attempts, next_attempt_at, delivered_at, gave_up_at, last_status,
                       last_error FROM outbox WHERE \(condition) ORDER BY id LIMIT \(limit)
                """)
            select.bind(values)
            var out: [OutboxMessage] = []
            while try select.step() {
                out.append(OutboxMessage(
                    id: select.int64(0), eventID: select.text(1), type: select.text(2), invoice: select.isNull(3) ? nil : select.text(3),
                    payload: select.blob(4), createdAt: try select.uint64(5), attempts: select.int(6),
                    nextAttemptAt: try select.uint64(7), deliveredAt: try select.optionalUInt64(8),
                    gaveUpAt: try select.optionalUInt64(9), lastStatus: select.isNull(10) ? nil : select.int(10),
                    lastError: select.isNull(11) ? nil : select.text(11)))
            }
            return out
        }
    }
}

extension Outbox {
    /// The schema this build migrates to: module name and latest version (for `settled doctor`).
    public static var schema: (module: String, version: Int) { (NotifySchema.module, NotifySchema.migrations.count) }
}
