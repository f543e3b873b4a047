import SettleCore
import Foundation
import Signing
import Solana
internal import TOMLKit

/// A Solana cluster Settle follows, loaded from `chains/NAME.toml` with `family = "solana"`.
///
/// Keys (defaults in brackets): `name` [file name], `rpc_urls` (URLs or `env:VARIABLE`), `poll_interval_ms` [2000];
/// `[[tokens]]` `symbol`, `mint` (base58), `decimals`, `program` (`token` | `token2022`) [token], `gross_up_transfer_fee`
/// [false] (see `Token`);
/// `[index]` `delegates` [] (delegate keys whose delegations are followed, besides the signer's),
/// `owners` [] (wallets always followed); `[signer]` `key` (a `file:`/`env:` reference to the delegate keypair),
/// `treasury` (the wallet payments go to), `fee_payer` (a `file:`/`env:` reference to a keypair that pays transaction
/// fees instead of the delegate).
public struct SolanaChainConfig: Sendable {
    public struct Token: Hashable, Sendable {
        public var symbol: String
        public var mint: SolanaPublicKey
        public var decimals: Int
        public var program: TokenProgram
        /// `gross_up_transfer_fee` [false]: the merchant's opt-in for a Token-2022 mint with a TransferFee: Settle
        /// pulls with `TransferCheckedWithFee` at the mint's current fee, enough that the treasury receives the
        /// invoice amount. Off: such a mint is refused before signing (`token_unsupported`).
        public var grossUpTransferFee: Bool = false
    }

    public var name: String
    public var rpc: [(url: String, label: String)]
    /// Environment variables this file's `env:` references name (RPC URLs, keys): removed once loaded.
    public var secretEnvironment: [String] = []
    /// `explorer_tx_url`: a transaction's page at a block explorer, `{tx}` for its signature (nil: no links).
    public var explorerTransactionURL: String?
    public var pollInterval: Duration
    public var tokens: [Token]
    public var delegates: [SolanaPublicKey]
    public var owners: [SolanaPublicKey]
    public var signerKey: KeyReference?
    /// A separate fee payer's keypair (`[signer] fee_payer`); the delegate pays fees when absent.
    public var feePayerKey: KeyReference?
    public var treasury: SolanaPublicKey?
    /// Waits before re-checking a charge short of funds (the i-th retry uses entry i; the last repeats).
    public var retrySeconds: [UInt64] = [600]
    /// Configured rates: whole `token`s per unit of `currency`.
    public var rates: [(token: String, currency: String, rate: ExchangeRate)] = []
    public var file: String

    /// The token with this symbol (case-insensitive) or mint.
    public func token(_ symbolOrMint: String) -> Token? {
        if let mint = try? SolanaPublicKey(base58: symbolOrMint) { return tokens.first { $0.mint == mint } }
        return tokens.first { $0.symbol.lowercased() == symbolOrMint.lowercased() }
    }

