import Foundation
import Leases
import SettleCore
import Signing
import Solana
import SolanaIndexer
import Store
import TestSupport
import Testing

/// The Solana index store's contract, the same tests on both backends: a SQLite file and a real PostgreSQL server.
@Suite("Solana index store (SQLite and PostgreSQL)")
struct SolanaIndexStoreTests {
    typealias Backend = SolanaIndexDatabase.Backend

    /// A wallet with two token accounts (USDC, EURC), our delegate and a stranger, on a registered chain.
    struct World {
        let database: SolanaIndexDatabase
        let chain: Int64
        let wallet = Self.key()
        let delegate = Self.key()
        let stranger = Self.key()
        let usdc = Self.key()
        let eurc = Self.key()
        let usdcAccount = Self.key()
        let eurcAccount = Self.key()

        var store: any SolanaIndexStore { database.store }
        var owners: [SolanaPublicKey: SolanaPublicKey] { [usdcAccount: wallet, eurcAccount: wallet] }

        static func make(_ backend: Backend) async throws -> World {
            let database = try await SolanaIndexDatabase.make(backend)
            let world = World(database: database, chain: try await database.store.register(name: "solana"))
            try await world.store.track(chain: world.chain, TrackedTokenAccount(account: world.usdcAccount, owner: world.wallet, mint: world.usdc, program: .token))
            try await world.store.track(chain: world.chain, TrackedTokenAccount(account: world.eurcAccount, owner: world.wallet, mint: world.eurc,
                                                                                program: .token2022))
            return world
        }

        static func key() -> SolanaPublicKey { SolanaPublicKey(Ed25519PrivateKey.generate().publicKey) }

        static func signature(_ n: UInt8) -> SolanaSignature {
            SolanaSignature(rawValue: try! Bytes64([UInt8](repeating: n, count: 64)))
        }

        func transaction(_ n: UInt8, slot: UInt64, blockTime: UInt64? = nil, failed: Bool = false) -> FetchedSolanaTransaction {
            FetchedSolanaTransaction(signature: Self.signature(n), slot: slot, blockTime: blockTime, failed: failed, accountKeys: [], instructions: [],
                                     preTokenBalances: [], postTokenBalances: [], fee: 5_000)
        }

        func approve(_ amount: UInt64, to delegate: SolanaPublicKey? = nil, account: SolanaPublicKey? = nil, outer: Int = 0, inner: Int? = nil) -> TokenEvent {
            TokenEvent(kind: .approve, program: .token, source: account ?? usdcAccount, counterparty: delegate ?? self.delegate, authority: wallet,
                       mint: nil, amount: amount, decimals: nil, outerIndex: outer, innerIndex: inner)
        }

        func transfer(_ amount: UInt64, by authority: SolanaPublicKey? = nil, account: SolanaPublicKey? = nil, checked: Bool = false,
                      outer: Int = 0, inner: Int? = nil) -> TokenEvent {
            let account = account ?? usdcAccount
            return TokenEvent(kind: .transfer, program: account == eurcAccount ? .token2022 : .token, source: account, counterparty: stranger,
                              authority: authority ?? delegate, mint: checked ? (account == eurcAccount ? eurc : usdc) : nil, amount: amount,
                              decimals: checked ? 6 : nil, outerIndex: outer, innerIndex: inner)
        }

        func revoke(account: SolanaPublicKey? = nil, outer: Int = 0) -> TokenEvent {
            TokenEvent(kind: .revoke, program: .token, source: account ?? usdcAccount, counterparty: nil, authority: wallet, mint: nil, amount: 0,
                       decimals: nil, outerIndex: outer, innerIndex: nil)
        }

        func cursor(_ account: SolanaPublicKey) async throws -> SolanaSignature? {
            try await store.trackedAccounts(chain: chain).first { $0.account == account }?.newestSignature
        }
    }

