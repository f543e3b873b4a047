import Foundation
import SettleCore
import Signing
import Store

/// The main configuration (`settle.toml`): the database, which chains to run, Stripe, dunning and the merchant's
/// webhook. Secrets are references (`env:NAME` or `file:PATH`), never inline.
///
/// ```toml
/// database = "settle.sqlite"          # default: a SQLite file (embedded, one daemon)
/// # or several daemons on one PostgreSQL database:
/// # [database]
/// # url = "postgres://settle@db.internal:5432/settle?sslmode=verify-full&pool=10"
/// # password = "env:SETTLE_DATABASE_PASSWORD"   # secret; never in the URL
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
/// listen = "127.0.0.1:8080"    # POST /webhooks/stripe, the /v1 API, /healthz, /metrics
/// shutdown_seconds = 30        # SIGTERM: how long in-flight work may take to finish before it is cancelled
/// lease_seconds = 15           # several daemons on PostgreSQL: how long a daemon that stops renewing keeps a chain's work
/// max_head_lag = 20            # /healthz says "degraded" when a chain's index is further behind its head
/// header_timeout_seconds = 10  # from a request's first byte to its complete head; then the connection is closed
/// body_timeout_seconds = 30    # from the head to the last byte of the body
/// idle_timeout_seconds = 60    # a connection with no request in progress
/// max_connections = 1024       # open connections; at the cap the oldest idle one is closed for a new one
/// max_body_bytes = 65536       # largest /v1 request body (413 beyond)
/// webhook_max_body_bytes = 1048576  # largest Stripe webhook body (413 beyond)
///
/// [log]
/// format = "text"              # or "json" (one object per line)
/// level = "info"
///
/// [api]                        # bearer tokens for /v1 and /metrics; "admin" may also retry charges and add agreements
/// [[api.tokens]]
/// name = "billing-service"
/// token = "env:SETTLE_API_TOKEN"   # secret
/// scope = "read"               # or "admin"
///
/// [allowance]                  # payments one suggested allowance covers, per billing interval (merchant override)
/// hour = 24
/// day = 30
/// week = 26
/// month = 13
/// year = 3
/// ```
///
/// Environment overrides (for secrets and per-host settings; each wins over the file): `SETTLE_DATABASE` (a path or a
/// `postgres://` URL), `SETTLE_DATABASE_PASSWORD`,
/// `SETTLE_LISTEN`, `SETTLE_LOG_FORMAT`, and secrets given as values: `SETTLE_STRIPE_API_KEY`,
/// `SETTLE_STRIPE_WEBHOOK_SECRET`, `SETTLE_MERCHANT_WEBHOOK_SECRET`, `SETTLE_API_TOKEN_READ`, `SETTLE_API_TOKEN_ADMIN`.
public struct DaemonConfig: Sendable {
    public var file: String
    /// A SQLite file's path, or a `postgres://` URL (`databaseLocation` says which).
    public var database: String
    /// The PostgreSQL password (a secret reference), when the database is PostgreSQL and needs one.
    public var databasePassword: KeyReference?
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

    /// A bearer token of the HTTP API.
    public struct APIToken: Sendable {
        public enum Scope: String, Sendable {
            /// Queries, `/metrics`.
            case read
            /// Queries plus retries and new agreements.
            case admin
        }
        public var name: String
        public var token: KeyReference
        public var scope: Scope
    }

    /// Log output.
    public enum LogFormat: String, Sendable, CaseIterable {
        case text, json
    }

    public var stripe: Stripe
    public var dunning: Dunning
    public var merchant: Merchant
    /// `host:port` the HTTP server listens on.
    public var listen: (host: String, port: Int)
    /// Seconds SIGTERM waits for in-flight work before cancelling it.
    public var shutdownSeconds: UInt64
    /// How long a lease on a chain's indexing or signing runs without renewal (several daemons on PostgreSQL): the
    /// longest a dead daemon's work waits before another takes it over.
    public var leaseSeconds: UInt64 = 15
    /// Where customers reach this server (`[server] public_url`): the base of checkout and portal links. Nil: the
    /// listen address over plain HTTP (fine on one machine; behind TLS set it).
    public var publicURL: String?
    /// Blocks (or slots) behind the head beyond which `/healthz` reports a chain degraded.
    public var maxHeadLag: UInt64
    /// The HTTP server's deadlines, connection cap and body limits (`[server]`).
    public var serverLimits = ServerLimits()
    public var logFormat: LogFormat
    public var logLevel: String?
    public var apiTokens: [APIToken]
    /// Payments a suggested allowance covers per billing interval (`hour`, `day`, `week`, `month`, `year`).
    public var allowancePayments: [String: UInt64]

