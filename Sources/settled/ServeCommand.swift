import API
import ArgumentParser
import Billing
import Foundation
import Hummingbird
import Logging

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run billing: Stripe webhooks in, charges executed and settled, invoices marked paid, merchant webhooks out.",
        discussion: """
            Listens on [server] listen for POST /webhooks/stripe (point a Stripe webhook endpoint at it, with the \
            invoice.* and customer.subscription.* events). Each event is verified and stored before Stripe gets its \
            2xx, then processed in order per invoice. Every pass (--interval) executes due charges on every chain in \
            `chains`, marks final ones paid in Stripe, sends dunning notices and merchant webhooks; every \
            [stripe] poll_seconds it also lists open send_invoice invoices as a safety net for lost webhooks. \
            SIGTERM or SIGINT stops it after the current step.

            Example: STRIPE_API_KEY=sk_live_… STRIPE_WEBHOOK_SECRET=whsec_… settled serve --config settle.toml
            """)

    @OptionGroup var options: DaemonOptions

    @Option(help: "Seconds between passes.")
    var interval: Double = 2

    func run() async throws {
        let logger = options.makeLogger()
        let config = try options.load()
        let runtime = try await BillingRuntime.make(config, logger: logger)
        defer { runtime.http.shutdown() }
        let router = Router()
        StripeWebhookRoute.add(to: router, inbox: StripeInbox(store: runtime.store, secrets: runtime.webhookSecrets), logger: logger)
        let app = Application(router: router, configuration: .init(address: .hostname(config.listen.host, port: config.listen.port)), logger: logger)
        let interval = interval
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await app.runService() }  // returns on SIGTERM/SIGINT
            group.addTask {
                var lastPoll: UInt64 = 0
                while !Task.isCancelled {
                    let now = unixNow()
                    if now >= lastPoll + config.stripe.pollSeconds {
                        await runtime.step("stripe poll") { _ = try await runtime.poller.runOnce(now: now) }
                        lastPoll = now
                    }
                    await runtime.pass(now: now)
                    try? await Task.sleep(for: .milliseconds(Int64(interval * 1000)))
                }
            }
            try await group.next()
            group.cancelAll()
        }
    }
}

struct RetryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retry",
        abstract: "Re-check an invoice at once (the customer topped up or raised the allowance) and charge it if it can be.",
        discussion: "Example: settled retry --invoice in_1Q2w3E --config settle.toml")

    @OptionGroup var options: DaemonOptions
    @Option(help: "Stripe invoice id (in_…).") var invoice: String

    func run() async throws {
        let runtime = try await BillingRuntime.make(try options.load(), logger: options.makeLogger())
        defer { runtime.http.shutdown() }
        let now = unixNow()
        try await runtime.ingestor.reconcile(invoiceID: invoice, now: now)
        guard let charge = try await runtime.ledger.charge(invoice: invoice) else {
            let findings = try await runtime.store.findings(invoice: invoice).map { "\($0.kind.rawValue): \($0.detail)" }
            throw ValidationError("no charge for \(invoice)\(findings.isEmpty ? "" : ": " + findings.joined(separator: "; "))")
        }
        try await runtime.ledger.retryNow(charge.id, now: now)
        try await runtime.loop(for: charge).runOnce(now: now)
        let after = try await runtime.ledger.charge(id: charge.id)
        print("\(invoice): \(after?.state.rawValue ?? "?")\(after?.reason.map { " (\($0))" } ?? "")")
    }
}

struct CollectNowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "collect-now",
        abstract: "Collect a draft invoice now (a prorated upgrade): due in 2 s, finalized without automatic collection, charged at once.",
        discussion: """
            The invoice's due date becomes now + 2 s with collection_method=send_invoice, it is finalized with \
            auto_advance=false, ingested like any other, and charged as soon as it is due. An open invoice is \
            charged at once if it waits for funds.

            Example: settled collect-now --invoice in_1Q2w3E --config settle.toml
            """)

    @OptionGroup var options: DaemonOptions
    @Option(help: "Stripe invoice id (in_…).") var invoice: String

    func run() async throws {
        let runtime = try await BillingRuntime.make(try options.load(), logger: options.makeLogger())
        defer { runtime.http.shutdown() }
        let outcome = try await runtime.ingestor.collectNow(invoiceID: invoice, now: unixNow())
        guard let charge = try await runtime.ledger.charge(invoice: invoice) else { throw ValidationError("\(invoice) not collected: \(outcome)") }
        let wait = Double(charge.dueAt) - Date().timeIntervalSince1970
        if wait > 0 { try await Task.sleep(for: .milliseconds(Int64(wait * 1000) + 50)) }
        try await runtime.loop(for: charge).runOnce(now: max(unixNow(), charge.dueAt))
        let after = try await runtime.ledger.charge(id: charge.id)
        print("\(invoice): \(after?.state.rawValue ?? "?")\(after?.reason.map { " (\($0))" } ?? "")")
    }
}
