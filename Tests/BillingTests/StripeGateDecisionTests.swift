import Billing
import PropertyBased
import SettleCore
@testable import Settlement
import Testing

/// `StripeGate.mayCollect(_:after:invoice:now:)`: whether a charge picked to be collected may be signed, from the
/// charge as picked, as the ledger has it after reconciling, and the invoice as Stripe shows it now. No I/O.
@Suite("The Stripe gate's decision before signing (pure)")
struct StripeGateDecisionTests {
    static let now: UInt64 = 1_800_000_000

    static func charge(state: ChargeState = .due, dueAt: UInt64 = now - 60, cents: UInt64 = 2_000, currency: String = "USD",
                       wallet: String = "0xaaa") -> Charge {
        Charge(id: 1, invoice: "in_1", agreement: 1, amount: Money(minorUnits: cents, currency: try! Currency(code: currency)),
               tokenAmount: TokenAmount(baseUnits: UInt256(cents) * UInt256(10_000), decimals: 6), rate: try! ExchangeRate(decimal: "1"),
               rateAt: now - 600, dueAt: dueAt, state: state, reason: nil, nextAttemptAt: nil,
               terms: ChargeTerms(chain: "devnet", token: "USDC", wallet: wallet))
    }

    static func invoice(status: String = "open", method: String = "send_invoice", remaining: UInt64 = 2_000, currency: String = "usd",
                        due: UInt64 = now - 60) -> StripeInvoice {
        try! StripeInvoice(json: [
            "id": "in_1", "object": "invoice", "customer": "cus_1", "status": .string(status), "collection_method": .string(method),
            "amount_due": .number(String(remaining)), "amount_remaining": .number(String(remaining)), "currency": .string(currency),
            "due_date": .number(String(due)), "created": .number(String(now - 86_400)),
        ])
    }

    @Test("signed only when still due now on the same terms, and Stripe asks exactly that amount on an open send_invoice invoice",
          arguments: [
              ("unchanged", charge(), invoice(), true),
              ("due date moved earlier, still past", charge(dueAt: now - 3_600), invoice(due: now - 3_600), true),
              ("due exactly now", charge(dueAt: now), invoice(due: now), true),
              // The defect a CI run found: the webhook not processed yet, the gate re-read Stripe and moved the
              // charge's due date, and the old due date still pulled.
              ("due date moved later (charge reconciled)", charge(dueAt: now + 2 * 86_400), invoice(due: now + 2 * 86_400), false),
              ("Stripe shows a later due date (charge not moved)", charge(), invoice(due: now + 60), false),
              ("cancelled by the reconcile", charge(state: .cancelled), invoice(status: "paid"), false),
              ("paid elsewhere", charge(), invoice(status: "paid"), false),
              ("void", charge(), invoice(status: "void"), false),
              ("back on a card", charge(), invoice(method: "charge_automatically"), false),
              ("a new amount", charge(cents: 2_500), invoice(remaining: 2_500), false),
              ("Stripe asks another amount", charge(), invoice(remaining: 1_999), false),
              ("another currency", charge(), invoice(currency: "eur"), false),
              ("a new wallet", charge(wallet: "0xbbb"), invoice(), false),
          ] as [(String, Charge, StripeInvoice, Bool)])
    func table(_ name: String, _ after: Charge, _ invoice: StripeInvoice, _ expected: Bool) {
        #expect(StripeGate.mayCollect(Self.charge(), after: after, invoice: invoice, now: Self.now) == expected, "\(name)")
    }

    @Test("never signs before a due date (the ledger's or Stripe's), on changed terms, or for an amount Stripe does not ask")
    func properties() async {
        let states: [ChargeState] = [.ingested, .due, .awaitingFunds, .cancelled, .signed]
        let statuses = ["open", "paid", "void", "uncollectible"]
        await propertyCheck(count: 2_000, input: Gen.int(in: -2...2), Gen.int(in: -2...2), Gen.int(in: 0...4), Gen.int(in: 0...3),
                            Gen.int(in: 0...2), Gen.bool) { chargeDue, stripeDue, state, status, amount, card in
            let cents: [UInt64] = [2_000, 2_001, 1_999]
            let after = Self.charge(state: states[state], dueAt: UInt64(Int64(Self.now) + Int64(chargeDue) * 60), cents: cents[amount])
            let invoice = Self.invoice(status: statuses[status], method: card ? "charge_automatically" : "send_invoice", remaining: cents[amount],
                                       due: UInt64(Int64(Self.now) + Int64(stripeDue) * 60))
            let verdict = StripeGate.mayCollect(Self.charge(), after: after, invoice: invoice, now: Self.now)
            if verdict {
                #expect(after.dueAt <= Self.now && invoice.dueAt <= Self.now)
                #expect(after.state == .due && invoice.status == .open && !card)
                #expect(after.amount == Self.charge().amount && invoice.amountRemaining == Self.charge().amount.minorUnits)
            } else {
                #expect(chargeDue > 0 || stripeDue > 0 || states[state] != .due || statuses[status] != "open" || card || amount != 0)
            }
        }
    }
}