    @Test("chains register once; accounts are tracked once, by account key, their cursors kept", arguments: Backend.allCases)
    func registerAndTrack(_ backend: Backend) async throws {
        let world = try await World.make(backend)
        defer { world.database.close() }
        #expect(try await world.store.register(name: "solana") == world.chain)
        #expect(try await world.store.chainID(named: "solana") == world.chain)
        #expect(try await world.store.chainID(named: "devnet") == nil)
        let devnet = try await world.store.register(name: "devnet")
        #expect(devnet != world.chain)
        #expect(try await world.store.trackedAccounts(chain: devnet).isEmpty)

        let tracked = try await world.store.trackedAccounts(chain: world.chain)
        #expect(tracked.map(\.account) == [world.usdcAccount, world.eurcAccount].sorted { $0.bytes.lexicographicallyPrecedes($1.bytes) })
        #expect(tracked.first { $0.account == world.eurcAccount } == TrackedTokenAccount(account: world.eurcAccount, owner: world.wallet,
                                                                                       mint: world.eurc, program: .token2022))
        try await world.store.commit(chain: world.chain, [], owners: [:], removing: [], cursor: (world.usdcAccount, World.signature(9)), lease: nil)
        // Tracking again (another discovery pass) keeps the cursor and the first owner.
        try await world.store.track(chain: world.chain, TrackedTokenAccount(account: world.usdcAccount, owner: world.stranger, mint: world.usdc, program: .token))
        #expect(try await world.cursor(world.usdcAccount) == World.signature(9))
        #expect(try await world.store.trackedAccounts(chain: world.chain).first { $0.account == world.usdcAccount }?.owner == world.wallet)
        #expect(try await world.cursor(world.eurcAccount) == nil)
    }

    @Test("a commit stores transactions, events and the cursor together; known ones and repeats are skipped; every field round-trips",
          arguments: Backend.allCases)
    func commitRoundTrip(_ backend: Backend) async throws {
        let world = try await World.make(backend)
        defer { world.database.close() }
        let events = [
            world.approve(.max, outer: 0),
            world.transfer(2, by: world.wallet, outer: 1, inner: 3),
            world.transfer(1, account: world.eurcAccount, checked: true, outer: 1, inner: 0),
        ]
        let late = UInt64(1) << 62
        try await world.store.commit(chain: world.chain, [
            (world.transaction(1, slot: late, blockTime: late - 1), events),
            (world.transaction(2, slot: 7), []),
            (world.transaction(1, slot: 8), [world.revoke()]),  // a repeat within the batch: the first one counts
        ], owners: world.owners, removing: [], cursor: (world.usdcAccount, World.signature(2)), lease: nil)
        #expect(try await world.cursor(world.usdcAccount) == World.signature(2))
        #expect(try await world.store.known(chain: world.chain, [World.signature(1), World.signature(2), World.signature(3)])
                == [World.signature(1), World.signature(2)])
        #expect(try await world.store.known(chain: world.chain, []).isEmpty)

        let stored = try await world.store.events(chain: world.chain)
        #expect(stored.map(\.event) == [events[0], events[2], events[1]])  // outer, then inner index; an outer instruction first
        #expect(stored.allSatisfy { $0.signature == World.signature(1) && $0.slot == late && $0.blockTime == late - 1 && !$0.final })
        #expect(stored.allSatisfy { $0.owner == world.wallet })

        // Committed again (a retried batch): nothing doubles, nothing changes.
        try await world.store.commit(chain: world.chain, [(world.transaction(1, slot: late), [world.revoke()])], owners: world.owners)
        #expect(try await world.store.events(chain: world.chain) == stored)
        // An event on an account whose owner is not known is stored without one.
        try await world.store.commit(chain: world.chain, [(world.transaction(3, slot: 9), [world.transfer(5, account: World.key())])], owners: world.owners)
        #expect(try await world.store.events(chain: world.chain).first { $0.signature == World.signature(3) }?.owner == nil)
    }

    @Test("a slot or block time past 2^63 - 1 is refused before anything is written", arguments: Backend.allCases)
    func unstorableNumbers(_ backend: Backend) async throws {
        let world = try await World.make(backend)
        defer { world.database.close() }
        for transaction in [world.transaction(1, slot: UInt64(Int64.max) + 1), world.transaction(1, slot: 5, blockTime: .max)] {
            let error = await #expect(throws: StoreError.self) {
                try await world.store.commit(chain: world.chain, [(world.transaction(2, slot: 4), [world.approve(1)]), (transaction, [world.approve(2)])],
                                             owners: world.owners, removing: [], cursor: (world.usdcAccount, World.signature(2)), lease: nil)
            }
            #expect(error?.code == .corruptValue)
        }
        await #expect(throws: StoreError.self) {
            try await world.store.settle(chain: world.chain, finalized: [], dropped: [], finalizedSlot: .max)
        }
        #expect(try await world.store.events(chain: world.chain).isEmpty)
        #expect(try await world.store.known(chain: world.chain, [World.signature(2)]).isEmpty)
        #expect(try await world.cursor(world.usdcAccount) == nil)
    }

    @Test("a batch the schema refuses (two events at one instruction) is .constraint on both backends and writes nothing, cursor included",
          arguments: Backend.allCases)
    func refusedBatch(_ backend: Backend) async throws {
        let world = try await World.make(backend)
        defer { world.database.close() }
        let error = await #expect(throws: StoreError.self) {
            try await world.store.commit(chain: world.chain, [(world.transaction(1, slot: 5), [world.approve(1), world.approve(2)])],
                                         owners: world.owners, removing: [], cursor: (world.usdcAccount, World.signature(1)), lease: nil)
        }
        #expect(error?.code == .constraint, "\(String(describing: error))")
        #expect(try await world.store.events(chain: world.chain).isEmpty)
        #expect(try await world.store.known(chain: world.chain, [World.signature(1)]).isEmpty)
        #expect(try await world.cursor(world.usdcAccount) == nil)
    }

    @Test("events by owner, mint and kind, in history order: slot, signature, instruction", arguments: Backend.allCases)
    func eventFilters(_ backend: Backend) async throws {
        let world = try await World.make(backend)
        defer { world.database.close() }
        try await world.store.commit(chain: world.chain, [
            (world.transaction(9, slot: 20), [world.transfer(3)]),
            (world.transaction(8, slot: 20), [world.transfer(2, account: world.eurcAccount, checked: true)]),
            (world.transaction(7, slot: 10), [world.approve(10), world.revoke(outer: 1)]),
        ], owners: world.owners)
        try await world.store.commit(chain: world.chain, [(world.transaction(6, slot: 30), [world.transfer(4, account: world.stranger)])],
                                     owners: [world.stranger: world.stranger])
        let all = try await world.store.events(chain: world.chain)
        #expect(all.map(\.event.amount) == [10, 0, 2, 3, 4])
        #expect(try await world.store.events(chain: world.chain, owner: world.wallet).map(\.event.amount) == [10, 0, 2, 3])
        #expect(try await world.store.events(chain: world.chain, owner: world.stranger).map(\.event.amount) == [4])
        #expect(try await world.store.events(chain: world.chain, owner: World.key()).isEmpty)
        // The mint filter is the event's own mint (only a Checked instruction names one).
        #expect(try await world.store.events(chain: world.chain, owner: world.wallet, mint: world.eurc).map(\.event.amount) == [2])
        #expect(try await world.store.events(chain: world.chain, owner: nil, mint: nil, kinds: [.approve, .revoke]).map(\.event.kind) == [.approve, .revoke])
        #expect(try await world.store.events(chain: world.chain, owner: world.wallet, mint: nil, kinds: [.transfer]).map(\.event.amount) == [2, 3])
        let other = try await world.store.register(name: "other")
        #expect(try await world.store.events(chain: other).isEmpty)
    }

    @Test("settle marks final, drops only confirmed rows with their events, and only raises the finalized slot", arguments: Backend.allCases)
    func settle(_ backend: Backend) async throws {
        let world = try await World.make(backend)
        defer { world.database.close() }
        try await world.store.commit(chain: world.chain, [
            (world.transaction(3, slot: 30), [world.transfer(3)]),
            (world.transaction(1, slot: 10), [world.approve(10)]),
            (world.transaction(2, slot: 20), [world.transfer(2)]),
        ], owners: world.owners)
        #expect(try await world.store.unfinalized(chain: world.chain).map(\.slot) == [10, 20, 30])
        try await world.store.settle(chain: world.chain, finalized: [World.signature(1)], dropped: [World.signature(2)], finalizedSlot: 25)
        #expect(try await world.store.unfinalized(chain: world.chain).map(\.signature) == [World.signature(3)])
        let events = try await world.store.events(chain: world.chain)
        #expect(events.map(\.event.amount) == [10, 3])
        #expect(events.map(\.final) == [true, false])
        // A finalized transaction named as dropped stays; the finalized slot never goes back.
        try await world.store.settle(chain: world.chain, finalized: [], dropped: [World.signature(1)], finalizedSlot: 5)
        #expect(try await world.store.events(chain: world.chain).count == 2)
        #expect(try await world.database.integer("SELECT finalized_slot FROM sol_chains WHERE id = \(world.chain)") == 25)
        try await world.store.settle(chain: world.chain, finalized: [World.signature(3)], dropped: [], finalizedSlot: 40)
        #expect(try await world.database.integer("SELECT finalized_slot FROM sol_chains WHERE id = \(world.chain)") == 40)
        #expect(try await world.store.unfinalized(chain: world.chain).isEmpty)
    }

    @Test("states: the newest read wins, an older one is ignored; by owner and mint", arguments: Backend.allCases)
    func states(_ backend: Backend) async throws {
        let world = try await World.make(backend)
        defer { world.database.close() }
        let usdc = SolanaAccountState(account: world.usdcAccount, amount: .max, delegate: world.delegate, delegatedAmount: 5, slot: 10)
        let eurc = SolanaAccountState(account: world.eurcAccount, amount: 7, delegate: nil, delegatedAmount: 0, slot: 10)
        try await world.store.saveStates(chain: world.chain, [usdc, eurc])
        #expect(Set(try await world.store.states(chain: world.chain, owner: world.wallet)) == [usdc, eurc])
        #expect(try await world.store.states(chain: world.chain, owner: world.wallet, mint: world.eurc) == [eurc])
        #expect(try await world.store.states(chain: world.chain, owner: world.stranger).isEmpty)
        var older = usdc
        older.amount = 1
        older.slot = 9
        var newer = usdc
        newer.delegate = nil
        newer.delegatedAmount = 0
        newer.slot = 11
        try await world.store.saveStates(chain: world.chain, [older])
        #expect(try await world.store.states(chain: world.chain, owner: world.wallet, mint: world.usdc) == [usdc])
        // Within one call too: the newest of an account's states is what stays.
        try await world.store.saveStates(chain: world.chain, [newer, older])
        #expect(try await world.store.states(chain: world.chain, owner: world.wallet, mint: world.usdc) == [newer])
    }

    @Test("the delegation the events imply: approve, the delegate's pulls, others' transfers, failed transactions, revoke",
          arguments: Backend.allCases)
    func impliedDelegation(_ backend: Backend) async throws {
        let world = try await World.make(backend)
        defer { world.database.close() }
        try await world.store.commit(chain: world.chain, [
            (world.transaction(1, slot: 1), [world.approve(100)]),
            (world.transaction(2, slot: 2), [world.transfer(30)]),
            (world.transaction(3, slot: 3), [world.transfer(50, by: world.wallet)]),  // the owner's own payment
            (world.transaction(4, slot: 4, failed: true), [world.transfer(60)]),      // failed: moves nothing
            (world.transaction(5, slot: 5), [world.approve(9, account: world.eurcAccount)]),
        ], owners: world.owners)
        var implied = try await world.store.impliedDelegation(chain: world.chain, account: world.usdcAccount)
        #expect(implied.delegate == world.delegate && implied.amount == 70)
        try await world.store.commit(chain: world.chain, [(world.transaction(6, slot: 6), [world.transfer(70)])], owners: world.owners)
        implied = try await world.store.impliedDelegation(chain: world.chain, account: world.usdcAccount)
        #expect(implied.delegate == nil && implied.amount == 0)  // spent to zero: cleared
        try await world.store.commit(chain: world.chain, [(world.transaction(7, slot: 7), [world.approve(5), world.revoke(outer: 1)])], owners: world.owners)
        implied = try await world.store.impliedDelegation(chain: world.chain, account: world.usdcAccount)
        #expect(implied.delegate == nil && implied.amount == 0)
        implied = try await world.store.impliedDelegation(chain: world.chain, account: world.eurcAccount)
        #expect(implied.delegate == world.delegate && implied.amount == 9)
        implied = try await world.store.impliedDelegation(chain: world.chain, account: World.key())
        #expect(implied.delegate == nil && implied.amount == 0)
    }

    @Test("replay's reads and repair: events by signature in a slot range; removals and replacements in one commit", arguments: Backend.allCases)
    func replayRepair(_ backend: Backend) async throws {
        let world = try await World.make(backend)
        defer { world.database.close() }
        try await world.store.commit(chain: world.chain, [
            (world.transaction(1, slot: 10), [world.approve(10), world.transfer(1, outer: 1)]),
            (world.transaction(2, slot: 20), []),
            (world.transaction(3, slot: 30), [world.transfer(3)]),
        ], owners: world.owners)
        var bySignature = try await world.store.eventsBySignature(chain: world.chain, fromSlot: 10, toSlot: 20)
        #expect(bySignature == [World.signature(1): [world.approve(10), world.transfer(1, outer: 1)], World.signature(2): []])
        #expect(try await world.store.eventsBySignature(chain: world.chain, fromSlot: 31, toSlot: .max).isEmpty)
        #expect(try await world.store.eventsBySignature(chain: world.chain, fromSlot: 0, toSlot: .max).count == 3)

        try await world.store.commit(chain: world.chain, [(world.transaction(1, slot: 10), [world.approve(11)])], owners: world.owners,
                                     removing: [World.signature(1), World.signature(3)], cursor: nil, lease: nil)
        bySignature = try await world.store.eventsBySignature(chain: world.chain, fromSlot: 0, toSlot: 100)
        #expect(bySignature == [World.signature(1): [world.approve(11)], World.signature(2): []])
        try await world.store.remove(chain: world.chain, [World.signature(2), World.signature(9)])
        #expect(try await world.store.known(chain: world.chain, [World.signature(1), World.signature(2)]) == [World.signature(1)])
    }

    @Test("delegateHistory: the delegate's approvals and pulls and every revoke, oldest first, paged by position; unknown keys",
          arguments: Backend.allCases)
    func delegateHistory(_ backend: Backend) async throws {
        let world = try await World.make(backend)
        defer { world.database.close() }
        try await world.store.commit(chain: world.chain, [
            (world.transaction(1, slot: 10), [world.approve(10), world.transfer(1, outer: 1, inner: 0), world.transfer(2, outer: 1, inner: 1)]),
            (world.transaction(2, slot: 11), [world.approve(5, to: world.stranger), world.transfer(1, by: world.wallet, outer: 1)]),
            (world.transaction(3, slot: 12), [world.revoke(account: world.eurcAccount)]),
            (world.transaction(4, slot: 13), [world.transfer(4, account: world.eurcAccount)]),
        ], owners: world.owners)
        func page(after: SolanaHistoryPosition?, mint: SolanaPublicKey? = nil, delegate: SolanaPublicKey? = nil, owner: SolanaPublicKey? = nil,
                  limit: Int = 2) async throws -> [SolanaEventRecord] {
            try await world.store.delegateHistory(chain: world.chain, owner: owner ?? world.wallet, delegate: delegate ?? world.delegate, mint: mint,
                                                  after: after, limit: limit)
        }
        var rows: [SolanaEventRecord] = []
        var after: SolanaHistoryPosition?
        while true {
            let next = try await page(after: after)
            rows += next
            guard next.count == 2, let last = next.last else { break }
            after = SolanaHistoryPosition(slot: last.slot, signature: last.signature, outerIndex: last.event.outerIndex, innerIndex: last.event.innerIndex)
        }
        #expect(rows.map(\.event.amount) == [10, 1, 2, 0, 4])
        #expect(rows.map(\.event.kind) == [.approve, .transfer, .transfer, .revoke, .transfer])
        #expect(try await page(after: nil, mint: world.eurc, limit: 10).map(\.slot) == [12, 13])
        #expect(try await page(after: nil, mint: World.key(), limit: 10).isEmpty)
        #expect(try await page(after: nil, owner: World.key(), limit: 10).isEmpty)
        #expect(try await page(after: nil, delegate: World.key(), limit: 10).map(\.event.kind) == [.revoke])
        #expect(try await page(after: nil, limit: 0).isEmpty)
    }

    @Test("fencing: a write under a lease that changed hands throws .fenced and writes nothing; the new holder's writes commit",
          arguments: Backend.allCases)
    func fencing(_ backend: Backend) async throws {
        let world = try await World.make(backend)
        defer { world.database.close() }
        let leases: any LeaseStore = if let sqlite = world.database.sqlite {
            try await SQLiteLeaseStore(database: sqlite)
        } else {
            try await PostgresLeaseStore(database: try #require(world.database.postgres))
        }
        let a = try #require(try await leases.acquire("index solana", holder: "a", now: 1_000, ttl: 100))
        try await world.store.commit(chain: world.chain, [(world.transaction(1, slot: 10), [world.approve(10)])], owners: world.owners,
                                     removing: [], cursor: (world.usdcAccount, World.signature(1)), lease: a)
        // a pauses past its lease; b takes the work over (epoch 2), then a wakes and commits its next batch.
        let b = try #require(try await leases.acquire("index solana", holder: "b", now: 1_200, ttl: 100))
        #expect(b.epoch == a.epoch + 1)
        let stale = await #expect(throws: StoreError.self) {
            try await world.store.commit(chain: world.chain, [(world.transaction(2, slot: 20), [world.transfer(3)])], owners: world.owners,
                                         removing: [World.signature(1)], cursor: (world.usdcAccount, World.signature(2)), lease: a)
        }
        #expect(stale?.code == .fenced)
        // Nothing of the refused commit is there: no event, no transaction, no removal, the cursor where it was.
        #expect(try await world.store.events(chain: world.chain).map(\.event.amount) == [10])
        #expect(try await world.store.known(chain: world.chain, [World.signature(1), World.signature(2)]) == [World.signature(1)])
        #expect(try await world.cursor(world.usdcAccount) == World.signature(1))
        // Every other write under the stale lease is refused too, and changes nothing.
        let writes: [@Sendable () async throws -> Void] = [
            { try await world.store.settle(chain: world.chain, finalized: [World.signature(1)], dropped: [], finalizedSlot: 50, lease: a) },
            { try await world.store.saveStates(chain: world.chain, [SolanaAccountState(account: world.usdcAccount, amount: 1, delegate: nil,
                                                                                       delegatedAmount: 0, slot: 5)], lease: a) },
            { try await world.store.track(chain: world.chain, TrackedTokenAccount(account: world.stranger, owner: world.stranger, mint: world.usdc,
                                                                                  program: .token), lease: a) },
            { try await world.store.remove(chain: world.chain, [World.signature(1)], lease: a) },
        ]
        for write in writes {
            let error = await #expect(throws: StoreError.self) { try await write() }
            #expect(error?.code == .fenced)
        }
        #expect(try await world.store.unfinalized(chain: world.chain).map(\.signature) == [World.signature(1)])
        #expect(try await world.store.states(chain: world.chain, owner: world.wallet).isEmpty)
        #expect(try await world.store.trackedAccounts(chain: world.chain).count == 2)
        #expect(try await world.store.events(chain: world.chain).count == 1)
        #expect(try await world.database.integer("SELECT finalized_slot FROM sol_chains WHERE id = \(world.chain)") == nil)

        // The new holder commits the same batch.
        try await world.store.commit(chain: world.chain, [(world.transaction(2, slot: 20), [world.transfer(3)])], owners: world.owners,
                                     removing: [], cursor: (world.usdcAccount, World.signature(2)), lease: b)
        #expect(try await world.store.events(chain: world.chain).map(\.event.amount) == [10, 3])
        #expect(try await world.cursor(world.usdcAccount) == World.signature(2))
        try await world.store.settle(chain: world.chain, finalized: [World.signature(1)], dropped: [], finalizedSlot: 50, lease: b)
        #expect(try await world.store.unfinalized(chain: world.chain).map(\.signature) == [World.signature(2)])
    }

    @Test("writers of several chains at once (several daemons) intern the same new keys without a conflict, a deadlock or a duplicate",
          arguments: Backend.allCases)
    func concurrentWriters(_ backend: Backend) async throws {
        let world = try await World.make(backend)
        defer { world.database.close() }
        let keys = (0..<40).map { _ in World.key() }
        var chains: [Int64] = []
        for n in 0..<6 { chains.append(try await world.store.register(name: "cluster-\(n)")) }
        // On PostgreSQL every other writer is another daemon: a pool of its own on the same database.
        let second = world.database.postgres.map { PostgresPool($0.location, password: nil, logger: $0.logger) }
        defer { second?.close() }
        let stores: [any SolanaIndexStore] = [world.store, second.map { PostgresSolanaIndexStore(database: $0) } ?? world.store]
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (n, chain) in chains.enumerated() {
                let store = stores[n % 2]
                group.addTask {
                    // Each writer names the keys in its own order, in batches of several transactions.
                    var generator = SeededGenerator(seed: UInt64(n + 1))
                    let order = keys.shuffled(using: &generator)
                    for round in 0..<4 {
                        let batch = (0..<5).map { i -> (transaction: FetchedSolanaTransaction, events: [TokenEvent]) in
                            let k = (round * 5 + i) * 2 % order.count
                            let event = TokenEvent(kind: .transfer, program: .token, source: order[k], counterparty: order[k + 1],
                                                   authority: order[(k + 7) % order.count], mint: order[(k + 13) % order.count], amount: UInt64(k),
                                                   decimals: 6, outerIndex: 0, innerIndex: nil)
                            return (world.transaction(UInt8(round * 5 + i + 1), slot: UInt64(round)), [event])
                        }
                        try await store.commit(chain: chain, batch, owners: [order[0]: order[1]])
                    }
                }
            }
            try await group.waitForAll()
        }
        for chain in chains { #expect(try await world.store.events(chain: chain).count == 20) }
        // Every key once: the 40 above and the 7 of the world's accounts, mints and programs.
        #expect(try await world.database.integer("SELECT count(*) FROM sol_keys") == 40 + 7)
    }

    @Test("values read back are checked: a negative slot, time or index, odd decimals, a key that is no token program are corruptValue, never a trap",
          arguments: Backend.allCases)
    func corruptValues(_ backend: Backend) async throws {
        let damages: [(sql: String, read: @Sendable (World) async throws -> Void)] = [
            ("UPDATE sol_events SET slot = -1", { world in _ = try await world.store.events(chain: world.chain) }),
            ("UPDATE sol_events SET block_time = -5", { world in _ = try await world.store.events(chain: world.chain) }),
            ("UPDATE sol_events SET outer_index = -3", { world in _ = try await world.store.events(chain: world.chain) }),
            ("UPDATE sol_events SET inner_index = -2", { world in _ = try await world.store.events(chain: world.chain) }),
            ("UPDATE sol_events SET decimals = 256", { world in _ = try await world.store.events(chain: world.chain) }),
            ("UPDATE sol_events SET program = owner", { world in _ = try await world.store.events(chain: world.chain) }),
            ("UPDATE sol_transactions SET slot = -9", { world in _ = try await world.store.unfinalized(chain: world.chain) }),
            ("UPDATE sol_account_state SET slot = -1", { world in _ = try await world.store.states(chain: world.chain, owner: world.wallet) }),
            ("UPDATE sol_events SET slot = -1", { world in
                _ = try await world.store.delegateHistory(chain: world.chain, owner: world.wallet, delegate: world.delegate, mint: nil, after: nil, limit: 5)
            }),
            ("UPDATE sol_token_accounts SET newest_signature = NULL, program = owner", { world in _ = try await world.store.trackedAccounts(chain: world.chain) }),
        ]
        for (sql, read) in damages {
            let world = try await World.make(backend)
            defer { world.database.close() }
            try await world.store.commit(chain: world.chain, [(world.transaction(1, slot: 10, blockTime: 99), [world.approve(10)])], owners: world.owners)
            try await world.store.saveStates(chain: world.chain, [SolanaAccountState(account: world.usdcAccount, amount: 1, delegate: nil,
                                                                                     delegatedAmount: 0, slot: 5)])
            try await read(world)  // readable before the damage
            try await world.database.execute(sql)
            let error = await #expect(throws: StoreError.self, "\(sql)") { try await read(world) }
            #expect(error?.code == .corruptValue, "\(sql)")
        }
    }
}
