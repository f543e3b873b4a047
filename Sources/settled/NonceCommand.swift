import ArgumentParser
import EVM
import EVMIndexer
import Foundation
import SettleRuntime
import SettleConfiguration
import SettleCore
import Settlement
import Signing
import Solana
import SolanaIndexer
import Store
import Transport

/// `settled nonce inspect|adopt`: what an operator runs after a `nonce_divergence` alert stopped signing on a chain.
struct NonceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nonce",
        abstract: "Inspect and adopt a signer's state after a nonce_divergence (EVM) or signature_divergence (Solana) alert stopped signing.",
        discussion: """
            Settle takes every nonce from its ledger, never from the chain. When the chain counts more transactions \
            from the spender than the ledger ever signed, someone else signs with the key (a second daemon on \
            another database, a wallet, a script) or this database lost its last attempts (restored from a backup, \
            power loss on a disk that lies about fsync). Settle then stops signing on that chain, raises \
            `nonce_divergence` (in /healthz, /metrics, `settled doctor`, and an action.required webhook), and waits. \
            Solana has no nonce: there, a transfer out of a payer's token account signed by the delegate that the \
            ledger has no attempt for raises `signature_divergence` the same way.

              settled nonce inspect --chain base     ledger vs chain counts; each unexplained nonce's transaction
                                                     (where the node can find it) and whether it pays an open charge
              settled nonce adopt --chain base       take the chain's pending count as the next nonce and resume

            adopt refuses while an unexplained transaction is a transferFrom into the treasury that matches a charge \
            still open in this ledger: that invoice was most likely paid by an attempt this database lost, and \
            signing it again would charge the customer twice. Settle it by hand (compare with the chain), cancel \
            the charge, then run adopt with --force.
            """,
        subcommands: [Inspect.self, Adopt.self])

    struct Inspect: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show the ledger's and the chain's nonce and every unexplained transaction.")
        @OptionGroup var options: ChainOptions

        func run() async throws {
            let report = try await NonceReport.make(options)
            print(report.text)
        }
    }

    struct Adopt: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Adopt the chain's pending count as the ledger's next nonce and resume signing.")
        @OptionGroup var options: ChainOptions
        @Flag(help: "Adopt even though an unexplained transaction looks like the payment of an open charge.")
        var force = false
        @Option(help: "Who adopts (recorded with the alert).")
        var by: String = ProcessInfo.processInfo.environment["USER"] ?? "operator"

        func run() async throws {
            let report = try await NonceReport.make(options)
            print(report.text)
            if !report.suspicious.isEmpty, !force {
                throw ValidationError("not adopted: \(report.suspicious.count) unexplained transaction(s) look like payments of open charges (above). Signing again would charge twice; resolve them, then use --force.")
            }
            if report.solana {
                let cleared = try await report.ledger.clearAlert(chain: report.chain, signer: report.signer, kind: .signatureDivergence, by: by)
                print(cleared ? "adopted: the alert is cleared; signing resumes on \(report.chain)" : "no open alert on \(report.chain): nothing to adopt")
                return
            }
            let before = try await report.ledger.adoptNonce(chain: report.chain, signer: report.signer, next: report.chainPending, by: by)
            print("adopted: the next nonce of \(report.signer) on \(report.chain) is \(report.chainPending) (was \(before)); signing resumes")
        }
    }
}

/// What `nonce inspect` reads.
struct NonceReport {
    let ledger: Ledger
    let chain: String
    let signer: String
    let chainPending: UInt64
    var solana = false
    var text: String
    /// Unexplained transactions that look like the payment of an open charge: (nonce, hash, invoice).
    var suspicious: [(UInt64, String, String)]

