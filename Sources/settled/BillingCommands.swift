import ArgumentParser
import Foundation
import SettleRuntime

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
        let (found, findings) = try await runtime.manualRetry.retry(invoice: invoice, now: now)
        guard let charge = found else {
            throw ValidationError("no charge for \(invoice)\(findings.isEmpty ? "" : ": " + findings.joined(separator: "; "))")
        }
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
