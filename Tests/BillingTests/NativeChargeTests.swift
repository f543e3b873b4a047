@testable import Billing
import EVM
import Foundation
import Logging
import SettleCore
import Settlement
import TestSupport
import Testing

/// Settle's own invoices charged on the devnet: the auto-invoicer issues a renewal, the executor pulls it like any
/// charge, and the native reporter marks it paid, with Stripe never asked about it. Ground truth from the chain.
@Suite("Native invoices on the devnet: renewals issued, pulled and paid without Stripe")
struct NativeChargeTests {
    @Test("three hourly renewals: three transfers of the exact amount to the treasury, each invoice paid once, Stripe untouched")
    func renewals() async throws {
        let world = try await BillingWorld.make()
        defer { world.server.stop() }
        let now = UInt64(Date().timeIntervalSince1970)
        let anchor = now - 3 * 3_600 - 60  // subscribed a little over three hours ago: periods 1, 2 and 3 are due
        try await world.ledger.createItem(Item(id: "item_hourly", name: "Hourly", kind: .subscription, intervalUnit: "hour", intervalCount: 1,
                                               price: Money(minorUnits: 150, currency: try Currency(code: "usd")), tokens: nil, allowancePayments: nil,
                                               autoInvoicingSince: anchor, createdAt: anchor))
        let agreement = try await world.ledger.agreement(customer: "cus_native", subscription: nil, chain: "devnet", token: "usdc",
                                                         wallet: world.payer.address.lowercaseHex0x)
        _ = try await world.ledger.subscribe(agreement: agreement.id, item: "item_hourly", anchor: anchor, now: anchor)
        var logger = Logger(label: "native")
        logger.logLevel = .critical
        let invoicer = AutoInvoicer(ledger: world.ledger, pricing: { chain in world.ingestor.pricing(chain: chain) }, logger: logger)
        let report = try await invoicer.runOnce(now: now)
        #expect(report.issued == 3 && report.problems.isEmpty, "\(report)")
        #expect(try await invoicer.runOnce(now: now).issued == 0)
        let stripeCallsBefore = try await world.executedPosts(endingWith: "")
        let reporter = NativeReporter(ledger: world.ledger, logger: logger)
        for invoice in try await world.ledger.nativeInvoices(agreement: agreement.id) {
            let state = try await world.settle(invoice.id, now: now)
            let charge = try await world.ledger.charge(invoice: invoice.id)
            #expect(state == .settled, "\(invoice.id): \(state) \(charge?.reason ?? "")")
            #expect(try await reporter.runOnce(now: now) == 1)
            #expect(try await world.ledger.charge(invoice: invoice.id)?.state == .reported)
            _ = try await world.reporter.runOnce(now: now)  // Stripe's reporter leaves Settle's own invoices alone
        }
        #expect(try await reporter.runOnce(now: now) == 0)
        // The chain: three transfers of exactly 1.50 USDC (6 decimals) to the treasury.
        #expect(try await world.treasuryTransfers() == [1_500_000, 1_500_000, 1_500_000])
        #expect(try await world.executedPosts(endingWith: "") == stripeCallsBefore, "Stripe was asked about a native invoice")
    }
}
