import Foundation
import Leases
import Logging
import PropertyBased
import Store
import Synchronization
import TestSupport
import Testing

/// Leases and their fencing epochs: the pure rule by table and by random schedules, and both stores (a real
/// SQLite file and a real PostgreSQL server) with the same tests.
@Suite("Leases")
struct LeaseTests {
    enum Backend: String, CaseIterable, Sendable { case sqlite, postgres }

    static func store(_ backend: Backend) async throws -> (any LeaseStore, @Sendable () -> Void) {
        switch backend {
        case .sqlite:
            let directory = try temporaryDirectory("settle-leases")
            let store = try await SQLiteLeaseStore(database: try Database(path: directory.appendingPathComponent("l.sqlite").path))
            return (store, {})
        case .postgres:
            let database = try await PostgresServer.freshDatabase("leases")
            return (try await PostgresLeaseStore(database: database), { database.close() })
        }
    }

    @Test("the rule: take, extend, refuse while held, hand over with the next epoch, renew only the current lease")
    func rule() {
        let a = LeaseRule.acquire(current: nil, name: "settle base", holder: "a", now: 1_000, ttl: 500)
        #expect(a == Lease(name: "settle base", holder: "a", epoch: 1, expiresAt: 1_500))
        #expect(LeaseRule.acquire(current: a, name: "settle base", holder: "b", now: 1_499, ttl: 500) == nil)
        #expect(LeaseRule.acquire(current: a, name: "settle base", holder: "a", now: 1_200, ttl: 500)?.epoch == 1)
        let b = LeaseRule.acquire(current: a, name: "settle base", holder: "b", now: 1_500, ttl: 500)
        #expect(b == Lease(name: "settle base", holder: "b", epoch: 2, expiresAt: 2_000))
        // a's lapsed lease cannot be renewed, nor fence a write, once b holds epoch 2.
        #expect(LeaseRule.renew(current: b, lease: a!, now: 1_600, ttl: 500) == nil)
        #expect(!LeaseRule.isCurrent(a!, stored: b))
        #expect(LeaseRule.isCurrent(b!, stored: b))
        // Taking one's own lapsed lease again is a new epoch too: work begun under the old one is fenced.
        #expect(LeaseRule.acquire(current: b, name: "settle base", holder: "b", now: 2_000, ttl: 500)?.epoch == 3)
        #expect(LeaseRule.acquire(current: Lease(name: "x", holder: "a", epoch: .max, expiresAt: 0), name: "x", holder: "b", now: 1, ttl: 1) == nil)
        #expect(LeaseRule.acquire(current: nil, name: "x", holder: "a", now: .max - 1, ttl: 10)?.expiresAt == .max)
    }

    @Test("random schedules: never two holders of a running lease; epochs only grow; a write commits only under the current epoch")
    func property() async {
        await propertyCheck(count: 2_000, input: Gen.int(in: 0...2).array(of: 1...60)) { steps in
            var stored: Lease?
            var held: [String: Lease] = [:]
            var now: UInt64 = 0
            var lastEpoch: Int64 = 0
            for (i, step) in steps.enumerated() {
                let holder = ["a", "b", "c"][i % 3]
                now += UInt64(step * 70)
                switch step {
                case 0:
                    if let next = LeaseRule.acquire(current: stored, name: "n", holder: holder, now: now, ttl: 100) {
                        stored = next
                        held[holder] = next
                    }
                case 1:
                    if let lease = held[holder], let next = LeaseRule.renew(current: stored, lease: lease, now: now, ttl: 100) {
                        stored = next
                        held[holder] = next
                    }
                default:
                    // A write under each holder's lease: allowed only for the stored epoch.
                    for (name, lease) in held where LeaseRule.isCurrent(lease, stored: stored) {
                        #expect(name == stored?.holder)
                    }
                }
                let running = held.filter { $0.value == stored && $0.value.expiresAt > now }
                #expect(running.count <= 1)
                #expect((stored?.epoch ?? 0) >= lastEpoch)
                lastEpoch = stored?.epoch ?? 0
            }
        }
    }

    @Test("a store: take, refuse, lapse, hand over, fence the old holder, release", arguments: Backend.allCases)
    func store(_ backend: Backend) async throws {
        let (store, close) = try await Self.store(backend)
        defer { close() }
        let a = try #require(try await store.acquire("index base", holder: "daemon-a", now: 10_000, ttl: 1_000))
        #expect(a.epoch == 1)
        #expect(try await store.acquire("index base", holder: "daemon-b", now: 10_500, ttl: 1_000) == nil)
        #expect(try await store.acquire("settle base", holder: "daemon-b", now: 10_500, ttl: 1_000)?.epoch == 1)  // another name
        let renewed = try #require(try await store.renew(a, now: 10_900, ttl: 1_000))
        #expect(renewed.expiresAt == 11_900 && renewed.epoch == 1)
        let b = try #require(try await store.acquire("index base", holder: "daemon-b", now: 11_900, ttl: 1_000))
        #expect(b.epoch == 2 && b.holder == "daemon-b")
        #expect(try await store.renew(renewed, now: 11_950, ttl: 1_000) == nil)
        try await store.release(renewed)  // a stale release changes nothing
        #expect(try await store.current("index base") == b)
        try await store.release(b)
        let c = try #require(try await store.acquire("index base", holder: "daemon-a", now: 12_000, ttl: 1_000))
        #expect(c.epoch == 3)
    }

    @Test("many daemons asking at once (real concurrent transactions): one epoch, one holder", arguments: Backend.allCases)
    func contention(_ backend: Backend) async throws {
        let (store, close) = try await Self.store(backend)
        defer { close() }
        for round in 0..<5 {
            let now = UInt64(100_000 + round * 10_000)
            let granted = try await withThrowingTaskGroup(of: Lease?.self) { group in
                for i in 0..<12 {
                    group.addTask { try await store.acquire("settle base", holder: "d\(i)", now: now, ttl: 5_000) }
                }
                var out: [Lease] = []
                for try await lease in group { if let lease { out.append(lease) } }
                return out
            }
            #expect(granted.count == 1, "round \(round): \(granted)")
            #expect(granted.first?.epoch == Int64(round + 1))
            #expect(try await store.current("settle base") == granted.first)
        }
    }
}
