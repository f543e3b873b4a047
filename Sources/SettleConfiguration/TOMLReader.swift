import SettleCore
internal import TOMLKit

/// Typed access to one TOML table that turns every mismatch into a `ConfigError` naming file and key.
struct TOMLReader {
    let table: TOMLTable
    let file: String
    let prefix: String

    init(table: TOMLTable, file: String, prefix: String) {
        self.table = table
        self.file = file
        self.prefix = prefix
    }

    /// Parses a whole document.
    init(parsing text: String, file: String) throws(ConfigError) {
        do {
            self.init(table: try TOMLTable(string: text), file: file, prefix: "")
        } catch let error as TOMLParseError {
            throw ConfigError(file: file, key: "", problem: "not valid TOML at line \(error.source.begin.line), column \(error.source.begin.column): \(error.description)")
        } catch {
            throw ConfigError(file: file, key: "", problem: "not valid TOML: \(error)")
        }
    }

    /// `[settlement] retry_seconds` (the wait before each re-check of a charge short of funds; the last repeats)
    /// and `[[rates]]` (`token`, `currency`, `rate` as decimal text).
    func settlement() throws(ConfigError) -> (retrySeconds: [UInt64], rates: [(token: String, currency: String, rate: ExchangeRate)]) {
        let table = try self.table("settlement")
        var retry: [UInt64] = []
        if let node = table.table["retry_seconds"] {
            guard let array = node.array else { throw ConfigError(file: file, key: "settlement.retry_seconds", problem: "must be a list of seconds") }
            for element in array {
                guard let value = element.int, value > 0 else {
                    throw ConfigError(file: file, key: "settlement.retry_seconds", problem: "must be a list of positive integers")
                }
                retry.append(UInt64(value))
            }
        }
        try table.rejectUnknown(["retry_seconds"])
        var rates: [(token: String, currency: String, rate: ExchangeRate)] = []
        for (i, entry) in try tables("rates").enumerated() {
            let text = try entry.string("rate")
            let rate: ExchangeRate
            do { rate = try ExchangeRate(decimal: text) } catch {
                throw ConfigError(file: file, key: "rates[\(i)].rate", problem: error.message)
            }
            let currency = try entry.string("currency")
            guard (try? Currency(code: currency)) != nil else {
                throw ConfigError(file: file, key: "rates[\(i)].currency", problem: "'\(currency)' is not a three-letter currency code")
            }
            rates.append((try entry.string("token"), currency, rate))
            try entry.rejectUnknown(["token", "currency", "rate"])
        }
        return (retry.isEmpty ? [600] : retry, rates)
    }

    /// `explorer_tx_url`: a block explorer's page for one transaction, `{tx}` standing for its hash or signature
    /// (`"https://etherscan.io/tx/{tx}"`); pages link payments there. Optional.
    func explorerTransactionURL() throws(ConfigError) -> String? {
        guard let text = try optionalString("explorer_tx_url") else { return nil }
        let parts = text.components(separatedBy: "{tx}")
        guard text.hasPrefix("https://") || text.hasPrefix("http://"), parts.count == 2, text.utf8.count <= 512,
              !text.unicodeScalars.contains(where: { $0.value <= 0x20 || $0.value >= 0x7f || "\"'<>\\`".unicodeScalars.contains($0) }) else {
            throw ConfigError(file: file, key: "explorer_tx_url",
                              problem: "must be an http(s) URL with {tx} once where the transaction goes, like \"https://etherscan.io/tx/{tx}\"")
        }
        return text
    }

