import Foundation
import SettleCore
import Signing

/// The main configuration (`settle.toml`): the database, which chains to run, Stripe, dunning and the merchant's
/// webhook. Secrets are references (`env:NAME` or `file:PATH`), never inline.
///
/// ```toml
/// database = "settle.sqlite"          # default
/// chains_directory = "chains"         # default
/// chains = ["base", "solana"]         # chain files to run
///
/// [stripe]
/// api_key = "env:STRIPE_API_KEY"                # secret
/// webhook_secrets = ["env:STRIPE_WEBHOOK_SECRET"]  # several during a rotation
/// base_url = "https://api.stripe.com"           # default
/// api_version = "2025-03-31.basil"              # default: the version Settle is written against
/// mark_paid = "paid_out_of_band"                # or "payment_records" (API versions from 2026-05-27)
/// minimum_amount = 1                            # whole currency units; smaller invoices are not collected
/// mark_uncollectible = true                     # tell Stripe when Settle gives up
/// poll_seconds = 300                            # the safety-net listing of open invoices
/// warn_ahead = 172800                           # pre-check short wallets this long before the due date
///
/// [dunning]
/// missed_after = 300           # payment.missed, seconds after the due time
/// late_after = 600             # payment.late
/// uncollectible_after = 604800 # give up (0: never)
///
/// [merchant]
/// webhook_url = "https://merchant.example/settle/webhooks"
/// webhook_secret = "env:SETTLE_MERCHANT_WEBHOOK_SECRET"   # secret
/// retry_seconds = [60, 300, 1800, 7200, 21600, 43200]
/// give_up_after = 259200       # 3 days
///
/// [server]
/// listen = "127.0.0.1:8080"    # POST /webhooks/stripe
/// ```
public struct DaemonConfig: Sendable {
    public var file: String
    public var database: String
    public var chainsDirectory: String
    public var chains: [String]

    public struct Stripe: Sendable {
        public var apiKey: KeyReference?
        public var webhookSecrets: [KeyReference]
        public var baseURL: String
        public var apiVersion: String?
        public var markPaid: String
        public var minimumAmount: UInt64
        public var markUncollectible: Bool
        public var pollSeconds: UInt64
        public var warnAhead: UInt64
    }

    public struct Dunning: Sendable {
        public var missedAfter: UInt64
        public var lateAfter: UInt64
        /// nil: never give up.
        public var uncollectibleAfter: UInt64?
    }

    public struct Merchant: Sendable {
        public var webhookURL: String?
        public var webhookSecret: KeyReference?
        public var retrySeconds: [UInt64]
        public var giveUpAfter: UInt64
    }

    public var stripe: Stripe
    public var dunning: Dunning
    public var merchant: Merchant
    /// `host:port` the HTTP server listens on.
    public var listen: (host: String, port: Int)

