import API
import ArgumentParser
import Billing
import Foundation
import SettleCore
import SettleRuntime
import Settlement

/// `settled items`: Settle's own billing objects, on the daemon's database (the same checks as `/v1/items`).
struct ItemsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "items",
        abstract: "List, create, disable and enable the items Settle bills by itself (no Stripe), and turn their renewals off or on.",
        discussion: """
            An item is a subscription (renewed at each period's end: hour, day, week, month or year, times a whole \
            multiple) or a one-time payment, at a price in a currency, paid in some or all of the configured tokens. \
            Agreements subscribe to it through POST /v1/agreements {"item"} or a checkout session {"item"}.

            Examples:
              settled items create --name "Pro" --kind subscription --interval month --amount 2500 --currency usd --tokens USDC
              settled items list
              settled items set item_pro --active false          # no new agreements; existing ones keep renewing
              settled items set item_pro --auto-invoicing false  # renewals stop; on again, they resume at the next boundary
            """,
        subcommands: [List.self, Create.self, Set.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Every item: id, kind, interval, price, tokens, active, renewals.")
        @OptionGroup var options: DaemonOptions

        func run() async throws {
            let runtime = try await BillingRuntime.make(try options.load(), logger: options.makeLogger())
            defer { runtime.http.shutdown() }
            let items = try await runtime.ledger.items()
            guard !items.isEmpty else { return print("no items (create one: settled items create --help)") }
            for item in items { print(ItemsCommand.line(item)) }
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create an item (the same checks as POST /v1/items).")
        @OptionGroup var options: DaemonOptions
        @Option(help: "An id of your own (item_…); generated when absent.") var id: String?
        @Option(help: "What the customer sees.") var name: String
        @Option(help: "subscription or one_time.") var kind: String
        @Option(help: "A subscription's period: hour, day, week, month or year.") var interval: String?
        @Option(help: "Periods per renewal (every 3 months: --interval month --interval-count 3).") var intervalCount: UInt64?
        @Option(help: "The price in the currency's minor units (2500 is 25.00 USD).") var amount: UInt64
        @Option(help: "ISO 4217 currency code.") var currency: String
        @Option(help: "Accepted tokens, comma-separated (default: every configured one).") var tokens: String?
        @Option(help: "Payments one suggested allowance covers (default: [allowance] per interval).") var allowancePayments: UInt64?

        func run() async throws {
            let runtime = try await BillingRuntime.make(try options.load(), logger: options.makeLogger())
            defer { runtime.http.shutdown() }
            var body: [(key: String, value: JSON)] = [("name", .string(name)), ("kind", .string(kind)), ("amount", .number(String(amount))),
                                                       ("currency", .string(currency))]
            if let id { body.append(("id", .string(id))) }
            if let interval { body.append(("interval", .string(interval))) }
            if let intervalCount { body.append(("interval_count", .number(String(intervalCount)))) }
            if let tokens { body.append(("tokens", .array(tokens.split(separator: ",").map { .string($0.trimmingCharacters(in: .whitespaces)) }))) }
            if let allowancePayments { body.append(("allowance_payments", .number(String(allowancePayments)))) }
            let configured = Swift.Set(runtime.chains.flatMap { $0.view.tokens.map(\.symbol) })
            let item: Item
            do { item = try ItemRequest(body: Array(JSON.object(body).text.utf8), configuredTokens: configured).item(now: unixNow()) } catch {
                throw ValidationError(error.message)
            }
            do { try await runtime.ledger.createItem(item) } catch let error as LedgerError where error.code == .conflict {
                throw ValidationError("item \(item.id) exists")
            }
            print(ItemsCommand.line(item))
        }
    }

    struct Set: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Disable or enable an item (new agreements), turn its renewals off or on.",
            discussion: "Renewals turned on again resume at the next period boundary after now; periods missed while off are "
                + "not invoiced (issue one on request: settled invoices issue --agreement N --period P).")
        @OptionGroup var options: DaemonOptions
        @Argument(help: "The item's id (item_…).") var id: String
        @Option(help: "true: takes new agreements; false: existing ones only.") var active: Bool?
        @Option(help: "true: renewals are invoiced at each period's end; false: none.") var autoInvoicing: Bool?

        func validate() throws {
            guard active != nil || autoInvoicing != nil else { throw ValidationError("give --active and/or --auto-invoicing") }
        }

        func run() async throws {
            let runtime = try await BillingRuntime.make(try options.load(), logger: options.makeLogger())
            defer { runtime.http.shutdown() }
            guard let item = try await runtime.ledger.updateItem(id, active: active, autoInvoicing: autoInvoicing, now: unixNow()) else {
                throw ValidationError("no item '\(id)' (settled items list)")
            }
            print(ItemsCommand.line(item))
        }
    }

    /// One item on one line, tab-separated.
    static func line(_ item: Item) -> String {
        let every = item.kind == .oneTime ? "once" : "every \(item.intervalCount.map { $0 == 1 ? "" : "\($0) " } ?? "")\(item.intervalUnit ?? "?")"
        let price = AmountText.display(UInt256(item.price.minorUnits), decimals: item.price.currency.exponent) + " " + item.price.currency.code
        return [item.id, item.name, every, price, item.tokens?.joined(separator: ",") ?? "all tokens",
                item.active ? "active" : "disabled", item.autoInvoicing ? "renewals on" : "renewals off"].joined(separator: "\t")
    }
}

