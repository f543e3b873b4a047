import SettleConfiguration
import Foundation
import Logging
import SettleCore
import Signing
import Solana
import SolanaIndexer
import Store
import Transport

/// `settle-bench solana-index --url URL [--transactions N] [--postgres URL]` against the LiteSVM peer
/// (Tests/Peers/solana_rpc.py): (a) decode-and-index throughput of recorded getTransaction responses (the fixture: N
/// real responses, decoded with Settle's decoders and written to a fresh SQLite index), and (b) a whole indexing pass
/// over the same history through the RPC, with the RPC calls it spent per indexed transaction. With `--postgres`
/// (a PostgreSQL database URL, no password), (a) also writes the same transactions into both backends in one commit
/// and in the indexer's commits of 50, and (b) runs once more into PostgreSQL.
enum SolanaIndexBenchmark {
    static func run(arguments: [String]) async throws {
        guard let urlIndex = arguments.firstIndex(of: "--url"), urlIndex + 1 < arguments.count else {
            throw BenchError("usage: settle-bench solana-index --url URL [--transactions 2000] [--postgres postgres://USER@HOST:PORT/DB?sslmode=disable]")
        }
        var postgres: PostgresPool?
        if let i = arguments.firstIndex(of: "--postgres"), i + 1 < arguments.count {
            var logger = Logger(label: "bench.postgres")
            logger.logLevel = .error
            postgres = PostgresPool(try PostgresLocation(url: arguments[i + 1]), password: nil, logger: logger)
        }
        defer { postgres?.close() }
        let url = arguments[urlIndex + 1]
        var count = 2000
        if let i = arguments.firstIndex(of: "--transactions"), i + 1 < arguments.count { count = Int(arguments[i + 1]) ?? count }
        let http = HTTPClient()
        defer { http.shutdown() }
        let rpc = JSONRPCClient(endpoints: [RPCEndpoint(url: url, label: "litesvm")], http: http, timeout: .seconds(60))
        let node = SolanaNode(rpc: rpc)

        // History: one payer delegating to a merchant delegate, then `count` pulls by the delegate.
        let keys = try (try await rpc.call("settle_keypairs", [3]).arrayValue ?? []).map { item in
            try Ed25519PrivateKey(keypairBytes: (item["secretKey"]?.arrayValue ?? []).compactMap { $0.uint64Value.map { UInt8($0) } })
        }
        let (payer, delegate, treasury) = (keys[0], keys[1], keys[2])
        let mint = try SolanaPublicKey(base58: try await rpc.call("settle_createMint", [["decimals": 6, "program": "token"]]).stringValue ?? "")
        func ata(_ owner: SolanaPublicKey) async throws -> SolanaPublicKey {
            try SolanaPublicKey(base58: try await rpc.call("settle_createAta", [.object([("owner", .string(owner.description)), ("mint", .string(mint.description))])]).stringValue ?? "")
        }
        let source = try await ata(SolanaPublicKey(payer.publicKey))
        let destination = try await ata(SolanaPublicKey(treasury.publicKey))
        _ = try await rpc.call("settle_mintTo", [.object([("mint", .string(mint.description)), ("destination", .string(source.description)), ("amount", .number("1000000000000"))])])
        func send(_ instruction: SolanaInstruction, _ signer: Ed25519PrivateKey) async throws -> SolanaSignature {
            let blockhash = try await node.latestBlockhash().blockhash
            let message = try LegacyMessage(instructions: [instruction], payer: SolanaPublicKey(signer.publicKey), recentBlockhash: blockhash)
            return try await node.send(try SolanaTransaction(message: .legacy(message), signers: [signer]).serialized())
        }
        var signatures = [try await send(TokenInstruction.approve(source: source, delegate: SolanaPublicKey(delegate.publicKey),
                                                                  owner: SolanaPublicKey(payer.publicKey), amount: .max), payer)]
        let started = ContinuousClock.now
        for i in 0..<count - 1 {
            signatures.append(try await send(TokenInstruction.transferChecked(source: source, mint: mint, destination: destination,
                                                                              owner: SolanaPublicKey(delegate.publicKey), amount: UInt64(1 + i), decimals: 6), delegate))
        }
        print(String(format: "history: %d transactions sent to LiteSVM in %.1f s", count, started.secondsUntilNow))
        print("token account: \(source)")  // for the Python peer of run.sh, over the same history

        // (a) The fixture: every getTransaction response recorded as the node sent it.
        var bodies: [(body: [UInt8], signature: SolanaSignature)] = []
        for signature in signatures {
            let body = try await rpc.call("getTransaction", [.string(signature.description),
                                                            .object([("commitment", "confirmed"), ("encoding", "base64"), ("maxSupportedTransactionVersion", 0)])]) { (body, _) throws(RPCError) in body }
            bodies.append((body, signature))
        }
        let megabytes = Double(bodies.reduce(0) { $0 + $1.body.count }) / 1e6
        let store = SQLiteSolanaIndexStore(database: try Database(path: FileManager.default.temporaryDirectory.appendingPathComponent("settle-sol-bench-\(getpid()).sqlite").path))
        try await store.migrate()
        let chain = try await store.register(name: "bench")
        let decodeStarted = ContinuousClock.now
        var batch: [(transaction: FetchedSolanaTransaction, events: [TokenEvent])] = []
        var events = 0
        for (body, signature) in bodies {
            let response = try JSONRPCClient.parse(body)  // once, as the RPC client does
            let json = try JSONRPCClient.result(of: response, id: response["id"]?.uint64Value ?? 0)
            let transaction = try SolanaNodeDecoding.transaction(json, signature: signature)
            let decoded = TokenEvent.decode(transaction)
            events += decoded.count
            batch.append((transaction, decoded))
        }
        let decodeSeconds = decodeStarted.secondsUntilNow
        let writeStarted = ContinuousClock.now
        try await store.commit(chain: chain, batch, owners: [source: SolanaPublicKey(payer.publicKey)])
        let writeSeconds = writeStarted.secondsUntilNow
        print(String(format: "(a) fixture of %d getTransaction responses (%.1f MB): decode %.0f tx/s, decode+index %.0f tx/s (%d events)",
                     bodies.count, megabytes, Double(bodies.count) / decodeSeconds, Double(bodies.count) / (decodeSeconds + writeSeconds), events))
        if let postgres {
            let pg = PostgresSolanaIndexStore(database: postgres)
            try await pg.migrate()
            let owners = [source: SolanaPublicKey(payer.publicKey)]
            /// Seconds to write `batch` into `store` on a new chain, `per` transactions a commit.
            func write(_ store: any SolanaIndexStore, per: Int) async throws -> Double {
                let chain = try await store.register(name: "bench-writes-\(getpid())-\(per)")
                let started = ContinuousClock.now
                var offset = 0
                while offset < batch.count {
                    let chunk = Array(batch[offset..<min(offset + per, batch.count)])
                    try await store.commit(chain: chain, chunk, owners: owners, removing: [], cursor: (source, chunk[chunk.count - 1].transaction.signature), lease: nil)
                    offset += chunk.count
                }
                return started.secondsUntilNow
            }
            let rates = [try await write(pg, per: batch.count), try await write(pg, per: 50), try await write(store, per: 50)].map { Double(batch.count) / $0 }
            print(String(format: "(a') index writes of %d transactions (%d events): SQLite one commit %.0f tx/s, 50 a commit %.0f tx/s; PostgreSQL one commit %.0f tx/s, 50 a commit %.0f tx/s",
                         batch.count, events, Double(batch.count) / writeSeconds, rates[2], rates[0], rates[1]))
        }

        // (b) A whole pass through the RPC: discovery, signatures, transactions, finality, state.
        let config = try SolanaChainConfig.parse("""
            family = "solana"
            rpc_urls = ["\(url)"]
            [[tokens]]
            symbol = "BENCH"
            mint = "\(mint)"
            decimals = 6
            """, file: "bench.toml")
        let passStore = SQLiteSolanaIndexStore(database: try Database(path: FileManager.default.temporaryDirectory.appendingPathComponent("settle-sol-pass-\(getpid()).sqlite").path))
        try await passStore.migrate()
        var logger = Logger(label: "bench")
        logger.logLevel = .error
        let indexer = SolanaChainIndexer(config: config, node: node, store: passStore, delegates: [SolanaPublicKey(delegate.publicKey)], logger: logger)
        let passStarted = ContinuousClock.now
        let report = try await indexer.indexOnce()
        let passSeconds = passStarted.secondsUntilNow
        print(String(format: "(b) indexing pass over RPC: %d transactions in %.2f s = %.0f tx/s, %d RPC calls = %.2f per indexed transaction",
                     report.transactionsIndexed, passSeconds, Double(report.transactionsIndexed) / passSeconds, report.rpcCalls,
                     Double(report.rpcCalls) / Double(max(1, report.transactionsIndexed))))
        print(String(format: "settle figures: {\"pass_tps\": %.1f, \"calls_per_tx\": %.3f, \"decode_tps\": %.1f, \"decode_index_tps\": %.1f}",
                     Double(report.transactionsIndexed) / passSeconds, Double(report.rpcCalls) / Double(max(1, report.transactionsIndexed)),
                     Double(bodies.count) / decodeSeconds, Double(bodies.count) / (decodeSeconds + writeSeconds)))
        if let postgres {
            let pgStore = PostgresSolanaIndexStore(database: postgres)
            try await pgStore.migrate()
            let pgConfig = try SolanaChainConfig.parse("""
                family = "solana"
                rpc_urls = ["\(url)"]
                [[tokens]]
                symbol = "BENCH"
                mint = "\(mint)"
                decimals = 6
                """, file: "bench-\(getpid()).toml")
            let pgIndexer = SolanaChainIndexer(config: pgConfig, node: node, store: pgStore, delegates: [SolanaPublicKey(delegate.publicKey)], logger: logger)
            let pgStarted = ContinuousClock.now
            let pgReport = try await pgIndexer.indexOnce()
            let pgSeconds = pgStarted.secondsUntilNow
            print(String(format: "(b') the same pass into PostgreSQL: %d transactions in %.2f s = %.0f tx/s (SQLite: %.0f tx/s)",
                         pgReport.transactionsIndexed, pgSeconds, Double(pgReport.transactionsIndexed) / pgSeconds,
                         Double(report.transactionsIndexed) / passSeconds))
        }
    }
}

extension ContinuousClock.Instant {
    var secondsUntilNow: Double {
        let elapsed = ContinuousClock.now - self
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }
}
