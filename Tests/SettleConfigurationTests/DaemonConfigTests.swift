import SettleConfiguration
import Signing
import Store
import Testing

@Suite("Main config (settle.toml): defaults, references for secrets, errors naming file and key")
struct DaemonConfigTests {
    @Test("a minimal file takes every default")
    func defaults() throws {
        let config = try DaemonConfig.parse(#"chains = ["base"]"#, file: "settle.toml")
        #expect(config.database == "settle.sqlite" && config.chains == ["base"] && config.stripe.markPaid == "paid_out_of_band")
        #expect(config.dunning.missedAfter == 300 && config.dunning.lateAfter == 600 && config.dunning.uncollectibleAfter == 604_800)
        #expect(config.merchant.giveUpAfter == 259_200 && config.listen.host == "127.0.0.1" && config.listen.port == 8080)
        #expect(config.serverLimits == ServerLimits())
        #expect(config.serverLimits.headerTimeout == .seconds(10) && config.serverLimits.maxConnections == 1_024)
    }

    @Test("the database: a SQLite path by default, or a [database] table with a postgres:// URL and a password reference")
    func databaseLocation() throws {
        #expect(try DaemonConfig.parse("database = \"/var/lib/settle/settle.sqlite\"", file: "settle.toml").databaseLocation
                == .sqlite(path: "/var/lib/settle/settle.sqlite"))
        let config = try DaemonConfig.parse("""
            [database]
            url = "postgres://settle@db.internal:6543/billing?sslmode=verify-full&pool=20"
            password = "file:/run/secrets/pg"
            """, file: "settle.toml")
        #expect(try config.databaseLocation == .postgres(PostgresLocation(host: "db.internal", port: 6543, user: "settle", database: "billing",
                                                                          requireTLS: true, maximumConnections: 20)))
        #expect(config.databasePassword == .file(path: "/run/secrets/pg"))
        let overridden = try DaemonConfig.parse("database = \"settle.sqlite\"", file: "settle.toml", environment: [
            "SETTLE_DATABASE": "postgres://settle@127.0.0.1/settle?sslmode=disable", "SETTLE_DATABASE_PASSWORD": "hunter2",
        ])
        #expect(try overridden.databaseLocation == .postgres(PostgresLocation(host: "127.0.0.1", user: "settle", database: "settle", requireTLS: false)))
        #expect(overridden.databasePassword == .environment(name: "SETTLE_DATABASE_PASSWORD"))
    }

    @Test("a database URL with a password, a bad option or an inline password is refused, naming the key", arguments: [
        ("[database]\nurl = \"postgres://settle:hunter2@db/settle\"", "database"),
        ("database = \"postgres://settle@db/settle?sslmode=prefer\"", "database"),
        ("[database]\nurl = \"postgres://settle@db/settle\"\npassword = \"hunter2\"", "database.password"),
        ("[database]\nurl = \"postgres://settle@db/settle\"\nuser = \"x\"", "database.user"),
        ("database = 5", "database"),
        ("[server]\nlease_seconds = 1", "server.lease_seconds"),
    ])
    func databaseMistakes(text: String, key: String) {
        let error = #expect(throws: ConfigError.self) { try DaemonConfig.parse(text, file: "settle.toml") }
        #expect(error?.key == key, "\(String(describing: error))")
    }

    @Test("a full file is read as written")
    func full() throws {
        let config = try DaemonConfig.parse("""
            database = "/var/lib/settle/db.sqlite"
            chains = ["base", "solana"]
            [stripe]
            api_key = "env:STRIPE_API_KEY"
            webhook_secrets = ["env:WHSEC_NEW", "file:/etc/settle/whsec_old"]
            mark_paid = "payment_records"
            minimum_amount = 2
            [dunning]
            uncollectible_after = 0
            [merchant]
            webhook_url = "https://merchant.example/hooks"
            webhook_secret = "env:MERCHANT_SECRET"
            retry_seconds = [10, 20]
            [server]
            listen = "0.0.0.0:9000"
            header_timeout_seconds = 5
            body_timeout_seconds = 20
            idle_timeout_seconds = 90
            max_connections = 4000
            max_body_bytes = 2048
            webhook_max_body_bytes = 4194304
            """, file: "settle.toml")
        #expect(config.serverLimits == ServerLimits(headerTimeout: .seconds(5), bodyTimeout: .seconds(20), idleTimeout: .seconds(90),
                                                    maxConnections: 4_000, maxBodyBytes: 2_048, webhookMaxBodyBytes: 4 << 20))
        #expect(config.stripe.webhookSecrets.map(\.description) == ["env:WHSEC_NEW", "file:/etc/settle/whsec_old"])
        #expect(config.stripe.markPaid == "payment_records" && config.stripe.minimumAmount == 2)
        #expect(config.dunning.uncollectibleAfter == nil && config.merchant.retrySeconds == [10, 20] && config.listen.port == 9000)
    }

    @Test("mistakes name the file and key", arguments: [
        ("[stripe]\napi_key = \"sk_live_123\"", "stripe.api_key"),
        ("[stripe]\nmark_paid = \"card\"", "stripe.mark_paid"),
        ("[stripe]\nbase_url = \"http://api.stripe.com\"", "stripe.base_url"),
        ("[merchant]\nwebhook_url = \"https://m.example\"", "merchant.webhook_secret"),
        ("[merchant]\nwebhook_url = \"http://m.example\"\nwebhook_secret = \"env:X\"", "merchant.webhook_url"),
        ("[merchant]\nretry_seconds = []", "merchant.retry_seconds"),
        ("[dunning]\nmissed_after = 900\nlate_after = 600", "dunning.late_after"),
        ("[server]\nlisten = \"8080\"", "server.listen"),
        ("[server]\nheader_timeout_seconds = 0", "server.header_timeout_seconds"),
        ("[server]\nidle_timeout_seconds = -1", "server.idle_timeout_seconds"),
        ("[server]\nmax_connections = 0", "server.max_connections"),
        ("[server]\nmax_body_bytes = 100", "server.max_body_bytes"),
        ("[server]\nwebhook_max_body_bytes = 1000000000", "server.webhook_max_body_bytes"),
        ("databse = \"x\"", "databse"),
        ("[stripe]\nwebhook_secret = \"env:X\"", "stripe.webhook_secret"),
        // "plain http only to this machine" is a host, not a prefix
        ("[stripe]\nbase_url = \"http://localhost.evil.example\"", "stripe.base_url"),
        ("[stripe]\nbase_url = \"http://127.0.0.1.evil.example:80\"", "stripe.base_url"),
        ("[stripe]\nbase_url = \"http://localhost@evil.example/\"", "stripe.base_url"),
        ("[stripe]\nbase_url = \"https://\"", "stripe.base_url"),
        ("[merchant]\nwebhook_url = \"http://localhost.evil.example/hooks\"\nwebhook_secret = \"env:X\"", "merchant.webhook_url"),
        ("[merchant]\nwebhook_url = \"ftp://localhost/hooks\"\nwebhook_secret = \"env:X\"", "merchant.webhook_url"),
    ])
    func errors(text: String, key: String) {
        let error = #expect(throws: ConfigError.self) { try DaemonConfig.parse(text, file: "settle.toml") }
        #expect(error?.file == "settle.toml" && error?.key == key)
    }

    @Test("plain http to this machine is allowed by host", arguments: ["http://127.0.0.1:12111", "http://localhost:9/hooks", "http://[::1]:8080/x",
                                                                      "https://api.stripe.com"])
    func loopbackAllowed(url: String) throws {
        let config = try DaemonConfig.parse("[stripe]\nbase_url = \"\(url)\"\n[merchant]\nwebhook_url = \"\(url)\"\nwebhook_secret = \"env:X\"",
                                            file: "settle.toml")
        #expect(config.stripe.baseURL == url && config.merchant.webhookURL == url)
    }
}
