@testable import Billing
import EVM
import Foundation
import Logging
import SettleCore
import Settlement
import TestSupport
import Testing

/// A month of Settle's own billing on the devnet, on an injected clock: the auto-invoicer runs at every hour of 30
/// days and the executor pulls what is due, day by day. Ground truth from the chain (the treasury's Transfer logs)
/// and the ledger's invoices per period:
/// - an hourly agreement: its first payment and 720 renewals, each invoiced once and pulled once;
/// - an agreement on an item disabled on day 10 (renewals go on; no new agreement) whose renewals are off for three
///   periods on day 20 (those three are never invoiced, the next one is);
/// - a monthly agreement begun on January 31, 2024: renewals on the last day of shorter months (February 29), the
///   31st otherwise.
@Suite("Native billing on the devnet: a month of hourly renewals on an injected clock", .serialized,
       .enabled(if: ProcessInfo.processInfo.environment["SETTLE_LONG_TESTS"] == "1",
                "long tier: SETTLE_LONG_TESTS=1 (scripts/test.sh runs it after the suite, alone: it keeps the devnet busy for minutes)"))
struct NativeMonthTests {
    @Test("720 hourly renewals each pulled once; disabled mid-way still renews; three periods off are not back-filled; Jan 31 clamps")
    func month() async throws {
        let world = try await BillingWorld.make(webhooks: false)
        defer { world.server.stop() }
        let ledger = world.ledger
        var logger = Logger(label: "native-month")
        logger.logLevel = .critical
        let pricing: @Sendable (String) -> Ledger.Pricing = { chain in world.ingestor.pricing(chain: chain) }
        let billing = ItemBilling(ledger: ledger, pricing: pricing)
        let invoicer = AutoInvoicer(ledger: ledger, pricing: pricing, logger: logger)
        let usd = try Currency(code: "usd")
        let hour: UInt64 = 3_600
        let realNow = UInt64(Date().timeIntervalSince1970)
        let start = realNow - 31 * 86_400 - realNow % hour  // on the hour, a month and a day ago: the whole month is past
        let janThirtyFirst = BillingCalendarTests.at(2024, 1, 31, 12)  // a leap year: February 29
        func item(_ id: String, _ unit: String, cents: UInt64, at: UInt64) async throws -> Item {
            let item = Item(id: id, name: id, kind: .subscription, intervalUnit: unit, intervalCount: 1, price: Money(minorUnits: cents, currency: usd),
                            tokens: ["USDC"], allowancePayments: nil, autoInvoicingSince: at, createdAt: at)
            try await ledger.createItem(item)
            return item
        }
        func agreement(_ customer: String, on item: Item, at: UInt64) async throws -> Agreement {
            let agreement = try await ledger.agreement(customer: customer, subscription: nil, chain: "devnet", token: "USDC",
                                                       wallet: world.payer.address.checksummed)
            _ = try await billing.subscribe(agreement, to: item, now: at)
            return agreement
        }
        let hourly = try await agreement("cus_hourly", on: try await item("item_hourly", "hour", cents: 5, at: start), at: start)
        let toggled = try await agreement("cus_toggled", on: try await item("item_toggled", "hour", cents: 5, at: start), at: start)
        let monthly = try await agreement("cus_monthly", on: try await item("item_monthly", "month", cents: 7, at: janThirtyFirst), at: janThirtyFirst)

        /// Pulls every charge due at `now`: executor passes with blocks mined between, until none is due or in flight.
        func settleAll(now: UInt64) async throws {
            for _ in 0..<200 {
                try await world.loop.runOnce(now: now)
                let open = try await ledger.charges(in: [.ingested, .due, .signed, .broadcast, .included]).filter { $0.dueAt <= now }
                if open.isEmpty { return }
                try await world.devnet.mine(1)
            }
            Issue.record("charges still open at \(now) after 200 passes")
        }

        // The monthly agreement through 2024 (its renewals then off, so the month below leaves it alone).
        _ = try await invoicer.runOnce(now: BillingCalendarTests.at(2024, 12, 1))
        try await settleAll(now: BillingCalendarTests.at(2024, 12, 1))
        _ = try await ledger.setAutoInvoicing("item_monthly", on: false, now: BillingCalendarTests.at(2024, 12, 1))

        var disabledRefused = false
        for index in UInt64(1)...720 {
            let now = start + index * hour
            if index == 240 {  // day 10: disabled; renewals go on, new agreements are refused
                _ = try await ledger.setItem("item_toggled", active: false)
                let late = try await ledger.agreement(customer: "cus_late", subscription: nil, chain: "devnet", token: "USDC",
                                                      wallet: world.payer.address.checksummed)
                do { _ = try await ledger.subscribe(agreement: late.id, item: "item_toggled", anchor: now, now: now) } catch let error as LedgerError {
                    disabledRefused = error.code == .conflict
                }
            }
            // Day 20: renewals off just after period 480 was invoiced, on again three hours later.
            if index == 481 { _ = try await ledger.setAutoInvoicing("item_toggled", on: false, now: now - hour + 600) }
            if index == 484 { _ = try await ledger.setAutoInvoicing("item_toggled", on: true, now: now - hour + 600) }
            _ = try await invoicer.runOnce(now: now)
            if index % 24 == 0 { try await settleAll(now: now) }
        }
        #expect(disabledRefused, "a disabled item took a new agreement")

        let hourlyPeriods = try await ledger.nativeInvoices(agreement: hourly.id).map(\.period)
        #expect(hourlyPeriods == Array(0...720))
        let toggledPeriods = try await ledger.nativeInvoices(agreement: toggled.id).map(\.period)
        #expect(toggledPeriods == Array(0...480) + Array(484...720), "\(toggledPeriods.count) periods")
        let monthlyDue = try await ledger.nativeInvoices(agreement: monthly.id).map { BillingCalendarTests.date($0.dueAt) }
        let expectedMonthly = ["2024-01-31 12:00", "2024-02-29 12:00", "2024-03-31 12:00", "2024-04-30 12:00", "2024-05-31 12:00", "2024-06-30 12:00",
                               "2024-07-31 12:00", "2024-08-31 12:00", "2024-09-30 12:00", "2024-10-31 12:00", "2024-11-30 12:00"]
        #expect(monthlyDue == expectedMonthly, "\(monthlyDue)")

        // Each invoice pulled once: one landed attempt per charge, and on the chain one transfer of the exact amount
        // per invoice (0.05 USDC for the hourly ones, 0.07 for the monthly), nothing more.
        var expected: [UInt256] = []
        for (agreement, amount) in [(hourly, UInt256(50_000)), (toggled, UInt256(50_000)), (monthly, UInt256(70_000))] {
            for invoice in try await ledger.nativeInvoices(agreement: agreement.id) {
                let charge = try #require(try await ledger.charge(invoice: invoice.id))
                #expect(charge.state == .settled, "\(invoice.id): \(charge.state) \(charge.reason ?? "")")
                #expect(try await ledger.attempts(charge: charge.id).filter { $0.outcome == .included }.count == 1, "\(invoice.id)")
                expected.append(amount)
            }
        }
        let transfers = try await world.treasuryTransfers()
        #expect(transfers.count == expected.count && transfers.sorted() == expected.sorted(), "\(transfers.count) transfers for \(expected.count) invoices")
        print("native month: \(hourlyPeriods.count) + \(toggledPeriods.count) + \(monthlyDue.count) invoices, \(transfers.count) transfers")
    }
}