    static func make(_ options: ChainOptions) async throws -> NonceReport {
        let any = try options.loadAnyChain()
        if case .solana(let config) = any { return try await solana(config, options) }
        guard case .evm(let config) = any else { throw ValidationError("\(options.chain): unknown chain family") }
        guard let reference = config.signerKey, let treasury = config.treasury else {
            throw ValidationError("\(config.file): [signer] key and treasury are needed")
        }
        let key: Secp256k1PrivateKey
        do { key = try KeyLoader.secp256k1(from: reference) } catch { throw ValidationError("\(config.file): signer.key: \(error.message)") }
        let spender = EVMAddress(publicKey: key.publicKey)
        let ledger = Ledger(database: try options.openDatabase(logger: options.makeLogger()))
        try await ledger.migrate()
        let http = HTTPClient()
        defer { http.shutdown() }
        let node = EVMNode(rpc: JSONRPCClient(endpoints: config.rpc.map { RPCEndpoint(url: $0.url, label: $0.label) }, http: http))
        let ledgerNext = try await ledger.nextNonce(chain: config.name, signer: spender.checksummed)
        let pending = try await node.pendingNonce(of: spender)
        let latest = try await node.transactionCount(of: spender, at: .latest)
        let head = try await node.blockNumber()
        var lines = [
            "chain \(config.name), spender \(spender.checksummed)",
            "  ledger next nonce:   \(ledgerNext)",
            "  chain count latest:  \(latest)",
            "  chain count pending: \(pending)",
        ]
        for alert in try await ledger.openAlerts(chain: config.name) where alert.signer == spender.checksummed {
            lines.append("  open alert #\(alert.id) \(alert.kind.rawValue) since \(alert.raisedAt): \(alert.detail)")
        }
        var suspicious: [(UInt64, String, String)] = []
        if pending <= ledgerNext {
            lines.append("  nothing unexplained: the chain counts no transaction the ledger did not sign")
        }
        let open = try await ledger.charges(in: Ledger.quiescentStates)
        var nonce = ledgerNext
        while nonce < pending, nonce < ledgerNext + 50 {
            defer { nonce += 1 }
            guard nonce < latest else {
                lines.append("  nonce \(nonce): pending in a pool (not mined yet; its transaction cannot be looked up by nonce)")
                continue
            }
            guard let block = try? await node.blockUsing(nonce: nonce, of: spender, above: 0, through: head),
                  let hash = try? await node.transaction(from: spender, nonce: nonce, inBlock: block) else {
                lines.append("  nonce \(nonce): mined, but this node cannot show where (it needs the state of old blocks)")
                continue
            }
            var line = "  nonce \(nonce): \(hash) in block \(block)"
            if let receipt = try? await node.receipt(hash) {
                for log in receipt.logs {
                    guard case .transfer(let from, let to, let value)? = try? ERC20Event(topics: log.topics, data: log.data), to == treasury else { continue }
                    line += " — pays the treasury \(value) from \(from.checksummed)"
                    for charge in open where charge.tokenAmount.baseUnits == value {
                        guard let agreement = try await ledger.agreement(id: charge.agreement), agreement.chain == config.name,
                              (try? EVMAddress(hex: agreement.wallet)) == from else { continue }
                        line += "; LOOKS LIKE the payment of invoice \(charge.invoice) (charge \(charge.state.rawValue) in this ledger)"
                        suspicious.append((nonce, hash.description, charge.invoice))
                    }
                }
            }
            lines.append(line)
        }
        return NonceReport(ledger: ledger, chain: config.name, signer: spender.checksummed, chainPending: pending,
                           text: lines.joined(separator: "\n"), suspicious: suspicious)
    }

    /// Solana: open alerts, and for every open charge the delegate's transfers out of its payer's token account that
    /// the ledger has no attempt for.
    static func solana(_ config: SolanaChainConfig, _ options: ChainOptions) async throws -> NonceReport {
        guard let reference = config.signerKey else { throw ValidationError("\(config.file): [signer] key is needed") }
        let key: Ed25519PrivateKey
        do { key = try KeyLoader.ed25519(from: reference) } catch { throw ValidationError("\(config.file): signer.key: \(error.message)") }
        let delegate = SolanaPublicKey(key.publicKey)
        let ledger = Ledger(database: try options.openDatabase(logger: options.makeLogger()))
        try await ledger.migrate()
        let http = HTTPClient()
        defer { http.shutdown() }
        let node = SolanaNode(rpc: JSONRPCClient(endpoints: config.rpc.map { RPCEndpoint(url: $0.url, label: $0.label) }, http: http))
        var lines = ["chain \(config.name), delegate \(delegate)"]
        let alerts = try await ledger.openAlerts(chain: config.name).filter { $0.signer == delegate.description }
        for alert in alerts { lines.append("  open alert #\(alert.id) \(alert.kind.rawValue) since \(alert.raisedAt): \(alert.detail)") }
        if alerts.isEmpty { lines.append("  no open alert") }
        var suspicious: [(UInt64, String, String)] = []
        for charge in try await ledger.charges(in: Ledger.quiescentStates) {
            guard let agreement = try await ledger.agreement(id: charge.agreement), agreement.chain == config.name,
                  let token = config.token(agreement.token), let owner = try? SolanaPublicKey(base58: agreement.wallet) else { continue }
            let source = try SolanaPublicKey.associatedTokenAddress(wallet: owner, mint: token.mint, tokenProgram: token.program)
            for info in try await node.signatures(for: source, limit: 25, .confirmed) where !info.failed {
                if try await ledger.knowsAttempt(transactionID: info.signature.description) { continue }
                guard let transaction = try await node.transaction(info.signature, .confirmed) else { continue }
                for pull in TokenEvent.decode(transaction) where pull.kind == .transfer && pull.source == source && pull.authority == delegate {
                    var line = "  \(info.signature) (slot \(info.slot)): \(pull.amount) out of \(source) by our delegate, unknown to this ledger"
                    if UInt256(pull.amount) == charge.tokenAmount.baseUnits {
                        line += "; LOOKS LIKE the payment of invoice \(charge.invoice) (charge \(charge.state.rawValue) in this ledger)"
                        suspicious.append((info.slot, info.signature.description, charge.invoice))
                    }
                    lines.append(line)
                }
            }
        }
        return NonceReport(ledger: ledger, chain: config.name, signer: delegate.description, chainPending: 0, solana: true,
                           text: lines.joined(separator: "\n"), suspicious: suspicious)
    }
}
