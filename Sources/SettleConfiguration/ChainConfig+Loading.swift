import EVM
import Foundation
import Signing
internal import TOMLKit

extension ChainConfig {
    /// Loads `chains/NAME.toml` from `directory`.
    public static func load(named name: String, in directory: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws(ConfigError) -> ChainConfig {
        let path = (directory as NSString).appendingPathComponent("\(name).toml")
        guard let data = FileManager.default.contents(atPath: path) else {
            let available = (try? FileManager.default.contentsOfDirectory(atPath: directory))?
                .filter { $0.hasSuffix(".toml") }.map { String($0.dropLast(5)) }.sorted() ?? []
            throw ConfigError(file: path, key: "", problem: "no such chain file (chains here: \(available.joined(separator: ", ")))")
        }
        return try parse(String(decoding: data, as: UTF8.self), file: path, environment: environment)
    }

    /// Parses chain configuration text; `file` names it in errors.
    public static func parse(_ text: String, file: String, environment: [String: String] = [:]) throws(ConfigError) -> ChainConfig {
        let reader = try TOMLReader(parsing: text, file: file)
        let defaultName = ((file as NSString).lastPathComponent as NSString).deletingPathExtension
        let name = try reader.string("name", default: defaultName)
        let family = try reader.string("family")
        guard family == "evm" else {
            throw ConfigError(file: file, key: "family", problem: "'\(family)' is not supported here (expected 'evm')")
        }
        let chainID = try reader.unsigned("chain_id")
        let rpc = try reader.rpcURLs(name: name, environment: environment)
        let blockTimeMS = try reader.unsigned("block_time_ms")
        guard blockTimeMS > 0 else { throw ConfigError(file: file, key: "block_time_ms", problem: "must be positive") }
        let pollMS = try reader.unsigned("poll_interval_ms", default: blockTimeMS)
        let maxLogRange = try reader.unsigned("max_log_range", default: 2000)
        guard maxLogRange > 0 else { throw ConfigError(file: file, key: "max_log_range", problem: "must be positive") }
        let startBlock = try reader.unsigned("start_block", default: 0)

        let finalityReader = try reader.table("finality")
        let finalityMode = try finalityReader.string("mode", default: "tag")
        let confirmations = try finalityReader.unsigned("confirmations", default: 64)
        let reorgWindow = try finalityReader.unsigned("reorg_window", default: 128)
        let finality: Finality
        switch finalityMode {
        case "tag": finality = .finalizedTag
        case "confirmations":
            guard confirmations > 0 else { throw ConfigError(file: file, key: "finality.confirmations", problem: "must be positive") }
            finality = .confirmations(confirmations)
        default:
            throw ConfigError(file: file, key: "finality.mode", problem: "'\(finalityMode)' is not 'tag' or 'confirmations'")
        }
        guard reorgWindow >= 2 else { throw ConfigError(file: file, key: "finality.reorg_window", problem: "must be at least 2") }

        let indexReader = try reader.table("index")
        let modeText = try indexReader.string("mode", default: "scoped")
        guard let indexMode = IndexMode(rawValue: modeText) else {
            throw ConfigError(file: file, key: "index.mode", problem: "'\(modeText)' is not 'scoped' or 'full'")
        }
        let requestsInFlight = try indexReader.unsigned("requests_in_flight", default: 8)
        guard (1...64).contains(requestsInFlight) else {
            throw ConfigError(file: file, key: "index.requests_in_flight", problem: "\(requestsInFlight) is not between 1 and 64")
        }
        var spenders: [EVMAddress] = []
        for (i, text) in try indexReader.strings("spenders", default: []).enumerated() {
            spenders.append(try address(text, file: file, key: "index.spenders[\(i)]"))
        }

        var tokens: [Token] = []
        for (i, tokenReader) in try reader.tables("tokens").enumerated() {
            let key = "tokens[\(i)]"
            let symbol = try tokenReader.string("symbol")
            guard !symbol.isEmpty, symbol.count <= 16 else { throw ConfigError(file: file, key: "\(key).symbol", problem: "must be 1-16 characters") }
            let tokenAddress = try address(try tokenReader.string("address"), file: file, key: "\(key).address")
            let decimals = try tokenReader.unsigned("decimals")
            guard decimals <= 36 else { throw ConfigError(file: file, key: "\(key).decimals", problem: "\(decimals) is more than 36") }
            guard !tokens.contains(where: { $0.symbol.lowercased() == symbol.lowercased() || $0.address == tokenAddress }) else {
                throw ConfigError(file: file, key: key, problem: "token \(symbol) is listed twice")
            }
            let feeBps = try tokenReader.unsigned("gross_up_fee_bps", default: 0)
            guard feeBps < 10_000 else { throw ConfigError(file: file, key: "\(key).gross_up_fee_bps", problem: "\(feeBps) is not below 10000 (100%)") }
            tokens.append(Token(symbol: symbol, address: tokenAddress, decimals: Int(decimals), grossUpFeeBps: UInt16(feeBps)))
        }
        guard !tokens.isEmpty else { throw ConfigError(file: file, key: "tokens", problem: "at least one [[tokens]] entry is needed") }

        let signerReader = try reader.table("signer")
        var signerKey: KeyReference?
        if let text = try signerReader.optionalString("key") {
            do { signerKey = try KeyReference(parsing: text) } catch {
                throw ConfigError(file: file, key: "signer.key", problem: error.message)
            }
        }
        let treasury = try signerReader.optionalString("treasury").map { (t) throws(ConfigError) in
            try address(t, file: file, key: "signer.treasury")
        }
        let settlement = try reader.settlement()
        let explorer = try reader.explorerTransactionURL()
        try reader.rejectUnknown(["name", "family", "chain_id", "rpc_urls", "block_time_ms", "poll_interval_ms", "max_log_range",
                                  "start_block", "finality", "index", "tokens", "signer", "settlement", "rates", "explorer_tx_url"])
        try finalityReader.rejectUnknown(["mode", "confirmations", "reorg_window"])
        try indexReader.rejectUnknown(["mode", "spenders", "requests_in_flight"])
        try signerReader.rejectUnknown(["key", "treasury"])
        var config = ChainConfig(
            name: name, chainID: chainID, rpc: rpc, blockTime: .milliseconds(Int64(blockTimeMS)),
            pollInterval: .milliseconds(Int64(pollMS)), maxLogRange: maxLogRange, startBlock: startBlock,
            finality: finality, reorgWindow: reorgWindow, indexMode: indexMode, spenders: spenders, tokens: tokens,
            signerKey: signerKey, treasury: treasury, retrySeconds: settlement.retrySeconds, rates: settlement.rates, file: file)
        config.secretEnvironment = try reader.strings("rpc_urls").filter { $0.hasPrefix("env:") }.map { String($0.dropFirst(4)) }
            + [signerKey].compactMap { if case .environment(let name)? = $0 { name } else { nil } }
        config.explorerTransactionURL = explorer
        config.requestsInFlight = Int(requestsInFlight)
        return config
    }

    private static func address(_ text: String, file: String, key: String) throws(ConfigError) -> EVMAddress {
        do {
            return try EVMAddress(hex: text)
        } catch {
            throw ConfigError(file: file, key: key, problem: "'\(text)' is not an EVM address: \(error.message)")
        }
    }
}