    /// Parses the text of a Solana chain file.
    public static func parse(_ text: String, file: String, environment: [String: String] = [:]) throws(ConfigError) -> SolanaChainConfig {
        let reader = try TOMLReader(parsing: text, file: file)
        let defaultName = ((file as NSString).lastPathComponent as NSString).deletingPathExtension
        let name = try reader.string("name", default: defaultName)
        guard try reader.string("family") == "solana" else { throw ConfigError(file: file, key: "family", problem: "expected 'solana'") }
        let rpc = try reader.rpcURLs(name: name, environment: environment)
        let pollMS = try reader.unsigned("poll_interval_ms", default: 2000)
        var tokens: [Token] = []
        for (i, tokenReader) in try reader.tables("tokens").enumerated() {
            let key = "tokens[\(i)]"
            let symbol = try tokenReader.string("symbol")
            let mint = try publicKey(try tokenReader.string("mint"), file: file, key: "\(key).mint")
            let decimals = try tokenReader.unsigned("decimals")
            guard decimals <= 19 else { throw ConfigError(file: file, key: "\(key).decimals", problem: "an SPL token has at most 19 decimals") }
            let programName = try tokenReader.string("program", default: "token")
            let program: TokenProgram
            switch programName {
            case "token": program = .token
            case "token2022": program = .token2022
            default: throw ConfigError(file: file, key: "\(key).program", problem: "'\(programName)' is not 'token' or 'token2022'")
            }
            guard !tokens.contains(where: { $0.mint == mint || $0.symbol.lowercased() == symbol.lowercased() }) else {
                throw ConfigError(file: file, key: key, problem: "token \(symbol) is listed twice")
            }
            let grossUp = try tokenReader.bool("gross_up_transfer_fee", default: false)
            try tokenReader.rejectUnknown(["symbol", "mint", "decimals", "program", "gross_up_transfer_fee"])
            tokens.append(Token(symbol: symbol, mint: mint, decimals: Int(decimals), program: program, grossUpTransferFee: grossUp))
        }
        guard !tokens.isEmpty else { throw ConfigError(file: file, key: "tokens", problem: "at least one [[tokens]] entry is needed") }
        let index = try reader.table("index")
        var delegates: [SolanaPublicKey] = []
        for (i, text) in try index.strings("delegates", default: []).enumerated() {
            delegates.append(try publicKey(text, file: file, key: "index.delegates[\(i)]"))
        }
        var owners: [SolanaPublicKey] = []
        for (i, text) in try index.strings("owners", default: []).enumerated() {
            owners.append(try publicKey(text, file: file, key: "index.owners[\(i)]"))
        }
        let signer = try reader.table("signer")
        var signerKey: KeyReference?
        if let text = try signer.optionalString("key") {
            do { signerKey = try KeyReference(parsing: text) } catch { throw ConfigError(file: file, key: "signer.key", problem: error.message) }
        }
        let treasury = try signer.optionalString("treasury").map { (t) throws(ConfigError) in try publicKey(t, file: file, key: "signer.treasury") }
        var feePayerKey: KeyReference?
        if let text = try signer.optionalString("fee_payer") {
            do { feePayerKey = try KeyReference(parsing: text) } catch { throw ConfigError(file: file, key: "signer.fee_payer", problem: error.message) }
        }
        let settlement = try reader.settlement()
        let explorer = try reader.explorerTransactionURL()
        try reader.rejectUnknown(["name", "family", "rpc_urls", "poll_interval_ms", "tokens", "index", "signer", "settlement", "rates", "explorer_tx_url"])
        try index.rejectUnknown(["delegates", "owners"])
        try signer.rejectUnknown(["key", "treasury", "fee_payer"])
        var config = SolanaChainConfig(name: name, rpc: rpc, pollInterval: .milliseconds(Int64(pollMS)), tokens: tokens, delegates: delegates,
                                       owners: owners, signerKey: signerKey, feePayerKey: feePayerKey, treasury: treasury,
                                       retrySeconds: settlement.retrySeconds, rates: settlement.rates, file: file)
        config.secretEnvironment = try reader.strings("rpc_urls").filter { $0.hasPrefix("env:") }.map { String($0.dropFirst(4)) }
            + [signerKey, feePayerKey].compactMap { if case .environment(let name)? = $0 { name } else { nil } }
        config.explorerTransactionURL = explorer
        return config
    }

    private static func publicKey(_ text: String, file: String, key: String) throws(ConfigError) -> SolanaPublicKey {
        do { return try SolanaPublicKey(base58: text) } catch {
            throw ConfigError(file: file, key: key, problem: "'\(text)' is not a base58 public key: \(error.message)")
        }
    }
}

/// A chain file of either family.
public enum AnyChainConfig: Sendable {
    case evm(ChainConfig)
    case solana(SolanaChainConfig)

    /// Loads `chains/NAME.toml` and parses it by its `family`.
    public static func load(named name: String, in directory: String,
                            environment: [String: String] = ProcessInfo.processInfo.environment) throws(ConfigError) -> AnyChainConfig {
        let path = (directory as NSString).appendingPathComponent("\(name).toml")
        guard let data = FileManager.default.contents(atPath: path) else {
            let available = (try? FileManager.default.contentsOfDirectory(atPath: directory))?
                .filter { $0.hasSuffix(".toml") }.map { String($0.dropLast(5)) }.sorted() ?? []
            throw ConfigError(file: path, key: "", problem: "no such chain file (chains here: \(available.joined(separator: ", ")))")
        }
        let text = String(decoding: data, as: UTF8.self)
        let family = try TOMLReader(parsing: text, file: path).string("family")
        switch family {
        case "evm": return .evm(try ChainConfig.parse(text, file: path, environment: environment))
        case "solana": return .solana(try SolanaChainConfig.parse(text, file: path, environment: environment))
        default: throw ConfigError(file: path, key: "family", problem: "'\(family)' is not 'evm' or 'solana'")
        }
    }
}
