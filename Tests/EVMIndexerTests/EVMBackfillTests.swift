import SettleConfiguration
import EVM
import EVMIndexer
import Leases
import Foundation
import Logging
import PostgresNIO
import SettleCore
import Store
import TestSupport
import Testing
import Transport

@Suite("Initial backfill of a long finalized history (synthetic chain fixture)", .serialized)
struct EVMBackfillTests {
    @Test("full mode: every log indexed once, secondary indexes in place, cursor at the head; same result without log timestamps",
          arguments: [(IndexBackend.sqlite, true), (.sqlite, false), (.postgres, true)])
    func fullBackfill(backend: IndexBackend, logTimestamps: Bool) async throws {
        let fixture = try await Peer.start(script: "chain_fixture.py", arguments: [
            "--blocks", "2500", "--logs-per-block", "6", "--tokens", "3", "--owners", "500", "--max-results", "400",
        ] + (logTimestamps ? [] : ["--no-log-timestamps"]))
        let http = HTTPClient()
        defer { http.shutdown() }
        let rpc = JSONRPCClient(endpoints: [RPCEndpoint(url: fixture.url("/"), label: "fixture")], http: http)
        let summary = try await rpc.call("fixture_summary")
        let tokens = try (summary["tokens"]?.arrayValue ?? []).map { try EVMAddress(hex: $0.stringValue ?? "") }
        var text = """
            family = "evm"
            chain_id = 1
            rpc_urls = ["\(fixture.url("/"))"]
            block_time_ms = 12000
            max_log_range = 1000
            [finality]
            mode = "confirmations"
            confirmations = 3
            [index]
            mode = "full"

            """
        for (i, token) in tokens.enumerated() {
            text += "[[tokens]]\nsymbol = \"T\(i)\"\naddress = \"\(token.checksummed)\"\ndecimals = 6\n"
        }
        let config = try ChainConfig.parse(text, file: "fixture.toml")
        let index = try await backend.open()
        defer { index.close() }
        let store = index.store
        // The indexer starts under a lease another daemon has since taken over: its first commit is fenced, nothing
        // is written; under the current lease it indexes everything.
        let stale = try #require(try await index.leases.acquire("index fixture", holder: "a", now: 1_000, ttl: 10))
        let current = try #require(try await index.leases.acquire("index fixture", holder: "b", now: 2_000, ttl: 1_000_000))
        let indexer = EVMChainIndexer(config: config, node: EVMNode(rpc: rpc), store: store, spenders: [], logger: Logger(label: "test"), lease: stale)
        let fenced = await #expect(throws: StoreError.self) { try await indexer.indexToHead() }
        #expect(fenced?.code == .fenced)
        let chain = try await indexer.prepare().id
        #expect(try await store.cursor(chain: chain).nextBlock == 0)
        #expect(try await store.approvals(chain: chain, from: 0, to: 2499).isEmpty)
        await indexer.hold(current)
        try await indexer.indexToHead()

        #expect(try await store.cursor(chain: chain).nextBlock == 2500)
        let approvals = try await store.approvals(chain: chain, from: 0, to: 2499)
        let transfers = try await store.transfers(chain: chain, from: 0, to: 2499)
        #expect(approvals.count == Int(summary["approvals"]?.int64Value ?? -1))
        #expect(transfers.count == Int(summary["transfers"]?.int64Value ?? -1))
        #expect(transfers.allSatisfy { $0.blockTime == 1_700_000_000 + 12 * $0.block })
        // The event tables' secondary indexes (SQLite drops them for the bulk backfill, then rebuilds them).
        var indexes = 0
        if let sqlite = index.sqlite {
            indexes = try await sqlite.database.read { db in
                let s = try db.statement("""
                    SELECT count(*) FROM sqlite_master WHERE type = 'index' AND tbl_name IN ('evm_approvals', 'evm_transfers') AND name LIKE 'evm_%_by_%'
                    """)
                return try s.step() ? s.int(0) : 0
            }
        }
        if let postgres = index.postgres {
            let rows = try await postgres.database.client.query("""
                SELECT count(*) FROM pg_indexes WHERE tablename IN ('evm_approvals', 'evm_transfers') AND indexname LIKE 'evm_%_by_%'
                """, logger: postgres.database.logger)
            for try await count in rows.decode(Int64.self) { indexes = Int(count) }
        }
        #expect(indexes == 1)
        if let sqlite = index.sqlite {
            // The bulk load's commits skipped the foreign-key lookups: every row still names an existing parent, and
            // the writer connection enforces foreign keys again for everyone else.
            let (violations, enforced) = try await sqlite.database.writeRaw { db in
                let check = try db.statement("PRAGMA foreign_key_check")
                var violations = 0
                while try check.step() { violations += 1 }
                let pragma = try db.statement("PRAGMA foreign_keys")
                return (violations, try pragma.step() ? pragma.int(0) : -1)
            }
            #expect(violations == 0)
            #expect(enforced == 1)
        }
        // A replay over the whole range finds nothing to repair.
        #expect(try await indexer.replay(from: 0, to: 2499).clean)
    }

