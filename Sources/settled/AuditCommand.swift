import ArgumentParser
import Billing
import Foundation
import SettleRuntime
import Settlement

struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit", abstract: "Check that Stripe and Settle agree on who collects.", subcommands: [Stripe.self])

    struct Stripe: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "stripe",
            abstract: "List subscriptions with an agreement that Stripe would charge to a card, and open invoices without an agreement.",
            discussion: """
                An agreement is the settle_chain, settle_token and settle_wallet metadata of a subscription or customer. \
                A subscription with one should use collection_method=send_invoice, or Stripe will charge a card too. \
                --fix switches those subscriptions to send_invoice (due --days-until-due days after finalization). \
                Open findings (invoices not collected, and why) are listed too. Exits 1 when anything needs action.
                """)

        @OptionGroup var options: DaemonOptions
        @Flag(help: "Switch the listed subscriptions to send_invoice.") var fix = false
        @Option(help: "days_until_due for switched subscriptions.") var daysUntilDue: Int = 0

        func run() async throws {
            let runtime = try await BillingRuntime.make(try options.load(), logger: options.makeLogger())
            defer { runtime.http.shutdown() }
            let audit = StripeAudit(ingestor: runtime.ingestor)
            let report = try await audit.run()
            for item in report.chargeAutomatically {
                print("charge_automatically  subscription \(item.subscription) (customer \(item.customer)) has an agreement but Stripe would charge a card")
            }
            for item in report.withoutAgreement {
                print("no_agreement          invoice \(item.invoice) (customer \(item.customer)): \(item.problem)")
            }
            for finding in try await runtime.store.findings() where finding.kind.needsAction {
                print("\(finding.kind.rawValue.padding(toLength: 22, withPad: " ", startingAt: 0))invoice \(finding.invoice): \(finding.detail)")
            }
            if fix, !report.chargeAutomatically.isEmpty {
                for id in try await audit.fix(report, daysUntilDue: daysUntilDue) { print("fixed                 subscription \(id) → send_invoice") }
                return
            }
            if report.chargeAutomatically.isEmpty && report.withoutAgreement.isEmpty {
                print("ok: every subscription with an agreement sends invoices, and every open invoice has an agreement")
            } else {
                throw ExitCode(1)
            }
        }
    }
}

struct WebhooksCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "webhooks", abstract: "Inspect and redeliver the merchant webhooks in the outbox.", subcommands: [List.self, Redeliver.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List merchant webhooks (all, or one invoice's) with their delivery status.")
        @OptionGroup var options: DaemonOptions
        @Option(help: "Only this invoice's.") var invoice: String?

        func run() async throws {
            let runtime = try await BillingRuntime.make(try options.load(), logger: options.makeLogger())
            defer { runtime.http.shutdown() }
            for message in try await runtime.outbox.messages(invoice: invoice) {
                print("\(message.id)\t\(message.eventID)\t\(message.type)\t\(message.status)\tattempts=\(message.attempts)\(message.lastError.map { "\tlast: \($0)" } ?? "")")
            }
        }
    }

    struct Redeliver: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Send a merchant webhook again (by outbox id or event id), even if delivered or given up.")
        @OptionGroup var options: DaemonOptions
        @Argument(help: "Outbox id or event id (evt_settle_…).") var id: String

        func run() async throws {
            let runtime = try await BillingRuntime.make(try options.load(), logger: options.makeLogger())
            defer { runtime.http.shutdown() }
            guard try await runtime.outbox.redeliver(id, now: unixNow()) else { throw ValidationError("no merchant webhook \(id)") }
            if let deliverer = runtime.deliverer {
                let report = try await deliverer.runOnce(now: unixNow())
                print("delivered \(report.delivered), failed \(report.failed)")
            } else {
                print("queued; [merchant] webhook_url is not configured, so nothing was sent")
            }
        }
    }
}
