import Foundation
import Leases
import Store
import Synchronization
import TestSupport
import Testing

/// `LeaseKeeper` between two daemons on one database, on an injected clock, on both backends.
@Suite("Lease keeper")
struct LeaseKeeperTests {
    @Test("one daemon holds and renews; the other takes over only after a lapse, with the next epoch; a release hands over at once",
          arguments: SQLBackend.allCases)
    func handOver(backend: SQLBackend) async throws {
        let (store, close) = try await LeaseTests.store(backend == .sqlite ? .sqlite : .postgres)
        defer { close() }
        let clock = Mutex<UInt64>(10_000)
        let now: @Sendable () -> UInt64 = { clock.withLock { $0 } }
        let a = LeaseKeeper(store: store, name: "settle base", holder: "a", ttl: 1_000, clock: now)
        let b = LeaseKeeper(store: store, name: "settle base", holder: "b", ttl: 1_000, clock: now)
        let first = try #require(try await a.hold())
        #expect(try await b.hold() == nil)
        clock.withLock { $0 += 600 }  // past half the lease: a renews, same epoch
        let renewed = try #require(try await a.hold())
        #expect(renewed.epoch == first.epoch && renewed.expiresAt == 11_600)
        clock.withLock { $0 += 900 }
        #expect(try await b.hold() == nil)
        clock.withLock { $0 += 200 }  // a paused past its lease: b takes over
        let taken = try #require(try await b.hold())
        #expect(taken.epoch == first.epoch + 1)
        #expect(try await a.hold() == nil, "the paused daemon must not think it still holds the work")
        await b.release()
        #expect(try await a.hold()?.epoch == first.epoch + 2)
        // A successor that knows the holder is dead (SQLite's database lock) ends its lease at once.
        let successor = LeaseKeeper(store: store, name: "settle base", holder: "c", ttl: 1_000, clock: now)
        #expect(try await successor.hold() == nil)
        try await store.lapse("settle base")
        #expect(try await successor.hold()?.epoch == first.epoch + 3)
        // a still has its lease in hand until it is due for renewal; the fence refuses it meanwhile.
        if let stale = try await a.hold() { #expect(!LeaseRule.isCurrent(stale, stored: try await store.current("settle base"))) }
    }
}