    @Test("a slow node that throttles past three requests in flight: several requests at once, the window narrows, every log indexed once")
    func throttledNode() async throws {
        let fixture = try await Peer.start(script: "chain_fixture.py", arguments: [
            "--blocks", "3000", "--logs-per-block", "4", "--tokens", "3", "--owners", "500",
            "--latency-ms", "20", "--throttle-above", "3",
        ])
        let http = HTTPClient()
        defer { http.shutdown() }
        let rpc = JSONRPCClient(endpoints: [RPCEndpoint(url: fixture.url("/"), label: "fixture")], http: http,
                                retry: RetryPolicy(maximumAttempts: 20, baseDelay: .milliseconds(10)))
        let summary = try await rpc.call("fixture_summary")
        let tokens = try (summary["tokens"]?.arrayValue ?? []).map { try EVMAddress(hex: $0.stringValue ?? "") }
        var text = """
            family = "evm"
            chain_id = 1
            rpc_urls = ["\(fixture.url("/"))"]
            block_time_ms = 12000
            max_log_range = 25
            [finality]
            mode = "confirmations"
            confirmations = 3
            [index]
            mode = "full"
            requests_in_flight = 8

            """
        for (i, token) in tokens.enumerated() {
            text += "[[tokens]]\nsymbol = \"T\(i)\"\naddress = \"\(token.checksummed)\"\ndecimals = 6\n"
        }
        let config = try ChainConfig.parse(text, file: "fixture.toml")
        #expect(config.requestsInFlight == 8)
        let index = try await IndexBackend.sqlite.open()
        defer { index.close() }
        let indexer = EVMChainIndexer(config: config, node: EVMNode(rpc: rpc), store: index.store, spenders: [], logger: Logger(label: "test"))
        try await indexer.indexToHead()
        let chain = try await indexer.prepare().id
        #expect(try await index.store.cursor(chain: chain).nextBlock == 3000)
        let approvals = try await index.store.approvals(chain: chain, from: 0, to: 2999)
        let transfers = try await index.store.transfers(chain: chain, from: 0, to: 2999)
        #expect(approvals.count == Int(summary["approvals"]?.int64Value ?? -1))
        #expect(transfers.count == Int(summary["transfers"]?.int64Value ?? -1))
        #expect(Set(transfers.map { LogKey(block: $0.block, index: $0.logIndex) }).count == transfers.count)
        let stats = try await rpc.call("fixture_stats")
        let requests = stats["requests"]?.int64Value ?? 0
        let throttled = stats["throttled"]?.int64Value ?? 0
        let most = stats["max_in_flight"]?.int64Value ?? 0
        print("throttled node: \(requests) requests, \(throttled) answered 429, at most \(most) in flight")
        #expect(most >= 3)  // several at once (the old backfill had two at most)
        #expect(throttled > 0)  // the node did push back …
        // … and the window narrowed instead of hammering it: about one request in eight answered 429 (a window that
        // never narrows had five in eight).
        #expect(throttled * 4 < requests)
    }
}

/// A log's position, for counting duplicates.
private struct LogKey: Hashable {
    var block: UInt64
    var index: UInt64
}
