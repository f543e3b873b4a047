import SettleConfiguration
import EVM
import EVMIndexer
import Foundation
import Logging
import SettleCore
import Store
import TestSupport
import Testing
import Transport

@Suite("Initial backfill of a long finalized history (synthetic chain fixture)", .serialized)
struct EVMBackfillTests {
    @Test("full mode: every log indexed once, secondary indexes rebuilt, cursor at the head; same result without log timestamps",
          arguments: [true, false])
    func fullBackfill(logTimestamps: Bool) async throws {
        let fixture = try Peer(script: "chain_fixture.py", arguments: [
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
        let directory = try temporaryDirectory("settle-backfill")
        let database = try Database(path: directory.appendingPathComponent("index.sqlite").path)
        let store = EVMIndexStore(database: database)
        try await store.migrate()
        let indexer = EVMChainIndexer(config: config, node: EVMNode(rpc: rpc), store: store, spenders: [], logger: Logger(label: "test"))
        try await indexer.indexToHead()

        let chain = try await indexer.prepare().id
        #expect(try await store.cursor(chain: chain).nextBlock == 2500)
        let approvals = try await store.approvals(chain: chain, from: 0, to: 2499)
        let transfers = try await store.transfers(chain: chain, from: 0, to: 2499)
        #expect(approvals.count == Int(summary["approvals"]?.int64Value ?? -1))
        #expect(transfers.count == Int(summary["transfers"]?.int64Value ?? -1))
        #expect(transfers.allSatisfy { $0.blockTime == 1_700_000_000 + 12 * $0.block })
        let indexes = try await database.read { db in
            // The event tables' secondary indexes (dropped for the bulk backfill, then rebuilt).
            let s = try db.statement("""
                SELECT count(*) FROM sqlite_master WHERE type = 'index' AND tbl_name IN ('evm_approvals', 'evm_transfers') AND name LIKE 'evm_%_by_%'
                """)
            return try s.step() ? s.int(0) : 0
        }
        #expect(indexes == 1)
        // A replay over the whole range finds nothing to repair.
        #expect(try await indexer.replay(from: 0, to: 2499).clean)
    }
}