/// `settled invoices`: Settle's own invoices, and one period issued on request (the explicit back-fill).
struct InvoicesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "invoices",
        abstract: "List Settle's own invoices, or issue one period of an agreement on an item on request.",
        discussion: """
            Examples:
              settled invoices list --agreement 12
              settled invoices issue --agreement 12 --period 7   # a period missed while renewals were off
            """,
        subcommands: [List.self, Issue.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Invoices with their period, amount, due time and charge state.")
        @OptionGroup var options: DaemonOptions
        @Option(help: "Only this agreement's.") var agreement: Int64?

        func run() async throws {
            let runtime = try await BillingRuntime.make(try options.load(), logger: options.makeLogger())
            defer { runtime.http.shutdown() }
            var after: (agreement: Int64, period: UInt64)?
            var count = 0
            while true {
                let page = try await runtime.ledger.nativeInvoices(after: after, agreement: agreement, limit: 500)
                for invoice in page {
                    let state = try await runtime.ledger.charge(invoice: invoice.id)?.state.rawValue ?? "?"
                    print(InvoicesCommand.line(invoice, state: state))
                }
                count += page.count
                guard let last = page.last, page.count == 500 else { break }
                after = (last.agreement, last.period)
            }
            if count == 0 { print("no invoices") }
        }
    }

    struct Issue: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Issue one period's invoice of an agreement on an item (once: asking again names the same invoice).",
            discussion: "Only a period that has begun; a one-time item has period 0 only. The invoice is due at its period's start, so a "
                + "back-filled period is charged by the daemon at once.")
        @OptionGroup var options: DaemonOptions
        @Option(help: "The agreement's id.") var agreement: Int64
        @Option(help: "The period (0 is the first payment).") var period: UInt64

        func run() async throws {
            let runtime = try await BillingRuntime.make(try options.load(), logger: options.makeLogger())
            defer { runtime.http.shutdown() }
            let issued: (invoice: NativeInvoice, created: Bool)
            do { issued = try await runtime.itemBilling.issueOnRequest(agreement: agreement, period: period, now: unixNow()) } catch let error as LedgerError {
                throw ValidationError(error.message)
            }
            let state = try await runtime.ledger.charge(invoice: issued.invoice.id)?.state.rawValue ?? "?"
            print((issued.created ? "issued\t" : "already issued\t") + InvoicesCommand.line(issued.invoice, state: state))
        }
    }

    static func line(_ invoice: NativeInvoice, state: String) -> String {
        let amount = AmountText.display(UInt256(invoice.amount.minorUnits), decimals: invoice.amount.currency.exponent) + " " + invoice.amount.currency.code
        let due = ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: TimeInterval(invoice.dueAt)))
        return [invoice.id, "agreement \(invoice.agreement)", invoice.item, "period \(invoice.period)", amount, "due \(due)", state].joined(separator: "\t")
    }
}