    /// Reads `path`.
    public static func load(path: String) throws(ConfigError) -> DaemonConfig {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigError(file: path, key: "", problem: "no such file (write one with the keys in README's configuration section)")
        }
        return try parse(String(decoding: data, as: UTF8.self), file: path)
    }

    /// Parses the text of a main config.
    public static func parse(_ text: String, file: String) throws(ConfigError) -> DaemonConfig {
        let root = try TOMLReader(parsing: text, file: file)
        try root.rejectUnknown(["database", "chains_directory", "chains", "stripe", "dunning", "merchant", "server"])
        func reference(_ reader: TOMLReader, _ key: String, _ text: String) throws(ConfigError) -> KeyReference {
            do { return try KeyReference(parsing: text) } catch { throw ConfigError(file: file, key: key, problem: error.message) }
        }
        let stripeTable = try root.table("stripe")
        try stripeTable.rejectUnknown(["api_key", "webhook_secrets", "base_url", "api_version", "mark_paid", "minimum_amount",
                                       "mark_uncollectible", "poll_seconds", "warn_ahead"])
        let markPaid = try stripeTable.string("mark_paid", default: "paid_out_of_band")
        guard ["paid_out_of_band", "payment_records"].contains(markPaid) else {
            throw ConfigError(file: file, key: "stripe.mark_paid", problem: "must be \"paid_out_of_band\" or \"payment_records\"")
        }
        var secrets: [KeyReference] = []
        for text in try stripeTable.strings("webhook_secrets", default: []) { secrets.append(try reference(stripeTable, "stripe.webhook_secrets", text)) }
        let baseURL = try stripeTable.string("base_url", default: "https://api.stripe.com")
        guard baseURL.hasPrefix("https://") || baseURL.hasPrefix("http://127.0.0.1") || baseURL.hasPrefix("http://localhost") else {
            throw ConfigError(file: file, key: "stripe.base_url", problem: "must be https (plain http only to 127.0.0.1 or localhost)")
        }
        let stripe = Stripe(
            apiKey: try stripeTable.optionalString("api_key").map { (text: String) throws(ConfigError) in try reference(stripeTable, "stripe.api_key", text) },
            webhookSecrets: secrets, baseURL: baseURL, apiVersion: try stripeTable.optionalString("api_version"), markPaid: markPaid,
            minimumAmount: try stripeTable.unsigned("minimum_amount", default: 1),
            markUncollectible: try stripeTable.bool("mark_uncollectible", default: true),
            pollSeconds: max(1, try stripeTable.unsigned("poll_seconds", default: 300)),
            warnAhead: try stripeTable.unsigned("warn_ahead", default: 172_800))
        let dunningTable = try root.table("dunning")
        try dunningTable.rejectUnknown(["missed_after", "late_after", "uncollectible_after"])
        let uncollectible = try dunningTable.unsigned("uncollectible_after", default: 604_800)
        let dunning = Dunning(missedAfter: try dunningTable.unsigned("missed_after", default: 300),
                              lateAfter: try dunningTable.unsigned("late_after", default: 600),
                              uncollectibleAfter: uncollectible == 0 ? nil : uncollectible)
        guard dunning.lateAfter >= dunning.missedAfter else {
            throw ConfigError(file: file, key: "dunning.late_after", problem: "must not be before missed_after")
        }
        let merchantTable = try root.table("merchant")
        try merchantTable.rejectUnknown(["webhook_url", "webhook_secret", "retry_seconds", "give_up_after"])
        let url = try merchantTable.optionalString("webhook_url")
        if let url, !(url.hasPrefix("https://") || url.hasPrefix("http://127.0.0.1") || url.hasPrefix("http://localhost")) {
            throw ConfigError(file: file, key: "merchant.webhook_url", problem: "must be https (plain http only to 127.0.0.1 or localhost)")
        }
        let secret = try merchantTable.optionalString("webhook_secret").map { (text: String) throws(ConfigError) in try reference(merchantTable, "merchant.webhook_secret", text) }
        if url != nil, secret == nil {
            throw ConfigError(file: file, key: "merchant.webhook_secret", problem: "is needed with webhook_url (merchant webhooks are always signed)")
        }
        let merchant = Merchant(webhookURL: url, webhookSecret: secret,
                                retrySeconds: try merchantTable.unsignedList("retry_seconds", default: [60, 300, 1_800, 7_200, 21_600, 43_200]),
                                giveUpAfter: try merchantTable.unsigned("give_up_after", default: 259_200))
        let serverTable = try root.table("server")
        try serverTable.rejectUnknown(["listen"])
        let listenText = try serverTable.string("listen", default: "127.0.0.1:8080")
        guard let colon = listenText.lastIndex(of: ":"), let port = Int(listenText[listenText.index(after: colon)...]), (0...65_535).contains(port) else {
            throw ConfigError(file: file, key: "server.listen", problem: "must be HOST:PORT")
        }
        return DaemonConfig(file: file, database: try root.string("database", default: "settle.sqlite"),
                            chainsDirectory: try root.string("chains_directory", default: "chains"), chains: try root.strings("chains", default: []),
                            stripe: stripe, dunning: dunning, merchant: merchant, listen: (String(listenText[..<colon]), port))
    }
}

extension TOMLReader {
    func bool(_ key: String, default value: Bool) throws(ConfigError) -> Bool {
        guard let node = table[key] else { return value }
        guard let bool = node.bool else { throw ConfigError(file: file, key: prefix.isEmpty ? key : "\(prefix).\(key)", problem: "must be true or false") }
        return bool
    }

    func unsignedList(_ key: String, default value: [UInt64]) throws(ConfigError) -> [UInt64] {
        guard let node = table[key] else { return value }
        let name = prefix.isEmpty ? key : "\(prefix).\(key)"
        guard let array = node.array, !array.isEmpty else { throw ConfigError(file: file, key: name, problem: "must be a non-empty list of seconds") }
        var out: [UInt64] = []
        for element in array {
            guard let int = element.int, int > 0 else { throw ConfigError(file: file, key: name, problem: "must be a list of positive integers") }
            out.append(UInt64(int))
        }
        return out
    }
}