    /// The defaults of `[allowance]`: a day of hourly payments, a month of daily ones, half a year of weekly ones, a
    /// year and a month of monthly ones, three years of yearly ones.
    public static let defaultAllowancePayments: [String: UInt64] = ["hour": 24, "day": 30, "week": 26, "month": 13, "year": 3]

    /// Reads `path`.
    public static func load(path: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws(ConfigError) -> DaemonConfig {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigError(file: path, key: "", problem: "no such file (`settled init` writes a commented starter; README lists every key)")
        }
        return try parse(String(decoding: data, as: UTF8.self), file: path, environment: environment)
    }

    /// Parses the text of a main config, then applies the environment overrides.
    public static func parse(_ text: String, file: String, environment: [String: String] = [:]) throws(ConfigError) -> DaemonConfig {
        var config = try parseFile(text, file: file)
        try config.apply(environment: environment)
        if config.merchant.webhookURL != nil, config.merchant.webhookSecret == nil {
            throw ConfigError(file: file, key: "merchant.webhook_secret",
                              problem: "is needed with webhook_url (merchant webhooks are always signed; or set SETTLE_MERCHANT_WEBHOOK_SECRET)")
        }
        return config
    }

    /// The overrides of the doc comment. A secret given as a value is referenced as `env:NAME`, so it is read like any
    /// other secret and never copied into the configuration.
    mutating func apply(environment: [String: String]) throws(ConfigError) {
        func present(_ name: String) -> String? { environment[name].flatMap { $0.isEmpty ? nil : $0 } }
        if let database = present("SETTLE_DATABASE") {
            self.database = database
            _ = try Self.location(database, file: "environment", key: "SETTLE_DATABASE")
        }
        if present("SETTLE_DATABASE_PASSWORD") != nil { databasePassword = .environment(name: "SETTLE_DATABASE_PASSWORD") }
        if let listen = present("SETTLE_LISTEN") { self.listen = try Self.parseListen(listen, file: "$SETTLE_LISTEN", key: "SETTLE_LISTEN") }
        if let format = present("SETTLE_LOG_FORMAT") {
            guard let parsed = LogFormat(rawValue: format) else {
                throw ConfigError(file: "environment", key: "SETTLE_LOG_FORMAT", problem: "must be \"text\" or \"json\"")
            }
            logFormat = parsed
        }
        if present("SETTLE_STRIPE_API_KEY") != nil { stripe.apiKey = .environment(name: "SETTLE_STRIPE_API_KEY") }
        if present("SETTLE_STRIPE_WEBHOOK_SECRET") != nil { stripe.webhookSecrets = [.environment(name: "SETTLE_STRIPE_WEBHOOK_SECRET")] }
        if present("SETTLE_MERCHANT_WEBHOOK_SECRET") != nil { merchant.webhookSecret = .environment(name: "SETTLE_MERCHANT_WEBHOOK_SECRET") }
        if present("SETTLE_API_TOKEN_READ") != nil {
            apiTokens.append(APIToken(name: "env-read", token: .environment(name: "SETTLE_API_TOKEN_READ"), scope: .read))
        }
        if present("SETTLE_API_TOKEN_ADMIN") != nil {
            apiTokens.append(APIToken(name: "env-admin", token: .environment(name: "SETTLE_API_TOKEN_ADMIN"), scope: .admin))
        }
    }

    /// An https URL with a host, or plain http whose host is this machine (`127.0.0.1`, `localhost`, `::1`) — judged on
    /// the parsed host with no user info, never on a text prefix (`http://localhost.evil.example` is not local).
    static func isSecureOrLoopback(_ text: String) -> Bool {
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(),
              let host = components.host?.lowercased(), !host.isEmpty, components.user == nil, components.password == nil else { return false }
        switch scheme {
        case "https": return true
        case "http": return ["127.0.0.1", "localhost", "::1", "[::1]"].contains(host)
        default: return false
        }
    }

