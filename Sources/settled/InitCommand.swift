import ArgumentParser
import Foundation
import SettleRuntime

struct InitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Write a commented starter settle.toml.",
        discussion: """
            Every key is listed with its default and what it does; secrets are references (env:NAME or file:PATH), \
            never values. Edit it, then run `settled doctor`, then `settled serve`.

            Example: settled init --chains base,solana --config /etc/settle/settle.toml
            """)

    @Option(name: .long, help: ArgumentHelp("Where to write it.", valueName: "path"))
    var config: String = "settle.toml"

    @Option(name: .long, help: "Comma-separated chain files to run (from chains/).")
    var chains: String = "base"

    @Flag(help: "Overwrite an existing file.")
    var force = false

    func run() throws {
        if FileManager.default.fileExists(atPath: config) && !force {
            throw ValidationError("\(config) exists; pass --force to overwrite it")
        }
        let names = chains.split(separator: ",").map { "\"\($0.trimmingCharacters(in: .whitespaces))\"" }.joined(separator: ", ")
        try Self.template(chains: names).write(toFile: config, atomically: true, encoding: .utf8)
        print("wrote \(config); next: set the secrets it references, then `settled doctor --config \(config)`")
    }

    static func template(chains: String) -> String {
        """
        # Settle's main configuration. Secrets are references, never values:
        #   "env:NAME"  an environment variable        "file:/path"  a file only its owner can read (chmod 600)
        # Environment overrides win over this file: SETTLE_DATABASE, SETTLE_LISTEN, SETTLE_LOG_FORMAT, and secrets given
        # as values: SETTLE_STRIPE_API_KEY, SETTLE_STRIPE_WEBHOOK_SECRET, SETTLE_MERCHANT_WEBHOOK_SECRET,
        # SETTLE_API_TOKEN_READ, SETTLE_API_TOKEN_ADMIN.

        database = "settle.sqlite"        # SQLite (WAL); back it up: the ledger cannot be rebuilt from chains
        chains_directory = "chains"       # one file per chain: RPC URLs, tokens, [signer] key and treasury, finality
        chains = [\(chains)]

        [stripe]
        api_key = "env:STRIPE_API_KEY"                   # a restricted key: invoices (write), customers and subscriptions (read)
        webhook_secrets = ["env:STRIPE_WEBHOOK_SECRET"]  # the endpoint's whsec_…; list two while rotating
        # base_url = "https://api.stripe.com"
        # mark_paid = "paid_out_of_band"                 # or "payment_records" (Stripe API versions from 2026-05-27)
        # minimum_amount = 1                             # invoices below this (whole currency units) are not collected
        # mark_uncollectible = true                      # tell Stripe when Settle gives up on an invoice
        # poll_seconds = 300                             # safety net: list open invoices in case a webhook was lost
        # warn_ahead = 172800                            # pre-check wallets this long before the due date

        [dunning]
        # missed_after = 300                             # payment.missed to the merchant, seconds after the due time
        # late_after = 600                               # payment.late
        # uncollectible_after = 604800                   # give up after a week (0: never)

        [merchant]
        # webhook_url = "https://billing.example.com/settle/webhooks"   # signed (Settle-Signature) events
        # webhook_secret = "env:SETTLE_MERCHANT_WEBHOOK_SECRET"
        # retry_seconds = [60, 300, 1800, 7200, 21600, 43200]
        # give_up_after = 259200

        [server]
        listen = "127.0.0.1:8080"         # POST /webhooks/stripe, /v1 API, /healthz, /metrics; put TLS in front
        # shutdown_seconds = 30           # SIGTERM: time for in-flight work before it is cancelled
        # max_head_lag = 20               # /healthz is 503 when an index is further behind its chain's head
        # header_timeout_seconds = 10     # a request's head must be complete this long after its first byte
        # body_timeout_seconds = 30       # and its body this long after the head
        # idle_timeout_seconds = 60       # a connection with no request in progress is closed
        # max_connections = 1024          # at the cap the longest-idle connection is closed for a new one
        # max_body_bytes = 65536          # /v1 request bodies (413 beyond)
        # webhook_max_body_bytes = 1048576  # Stripe webhook bodies (413 beyond)

        [log]
        # format = "text"                 # or "json" (one object per line)
        # level = "info"

        # Bearer tokens for the HTTP API: "read" for queries and /metrics, "admin" also retries charges and adds agreements.
        [[api.tokens]]
        name = "billing-service"
        token = "env:SETTLE_API_TOKEN"
        scope = "read"

        [allowance]                       # payments one suggested allowance covers, per billing interval
        # hour = 24
        # day = 30
        # week = 26
        # month = 13
        # year = 3

        """
    }
}