    /// `rpc_urls`: at least one URL or `env:VARIABLE`, resolved, labelled `NAME#i`.
    func rpcURLs(name: String, environment: [String: String]) throws(ConfigError) -> [(url: String, label: String)] {
        let urls = try strings("rpc_urls")
        guard !urls.isEmpty else { throw ConfigError(file: file, key: "rpc_urls", problem: "at least one RPC URL is needed") }
        var rpc: [(url: String, label: String)] = []
        for (i, value) in urls.enumerated() {
            let key = "rpc_urls[\(i)]"
            var url = value
            if value.hasPrefix("env:") {
                let variable = String(value.dropFirst(4))
                guard let resolved = environment[variable], !resolved.isEmpty else {
                    throw ConfigError(file: file, key: key, problem: "environment variable \(variable) is not set")
                }
                url = resolved
            }
            guard url.hasPrefix("http://") || url.hasPrefix("https://") else {
                throw ConfigError(file: file, key: key, problem: "an RPC URL must start with http:// or https:// (or be env:VARIABLE)")
            }
            rpc.append((url, "\(name)#\(i)"))
        }
        return rpc
    }

    private func path(_ key: String) -> String { prefix.isEmpty ? key : "\(prefix).\(key)" }

    private func missing(_ key: String) -> ConfigError {
        ConfigError(file: file, key: path(key), problem: "required key is missing")
    }

    private func wrongType(_ key: String, _ expected: String) -> ConfigError {
        ConfigError(file: file, key: path(key), problem: "must be \(expected)")
    }

    func string(_ key: String, default value: String? = nil) throws(ConfigError) -> String {
        guard let node = table[key] else {
            if let value { return value }
            throw missing(key)
        }
        guard let string = node.string else { throw wrongType(key, "a string") }
        return string
    }

    func optionalString(_ key: String) throws(ConfigError) -> String? {
        guard let node = table[key] else { return nil }
        guard let string = node.string else { throw wrongType(key, "a string") }
        return string
    }

    /// A string, or nil when the key is absent or (with `allowingTable`) a table.
    func optionalString(_ key: String, allowingTable: Bool) throws(ConfigError) -> String? {
        guard let node = table[key] else { return nil }
        if allowingTable, node.table != nil { return nil }
        guard let string = node.string else { throw wrongType(key, allowingTable ? "a string or a table" : "a string") }
        return string
    }

    func unsigned(_ key: String, default value: UInt64? = nil) throws(ConfigError) -> UInt64 {
        guard let node = table[key] else {
            if let value { return value }
            throw missing(key)
        }
        guard let int = node.int else { throw wrongType(key, "an integer") }
        guard int >= 0 else { throw wrongType(key, "zero or positive") }
        return UInt64(int)
    }

    func strings(_ key: String, default value: [String]? = nil) throws(ConfigError) -> [String] {
        guard let node = table[key] else {
            if let value { return value }
            throw missing(key)
        }
        guard let array = node.array else { throw wrongType(key, "an array of strings") }
        var out: [String] = []
        for element in array {
            guard let string = element.string else { throw wrongType(key, "an array of strings") }
            out.append(string)
        }
        return out
    }

    /// A sub-table; an absent one reads as empty (every key then takes its default).
    func table(_ key: String) throws(ConfigError) -> TOMLReader {
        guard let node = table[key] else { return TOMLReader(table: TOMLTable(), file: file, prefix: path(key)) }
        guard let sub = node.table else { throw wrongType(key, "a table") }
        return TOMLReader(table: sub, file: file, prefix: path(key))
    }

    /// An array of tables (`[[key]]`).
    func tables(_ key: String) throws(ConfigError) -> [TOMLReader] {
        guard let node = table[key] else { return [] }
        guard let array = node.array else { throw wrongType(key, "an array of tables ([[\(key)]])") }
        var out: [TOMLReader] = []
        for (i, element) in array.enumerated() {
            guard let sub = element.table else { throw wrongType("\(key)[\(i)]", "a table") }
            out.append(TOMLReader(table: sub, file: file, prefix: "\(path(key))[\(i)]"))
        }
        return out
    }

    /// Refuses keys this version does not know, so a typo is an error instead of a silently ignored setting.
    func rejectUnknown(_ known: Set<String>) throws(ConfigError) {
        for key in table.keys.sorted() where !known.contains(key) {
            throw ConfigError(file: file, key: path(key), problem: "unknown key (known: \(known.sorted().joined(separator: ", ")))")
        }
    }
}
