import ArgumentParser
import Billing
import EVM
import EVMIndexer
import Foundation
import SettleRuntime
import Logging
import SettleConfiguration
import SettleCore
import Settlement
import Signing
import Solana
import SolanaIndexer
import Store
import Transport

struct DoctorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Check a deployment before starting it: config, keys, RPC endpoints, Stripe, the database.",
        discussion: """
            Reads the main configuration and every chain file it names, loads each key and prints only what it \
            derives (addresses, public keys), asks every RPC endpoint for its chain id (EVM) or slot (Solana), asks \
            Stripe for one customer with the API key, reads the secrets of webhooks and API tokens, and compares the \
            database's schema with this build's migrations. Each problem is printed with what to fix. A missing \
            database is reported, not created; an existing one is opened as settled opens it (WAL mode, its \
            migrations table), nothing else is written. Run it as the user settled runs as.

            Exit status: 0 when everything is usable, 1 when something must be fixed.

            Example: settled doctor --config /etc/settle/settle.toml
            """)

    @OptionGroup var options: DaemonOptions

    func run() async throws {
        var report = DoctorReport()
        let config: DaemonConfig
        do {
            config = try DaemonConfig.load(path: options.config)
            report.ok("config", "\(config.file): \(config.chains.count) chain(s): \(config.chains.joined(separator: ", "))")
        } catch {
            report.fail("config", error.description, fix: "edit \(options.config) (`settled init` writes a commented starter)")
            report.finish()
        }
        let http = HTTPClient()
        defer { http.shutdown() }
        await checkStripe(config, http: http, report: &report)
        checkSecrets(config, report: &report)
        for name in config.chains { await checkChain(name, config: config, http: http, report: &report) }
        await checkDatabase(config, report: &report)
        report.finish()
    }

    func checkStripe(_ config: DaemonConfig, http: HTTPClient, report: inout DoctorReport) async {
        guard let reference = config.stripe.apiKey else {
            if !config.stripe.webhookSecrets.isEmpty {
                return report.fail("stripe", "stripe.webhook_secrets without stripe.api_key", fix: "set stripe.api_key, or remove the [stripe] table for native billing only")
            }
            return report.ok("stripe", "no [stripe] api_key: native billing only (Settle's own items and invoices; nothing is sent to Stripe)")
        }
        let key: String
        do { key = try KeyLoader.secretText(from: reference) } catch {
            return report.fail("stripe", "stripe.api_key (\(reference)): \(error.message)", fix: "provide the key where \(reference) points")
        }
        let client = StripeClient(baseURL: config.stripe.baseURL, apiKey: key, version: config.stripe.apiVersion ?? StripeClient.pinnedVersion, http: http,
                                  retry: RetryPolicy(maximumAttempts: 1))
        do {
            _ = try await client.get("/v1/customers", ["limit": 1])
            report.ok("stripe", "\(config.stripe.baseURL) accepts the API key (\(reference))")
        } catch {
            let fix = error.status == 401 ? "the key is wrong or revoked: create a restricted key with invoices and customers access"
                : "check network access to \(config.stripe.baseURL)"
            report.fail("stripe", "\(config.stripe.baseURL): \(error)", fix: fix)
        }
        if config.stripe.webhookSecrets.isEmpty {
            report.warn("stripe", "no webhook_secrets: POST /webhooks/stripe refuses every event; only the poll (every \(config.stripe.pollSeconds) s) finds invoices")
        }
    }

    func checkSecrets(_ config: DaemonConfig, report: inout DoctorReport) {
        var references: [(what: String, KeyReference)] = config.stripe.webhookSecrets.map { ("stripe.webhook_secrets", $0) }
        if let secret = config.merchant.webhookSecret { references.append(("merchant.webhook_secret", secret)) }
        references += config.apiTokens.map { ("api token '\($0.name)'", $0.token) }
        for (what, reference) in references {
            do { _ = try KeyLoader.secretText(from: reference) } catch {
                report.fail("secrets", "\(what) (\(reference)): \(error.message)", fix: "provide it where \(reference) points")
            }
        }
        if config.apiTokens.isEmpty {
            report.warn("api", "no [api] tokens: every /v1 and /metrics request will be refused (add [[api.tokens]] or SETTLE_API_TOKEN_READ)")
        } else {
            report.ok("api", config.apiTokens.map { "\($0.name) (\($0.scope.rawValue))" }.joined(separator: ", ") + " on \(config.listen.host):\(config.listen.port)")
        }
    }

    func checkChain(_ name: String, config: DaemonConfig, http: HTTPClient, report: inout DoctorReport) async {
        let any: AnyChainConfig
        do { any = try AnyChainConfig.load(named: name, in: config.chainsDirectory) } catch {
            return report.fail("chain \(name)", error.description, fix: "fix \(config.chainsDirectory)/\(name).toml (see chains/ for examples)")
        }
        switch any {
        case .evm(let chain):
            if let reference = chain.signerKey {
                do {
                    let key = try KeyLoader.secp256k1(from: reference)
                    report.ok("chain \(name)", "spender \(EVMAddress(publicKey: key.publicKey).checksummed) (from \(reference))")
                } catch { report.fail("chain \(name)", "signer.key (\(reference)): \(error.message)", fix: "provide the spender key where \(reference) points (file mode 600)") }
            } else { report.fail("chain \(name)", "no [signer] key", fix: "add [signer] key = \"env:…\" to \(chain.file)") }
            if let treasury = chain.treasury { report.ok("chain \(name)", "treasury \(treasury.checksummed)") } else {
                report.fail("chain \(name)", "no [signer] treasury", fix: "add the address payments go to")
            }
            for endpoint in chain.rpc {
                let node = EVMNode(rpc: JSONRPCClient(endpoints: [RPCEndpoint(url: endpoint.url, label: endpoint.label)], http: http,
                                                      retry: RetryPolicy(maximumAttempts: 1), timeout: .seconds(10)))
                do {
                    let id = try await node.chainID()
                    let head = try await node.blockNumber()
                    if id == chain.chainID {
                        report.ok("chain \(name)", "\(endpoint.label) answers chain id \(id), head block \(head)")
                    } else {
                        report.fail("chain \(name)", "\(endpoint.label) answers chain id \(id), but \(chain.file) says \(chain.chainID)",
                                    fix: "point \(endpoint.label) at a \(name) node, or correct chain_id")
                    }
                } catch {
                    report.fail("chain \(name)", "\(endpoint.label): \(error)", fix: "check the URL (rpc_urls; the environment variable it names) and the provider")
                }
            }
        case .solana(let chain):
            if let reference = chain.signerKey {
                do {
                    let key = try KeyLoader.ed25519(from: reference)
                    report.ok("chain \(name)", "delegate \(SolanaPublicKey(key.publicKey)) (from \(reference))")
                } catch { report.fail("chain \(name)", "signer.key (\(reference)): \(error.message)", fix: "provide the delegate key where \(reference) points (file mode 600)") }
            } else { report.fail("chain \(name)", "no [signer] key", fix: "add [signer] key = \"file:…\" to \(chain.file)") }
            if let reference = chain.feePayerKey {
                do { report.ok("chain \(name)", "fee payer \(SolanaPublicKey(try KeyLoader.ed25519(from: reference).publicKey))") } catch {
                    report.fail("chain \(name)", "signer.fee_payer (\(reference)): \(error.message)", fix: "provide the fee payer key where \(reference) points")
                }
            }
            if let treasury = chain.treasury { report.ok("chain \(name)", "treasury \(treasury)") } else {
                report.fail("chain \(name)", "no [signer] treasury", fix: "add the wallet payments go to")
            }
            for endpoint in chain.rpc {
                let node = SolanaNode(rpc: JSONRPCClient(endpoints: [RPCEndpoint(url: endpoint.url, label: endpoint.label)], http: http,
                                                         retry: RetryPolicy(maximumAttempts: 1), timeout: .seconds(10)))
                do { report.ok("chain \(name)", "\(endpoint.label) answers, slot \(try await node.slot(.confirmed))") } catch {
                    report.fail("chain \(name)", "\(endpoint.label): \(error)", fix: "check the URL (rpc_urls; the environment variable it names) and the provider")
                }
            }
        }
    }

    func checkDatabase(_ config: DaemonConfig, report: inout DoctorReport) async {
        let database: any SQLStore
        let name: String
        let backend: SQLBackend
        do {
            switch try config.databaseLocation {
            case .sqlite(let path):
                guard FileManager.default.fileExists(atPath: path) else {
                    let directory = (path as NSString).deletingLastPathComponent
                    if FileManager.default.isWritableFile(atPath: directory.isEmpty ? "." : directory) {
                        return report.ok("database", "\(path) does not exist yet; `settled serve` creates and migrates it")
                    }
                    return report.fail("database", "\(path) does not exist and its directory is not writable", fix: "create the directory, writable by settled")
                }
                (name, backend) = (path, .sqlite)
            case .postgres(let location):
                (name, backend) = (location.description, .postgres)
            }
            var logger = Logger(label: "settled.doctor")
            logger.logLevel = .critical
            database = try SettleDatabase.open(try config.databaseLocation, password: config.databasePassword, logger: logger)
        } catch {
            return report.fail("database", "\(config.database): \(error)", fix: "check [database] (url, password) in \(config.file)")
        }
        defer { SettleDatabase.close(database) }
        await checkSchemas(database, name: name, backend: backend, report: &report)
    }

    func checkSchemas(_ database: any SQLStore, name: String, backend: SQLBackend, report: inout DoctorReport) async {
        do {
            var pending: [String] = []
            var current: [String] = []
            for (module, latest) in SettleDatabase.schemas(backend) {
                let version = try await database.schemaVersion(module: module)
                if version > latest {
                    report.fail("database", "\(module) is at version \(version), newer than this build's \(latest)",
                                fix: "run the settled version that wrote it (downgrades are not supported)")
                } else if version < latest { pending.append("\(module) \(version)→\(latest)") } else { current.append("\(module) v\(version)") }
            }
            if pending.isEmpty { report.ok("database", "\(name): up to date (\(current.joined(separator: ", ")))") } else {
                report.ok("database", "\(name): migrations pending, applied at the next start: \(pending.joined(separator: ", "))")
            }
            if try await database.schemaVersion(module: Ledger.schema(backend).module) == Ledger.schema(backend).version {
                let ledger = Ledger(database: database)
                for alert in try await ledger.openAlerts() {
                    report.fail("chain \(alert.chain)", "signing stopped since \(alert.raisedAt): \(alert.kind.rawValue): \(alert.detail)",
                                fix: "settled nonce inspect --chain \(alert.chain), then settled nonce adopt --chain \(alert.chain)")
                }
                let unknown = try await ledger.charges(in: [.unknown])
                if !unknown.isEmpty {
                    report.fail("charges", "\(unknown.count) charge(s) in `unknown` (no node proves whether the transfer landed): \(unknown.prefix(10).map(\.invoice).joined(separator: ", "))",
                                fix: "look the attempts' transactions up on a full-history node or explorer (settled charge list --state unknown --json)")
                }
            }
        } catch {
            report.fail("database", "\(name): \(error)", fix: backend == .sqlite ? "check the file is a Settle SQLite database and readable"
                                                                            : "check the server is reachable, the user and password, and TLS (sslmode)")
        }
    }
}

/// Lines of `settled doctor`: ✓ what works, ! what to look at, ✗ what must be fixed (with how).
struct DoctorReport {
    var failures = 0

    func ok(_ area: String, _ message: String) { print("✓ \(area): \(message)") }
    func warn(_ area: String, _ message: String) { print("! \(area): \(message)") }
    mutating func fail(_ area: String, _ message: String, fix: String) {
        failures += 1
        print("✗ \(area): \(message)\n    fix: \(fix)")
    }

    func finish() -> Never {
        print(failures == 0 ? "\nEverything checked is usable." : "\n\(failures) problem(s) to fix.")
        Foundation.exit(failures == 0 ? 0 : 1)
    }
}
