import Billing
import Foundation
import Store
import TestSupport
import Testing

/// The Stripe inbox with several daemons on one database (a real PostgreSQL server): each event is claimed by one
/// daemon, and an object's events stay in order across daemons.
@Suite("Stripe inbox: claims across daemons")
struct StripeInboxClaimTests {
    @Test("two daemons claiming at once split the events without overlap; a claimed object's later events wait for it")
    func claimsAreDisjoint() async throws {
        let first = try await TestDatabases.fresh(.postgres, "inbox")
        let second = try TestDatabases.secondDaemon(on: first)
        defer { (first as? PostgresPool)?.close(); second.close() }
        let a = BillingStore(database: first), b = BillingStore(database: second)
        try await a.migrate()
        for i in 0..<60 {
            _ = try await a.insert(id: "evt_\(i)", type: "invoice.finalized", objectID: "in_\(i % 12)", created: UInt64(i), payload: [0x7b, 0x7d], now: 1)
        }
        let (left, right) = try await withThrowingTaskGroup(of: (Int, [StoredEvent]).self) { group in
            group.addTask { (0, try await a.claimEvents(now: 100, limit: 30)) }
            group.addTask { (1, try await b.claimEvents(now: 100, limit: 30)) }
            var out: [Int: [StoredEvent]] = [:]
            for try await (side, events) in group { out[side] = events }
            return (out[0] ?? [], out[1] ?? [])
        }
        #expect(Set(left.map(\.id)).isDisjoint(with: right.map(\.id)))
        #expect(Set(left.compactMap(\.objectID)).isDisjoint(with: right.compactMap(\.objectID)), "an object's events were split between daemons")
        // Nothing more is due while both claims hold, except objects neither side touched (none here: 60 events, 12 objects).
        let claimedObjects = Set((left + right).compactMap(\.objectID))
        let more = try await a.claimEvents(now: 101)
        #expect(more.allSatisfy { !claimedObjects.contains($0.objectID ?? "") }, "\(more.map(\.id))")
        // After the holders finish, the rest comes in order per object.
        for event in left + right + more { try await a.finish(event, error: nil, now: 102) }
        let rest = try await b.claimEvents(now: 103)
        let done = Set((left + right + more).map(\.id))
        #expect(Set(rest.map(\.id)).isDisjoint(with: done))
        #expect(done.count + rest.count == 60)
        for object in Set(rest.compactMap(\.objectID)) {
            let created = rest.filter { $0.objectID == object }.map(\.created)
            #expect(created == created.sorted())
        }
    }
}