    static func parseListen(_ text: String, file: String, key: String) throws(ConfigError) -> (host: String, port: Int) {
        guard let colon = text.lastIndex(of: ":"), colon != text.startIndex, let port = Int(text[text.index(after: colon)...]),
              (0...65_535).contains(port) else {
            throw ConfigError(file: file, key: key, problem: "must be HOST:PORT")
        }
        return (String(text[..<colon]), port)
    }

    /// Where the database is: a `postgres://` (or `postgresql://`) URL, anything else a SQLite path.
    public var databaseLocation: DatabaseLocation {
        get throws(ConfigError) { try Self.location(database, file: file, key: "database") }
    }

    /// Where `text` (a SQLite path or a `postgres://` URL) points; a problem names `file` and `key` (e.g. "--database").
    public static func location(_ text: String, file: String, key: String) throws(ConfigError) -> DatabaseLocation {
        guard text.hasPrefix("postgres://") || text.hasPrefix("postgresql://") else {
            guard !text.isEmpty else { throw ConfigError(file: file, key: key, problem: "must name a SQLite file or a postgres:// URL") }
            return .sqlite(path: text)
        }
        do { return .postgres(try PostgresLocation(url: text)) } catch { throw ConfigError(file: file, key: key, problem: error.message) }
    }

    static func parseFile(_ text: String, file: String) throws(ConfigError) -> DaemonConfig {
        let root = try TOMLReader(parsing: text, file: file)
        try root.rejectUnknown(["database", "chains_directory", "chains", "stripe", "dunning", "merchant", "server", "log", "api", "allowance"])
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
        guard Self.isSecureOrLoopback(baseURL) else {
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
        if let url, !Self.isSecureOrLoopback(url) {
            throw ConfigError(file: file, key: "merchant.webhook_url", problem: "must be https (plain http only to 127.0.0.1 or localhost)")
        }
        let secret = try merchantTable.optionalString("webhook_secret").map { (text: String) throws(ConfigError) in try reference(merchantTable, "merchant.webhook_secret", text) }
        let merchant = Merchant(webhookURL: url, webhookSecret: secret,
                                retrySeconds: try merchantTable.unsignedList("retry_seconds", default: [60, 300, 1_800, 7_200, 21_600, 43_200]),
                                giveUpAfter: try merchantTable.unsigned("give_up_after", default: 259_200))
        let serverTable = try root.table("server")
        try serverTable.rejectUnknown(["listen", "shutdown_seconds", "lease_seconds", "max_head_lag", "header_timeout_seconds", "body_timeout_seconds",
                                       "idle_timeout_seconds", "max_connections", "max_body_bytes", "webhook_max_body_bytes", "public_url"])
        func bounded(_ key: String, default value: Int, _ range: ClosedRange<Int>, _ unit: String) throws(ConfigError) -> Int {
            let number = try serverTable.unsigned(key, default: UInt64(value))
            guard number >= range.lowerBound, number <= range.upperBound else {
                throw ConfigError(file: file, key: "server.\(key)", problem: "must be \(range.lowerBound)…\(range.upperBound) \(unit)")
            }
            return Int(number)
        }
        let defaults = ServerLimits()
        let limits = ServerLimits(
            headerTimeout: .seconds(try bounded("header_timeout_seconds", default: defaults.headerSeconds, 1...3_600, "seconds")),
            bodyTimeout: .seconds(try bounded("body_timeout_seconds", default: defaults.bodySeconds, 1...3_600, "seconds")),
            idleTimeout: .seconds(try bounded("idle_timeout_seconds", default: defaults.idleSeconds, 1...86_400, "seconds")),
            maxConnections: try bounded("max_connections", default: defaults.maxConnections, 1...1_000_000, "connections"),
            maxBodyBytes: try bounded("max_body_bytes", default: defaults.maxBodyBytes, 1_024...(64 << 20), "bytes"),
            webhookMaxBodyBytes: try bounded("webhook_max_body_bytes", default: defaults.webhookMaxBodyBytes, 1_024...(64 << 20), "bytes"))
        let listen = try parseListen(try serverTable.string("listen", default: "127.0.0.1:8080"), file: file, key: "server.listen")
        let logTable = try root.table("log")
        try logTable.rejectUnknown(["format", "level"])
        guard let logFormat = LogFormat(rawValue: try logTable.string("format", default: "text")) else {
            throw ConfigError(file: file, key: "log.format", problem: "must be \"text\" or \"json\"")
        }
        let levels = ["trace", "debug", "info", "notice", "warning", "error", "critical"]
        let logLevel = try logTable.optionalString("level")
        if let logLevel, !levels.contains(logLevel) {
            throw ConfigError(file: file, key: "log.level", problem: "must be one of \(levels.joined(separator: ", "))")
        }
        let apiTable = try root.table("api")
        try apiTable.rejectUnknown(["tokens"])
        var tokens: [APIToken] = []
        for (i, table) in try apiTable.tables("tokens").enumerated() {
            try table.rejectUnknown(["name", "token", "scope"])
            let name = try table.string("name", default: "token-\(i)")
            guard let scope = APIToken.Scope(rawValue: try table.string("scope", default: "read")) else {
                throw ConfigError(file: file, key: "api.tokens[\(i)].scope", problem: "must be \"read\" or \"admin\"")
            }
            tokens.append(APIToken(name: name, token: try reference(table, "api.tokens[\(i)].token", try table.string("token")), scope: scope))
        }
        let allowanceTable = try root.table("allowance")
        try allowanceTable.rejectUnknown(Set(defaultAllowancePayments.keys))
        var payments = defaultAllowancePayments
        for key in defaultAllowancePayments.keys {
            let value = try allowanceTable.unsigned(key, default: defaultAllowancePayments[key] ?? 1)
            guard value > 0 else { throw ConfigError(file: file, key: "allowance.\(key)", problem: "must be at least 1 payment") }
            payments[key] = value
        }
        var database = "settle.sqlite"
        var databasePassword: KeyReference?
        if let text = try root.optionalString("database", allowingTable: true) {
            database = text
        } else {
            let table = try root.table("database")
            try table.rejectUnknown(["url", "password"])
            database = try table.string("url", default: database)
            if let password = try table.optionalString("password") { databasePassword = try reference(table, "database.password", password) }
        }
        _ = try Self.location(database, file: file, key: "database")
        var config = DaemonConfig(file: file, database: database,
                            chainsDirectory: try root.string("chains_directory", default: "chains"), chains: try root.strings("chains", default: []),
                            stripe: stripe, dunning: dunning, merchant: merchant, listen: listen,
                            shutdownSeconds: max(1, try serverTable.unsigned("shutdown_seconds", default: 30)),
                            maxHeadLag: try serverTable.unsigned("max_head_lag", default: 20),
                            logFormat: logFormat, logLevel: logLevel, apiTokens: tokens, allowancePayments: payments)
        config.serverLimits = limits
        config.databasePassword = databasePassword
        config.leaseSeconds = try serverTable.unsigned("lease_seconds", default: 15)
        guard (2...3_600).contains(config.leaseSeconds) else {
            throw ConfigError(file: file, key: "server.lease_seconds", problem: "must be 2…3600 seconds")
        }
        if let url = try serverTable.optionalString("public_url") {
            guard let parsed = URL(string: url), let scheme = parsed.scheme?.lowercased(), let host = parsed.host, !host.isEmpty,
                  scheme == "https" || (scheme == "http" && ["127.0.0.1", "localhost", "::1"].contains(host)),
                  parsed.query == nil, parsed.fragment == nil else {
                throw ConfigError(file: file, key: "server.public_url",
                                  problem: "must be an https URL (plain http only to 127.0.0.1 or localhost), without query or fragment")
            }
            config.publicURL = url.hasSuffix("/") ? String(url.dropLast()) : url
        }
        return config
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

/// The database a daemon runs on.
public enum DatabaseLocation: Sendable, Equatable {
    /// A SQLite file: embedded, one daemon at a time (`DatabaseLock`).
    case sqlite(path: String)
    /// A PostgreSQL database: several daemons at once.
    case postgres(PostgresLocation)
}
