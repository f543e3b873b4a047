import ChainAdapters
import SettleConfiguration
import EVM
import EVMIndexer
import Foundation
import Logging
import SettleCore
import Settlement
import Signing
import Solana
import SolanaIndexer
import Store
import Transport

/// `settle-bench executor --evm-url URL --solana-url URL [--payers 1000]`:
/// (a) charges per second the executor signs and persists (build + sign + the ledger write that allocates the nonce
///     and stores the attempt), without a chain, with the CPU per charge;
/// (b) end-to-end settled charges per minute on the py-evm devnet and on LiteSVM with `payers` payers (one charge
///     each), with this process's CPU per charge.
enum ExecutorBenchmark {
    /// Prints a figure and flushes, so it reaches a log file even if a later step fails.
    static func say(_ line: String) {
        print(line)
        fflush(nil)
    }

    static func cpuSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
    }

    static func freshLedger(_ name: String, durability: Durability = .full) async throws -> Ledger {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("settle-bench-\(name)-\(getpid()).sqlite").path
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
        let ledger = Ledger(database: try Database(path: path, durability: durability))
        try await ledger.migrate()
        return ledger
    }

    static func run(arguments: [String]) async throws {
        func value(_ flag: String) -> String? { arguments.firstIndex(of: flag).flatMap { $0 + 1 < arguments.count ? arguments[$0 + 1] : nil } }
        let payers = Int(value("--payers") ?? "1000") ?? 1000
        // The ledger commits with synchronous=FULL (an attempt committed before its broadcast must survive power loss);
        // the same run with NORMAL (the setting before) shows what that durability costs.
        try await signAndPersist(count: 5000, durability: .normal)
        try await signAndPersist(count: 5000, durability: .full)
        if let url = value("--evm-url") { try await evmEndToEnd(url: url, payers: payers) }
        if let url = value("--solana-url") { try await solanaEndToEnd(url: url, payers: payers) }
    }

    /// (a) sign and persist only.
    static func signAndPersist(count: Int, durability: Durability) async throws {
        let ledger = try await freshLedger("sign-\(durability.rawValue)", durability: durability)
        let agreement = try await ledger.agreement(customer: "c", subscription: nil, chain: "base", token: "USDC", wallet: "0x1")
        var charges: [Charge] = []
        for i in 0..<count {
            let charge = try await ledger.createCharge(invoice: "in_\(i)", agreement: agreement.id, amount: Money(minorUnits: 2500, currency: try Currency(code: "USD")),
                                                       tokenDecimals: 6, rate: .parity, rateAt: 0, dueAt: 0).charge
            try await ledger.transition(charge.id, from: .ingested, to: .due)
            charges.append(charge)
        }
        let key = Secp256k1PrivateKey.generate()
        let token = try EVMAddress(hex: "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913")
        let payer = try EVMAddress(hex: "0x1111111111111111111111111111111111111111")
        let treasury = try EVMAddress(hex: "0x2222222222222222222222222222222222222222")
        let cpu = cpuSeconds()
        let started = ContinuousClock.now
        for charge in charges {
            _ = try await ledger.signEVMAttempt(charge: charge.id, chain: "base", signer: "0xspender", chainPending: 0, head: nil) { nonce in
                let signed = EIP1559Transaction(chainID: 8453, nonce: nonce, maxPriorityFeePerGas: 1_000_000, maxFeePerGas: 2_000_000_000,
                                                gasLimit: 80_000, to: token,
                                                data: ERC20.transferFrom(from: payer, to: treasury, amount: 25_000_000)).signed(with: key)
                return SignedPayload(transactionID: signed.hash.description, raw: signed.rawBytes)
            }
        }
        let seconds = started.secondsUntilNow
        say("(a) sign + persist (EIP-1559 transferFrom, nonce allocated in the same SQLite write), synchronous=\(durability.rawValue): "
            + String(format: "%.0f charges/s, %.2f ms per charge, CPU %.0f µs per charge",
                     Double(count) / seconds, seconds / Double(count) * 1000, (cpuSeconds() - cpu) / Double(count) * 1e6))
    }

    /// (b) EVM end to end.
    static func evmEndToEnd(url: String, payers count: Int) async throws {
        let http = HTTPClient()
        defer { http.shutdown() }
        let rpc = JSONRPCClient(endpoints: [RPCEndpoint(url: url, label: "devnet")], http: http, timeout: .seconds(60))
        let accounts = try (try await rpc.call("settle_accounts").arrayValue ?? []).map { item in
            try Secp256k1PrivateKey(bytes: try Hex.decode(item["privateKey"]?.stringValue ?? ""))
        }
        let funder = EVMAddress(publicKey: accounts[0].publicKey)
        let spender = accounts[7]
        let treasury = EVMAddress(publicKey: accounts[8].publicKey)
        let token = try EVMAddress(hex: try await rpc.call("settle_deployToken", [.object([("name", "Bench USD"), ("symbol", "BUSD"), ("decimals", 6)])]).stringValue ?? "")
        let chainID = UInt64((try await rpc.call("eth_chainId").stringValue ?? "0x539").dropFirst(2), radix: 16) ?? 1337
        let setupStarted = ContinuousClock.now
        var payerKeys: [Secp256k1PrivateKey] = []
        for _ in 0..<count {
            let key = Secp256k1PrivateKey.generate()
            let address = EVMAddress(publicKey: key.publicKey)
            payerKeys.append(key)
            _ = try await rpc.call("eth_sendTransaction", [.object([("from", .string(funder.checksummed)), ("to", .string(address.checksummed)),
                                                                    ("value", "0x2386f26fc10000")])])
            _ = try await rpc.call("settle_mint", [.object([("token", .string(token.checksummed)), ("to", .string(address.checksummed)), ("amount", "1000000000")])])
            let approve = EIP1559Transaction(chainID: chainID, nonce: 0, maxPriorityFeePerGas: 1_000_000_000, maxFeePerGas: 100_000_000_000, gasLimit: 100_000,
                                             to: token, data: ERC20.approve(spender: EVMAddress(publicKey: spender.publicKey), amount: .max)).signed(with: key)
            _ = try await rpc.call("eth_sendRawTransaction", [.string(approve.rawHex)])
        }
        say(String(format: "    EVM setup: %d payers funded, minted and approved in %.1f s", count, setupStarted.secondsUntilNow))
        let config = try ChainConfig.parse("""
            family = "evm"
            chain_id = \(chainID)
            rpc_urls = ["\(url)"]
            block_time_ms = 1000
            [finality]
            mode = "confirmations"
            confirmations = 2
            [[tokens]]
            symbol = "BUSD"
            address = "\(token.checksummed)"
            decimals = 6
            """, file: "bench.toml")
        let ledger = try await freshLedger("evm-e2e")
        for (i, key) in payerKeys.enumerated() {
            let agreement = try await ledger.agreement(customer: "cus_\(i)", subscription: nil, chain: "bench", token: "BUSD",
                                                       wallet: EVMAddress(publicKey: key.publicKey).checksummed)
            _ = try await ledger.createCharge(invoice: "in_\(i)", agreement: agreement.id, amount: Money(minorUnits: 2500, currency: try Currency(code: "USD")),
                                              tokenDecimals: 6, rate: .parity, rateAt: 0, dueAt: 0)
        }
        var logger = Logger(label: "bench")
        logger.logLevel = .critical
        let executor = EVMExecutor(config: config, node: EVMNode(rpc: rpc), ledger: ledger, key: spender, treasury: treasury, logger: logger)
        let loop = SettlementLoop(ledger: ledger, chain: "bench", executor: executor)
        let cpu = cpuSeconds()
        let started = ContinuousClock.now
        while try await ledger.charges(in: [.settled]).count < count {
            try await loop.runOnce()
            _ = try await rpc.call("evm_mine", [2])
        }
        let seconds = started.secondsUntilNow
        say(String(format: "(b) EVM end to end (py-evm devnet): %d charges settled in %.1f s = %.0f charges/min, executor CPU %.2f ms per charge",
                     count, seconds, Double(count) / seconds * 60, (cpuSeconds() - cpu) / Double(count) * 1e3))
    }

    /// (b) Solana end to end.
    static func solanaEndToEnd(url: String, payers count: Int) async throws {
        let http = HTTPClient()
        defer { http.shutdown() }
        let rpc = JSONRPCClient(endpoints: [RPCEndpoint(url: url, label: "litesvm")], http: http, timeout: .seconds(60))
        let node = SolanaNode(rpc: rpc)
        var keys: [Ed25519PrivateKey] = []
        while keys.count < count + 2 {
            let batch = min(1000, count + 2 - keys.count)
            keys += try (try await rpc.call("settle_keypairs", [.number(String(batch))]).arrayValue ?? []).map { item in
                try Ed25519PrivateKey(keypairBytes: (item["secretKey"]?.arrayValue ?? []).compactMap { $0.uint64Value.map { UInt8($0) } })
            }
        }
        let delegate = keys[0]
        let treasury = SolanaPublicKey(keys[1].publicKey)
        let mint = try SolanaPublicKey(base58: try await rpc.call("settle_createMint", [["decimals": 6, "program": "token"]]).stringValue ?? "")
        _ = try await rpc.call("settle_createAta", [.object([("owner", .string(treasury.description)), ("mint", .string(mint.description))])])
        let setupStarted = ContinuousClock.now
        for payer in keys[2...] {
            let owner = SolanaPublicKey(payer.publicKey)
            _ = try await rpc.call("settle_mintTo", [.object([("mint", .string(mint.description)), ("destination", .string(owner.description)), ("amount", 1_000_000_000)])])
            let account = try SolanaPublicKey.associatedTokenAddress(wallet: owner, mint: mint, tokenProgram: .token)
            let blockhash = try await node.latestBlockhash().blockhash
            let message = try LegacyMessage(instructions: [TokenInstruction.approve(source: account, delegate: SolanaPublicKey(delegate.publicKey), owner: owner, amount: .max)],
                                            payer: owner, recentBlockhash: blockhash)
            _ = try await node.send(try SolanaTransaction(message: .legacy(message), signers: [payer]).serialized())
        }
        say(String(format: "    Solana setup: %d payers minted and delegated in %.1f s", count, setupStarted.secondsUntilNow))
        let config = try SolanaChainConfig.parse("""
            family = "solana"
            rpc_urls = ["\(url)"]
            [[tokens]]
            symbol = "BUSD"
            mint = "\(mint)"
            decimals = 6
            """, file: "bench.toml")
        let ledger = try await freshLedger("sol-e2e")
        for (i, payer) in keys[2...].enumerated() {
            let agreement = try await ledger.agreement(customer: "cus_\(i)", subscription: nil, chain: "bench", token: "BUSD",
                                                       wallet: SolanaPublicKey(payer.publicKey).description)
            _ = try await ledger.createCharge(invoice: "in_\(i)", agreement: agreement.id, amount: Money(minorUnits: 2500, currency: try Currency(code: "USD")),
                                              tokenDecimals: 6, rate: .parity, rateAt: 0, dueAt: 0)
        }
        var logger = Logger(label: "bench")
        logger.logLevel = .critical
        let executor = SolanaExecutor(config: config, node: node, ledger: ledger, key: delegate, treasury: treasury, logger: logger)
        let loop = SettlementLoop(ledger: ledger, chain: "bench", executor: executor)
        let cpu = cpuSeconds()
        let started = ContinuousClock.now
        while try await ledger.charges(in: [.settled]).count < count {
            try await loop.runOnce()
            _ = try await rpc.call("settle_advanceSlots", [6])
        }
        let seconds = started.secondsUntilNow
        say(String(format: "(b) Solana end to end (LiteSVM): %d charges settled in %.1f s = %.0f charges/min, executor CPU %.2f ms per charge",
                     count, seconds, Double(count) / seconds * 60, (cpuSeconds() - cpu) / Double(count) * 1e3))
    }
}
