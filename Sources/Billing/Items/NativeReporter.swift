import Logging
import Settlement

/// The last step of a charge for one of Settle's own invoices: once its transfer is final (`settled`), the invoice is
/// paid and the charge moves to `reported`. Stripe knows nothing of these invoices (`StripeReporter` leaves them);
/// the merchant hears of the payment through the webhooks every settled charge sends.
public struct NativeReporter: Sendable {
    public let ledger: Ledger
    public let logger: Logger

    public init(ledger: Ledger, logger: Logger) {
        self.ledger = ledger
        self.logger = logger
    }

    /// One pass; the number of invoices it marked paid.
    @discardableResult
    public func runOnce(now: UInt64) async throws -> Int {
        var marked = 0
        for charge in try await ledger.charges(in: [.settled]) where NativeInvoice.isNative(charge.invoice) {
            // Compare-and-set: another daemon's pass may have moved it first.
            if try await ledger.transition(charge.id, from: .settled, to: .reported, reason: "paid: Settle's own invoice", now: now) {
                marked += 1
                logger.info("native invoice paid", metadata: ["invoice.id": "\(charge.invoice)"])
            }
        }
        return marked
    }
}
