import API
import Billing
import EVM
import Foundation
import SettleCore
import Settlement
import TestSupport
import Testing

/// The portal's "pay from another wallet or token" over HTTP against the devnet and localstripe: the new wallet's
/// approval read from the chain, nothing changed while a charge is in flight, then Stripe's metadata and the agreement
/// (with its unpaid charge re-pinned) changed together.
@Suite("Portal: a change of paying wallet waits for a charge in flight, then moves Stripe and the agreement")
struct PortalChangeTests {
    @Test("refused without CSRF or for a token the chain lacks; waits while a charge is in flight; applied once it is not")
    func change() async throws {
        let api = try await APIFixture.make()
        defer { api.stop() }
        let world = api.world, ledger = api.world.ledger
        let invoice = try await api.charge(cents: 700)
        let charge = try #require(try await ledger.charge(invoice: invoice))
        let agreement = try #require(try await ledger.agreement(id: charge.agreement))
        let second = try await world.devnet.accounts()[6]
        let hash = try await world.devnet.send(from: second, to: world.token, data: ERC20.approve(spender: world.spender.address, amount: 50_000_000))
        // A charge in flight: due, then a signed attempt (never sent: the test only needs the ledger to say so).
        try await ledger.transition(charge.id, from: charge.state, to: .due)
        let signed = try #require(try await ledger.signEVMAttempt(charge: charge.id, chain: "devnet", signer: "0xspender", chainPending: 0, head: nil) { _ in
            SignedPayload(transactionID: "0x" + String(repeating: "ab", count: 32), raw: [1])
        }.attempt)

        let created = try await api.call(.post, "/v1/portal_sessions", template: "/v1/portal_sessions", token: APIFixture.adminToken,
                                         body: #"{"customer": "\#(agreement.customer)"}"#)
        let session = try #require(created.json["id"]?.stringValue)
        let page = try await api.call(.get, "/portal/\(session)", template: "/portal/{id}", token: nil)
        let marker = "name=\"settle-csrf\" content=\""
        let csrf = String(try #require(page.text.range(of: marker).map { page.text[$0.upperBound...] }).prefix { $0 != "\"" })
        func report(_ token: String, csrf: String?) async throws -> APIFixture.Answer {
            try await api.call(.post, "/portal/\(session)/approval", template: "/portal/{id}/approval", token: nil,
                               body: #"{"agreement": \#(agreement.id), "action": "change", "token": "\#(token)", "transaction": "\#(hash.description)"}"#,
                               extraHeaders: csrf.map { [("X-Settle-CSRF", $0)] } ?? [])
        }
        func stripeWallet() async throws -> String? {
            try await world.stripe.get("/v1/customers/\(agreement.customer)")["metadata"]?["settle_wallet"]?.stringValue
        }
        let before = try await stripeWallet()

        #expect(try await report("USDC", csrf: nil).status == 403)
        #expect(try await report("USDC", csrf: String(repeating: "x", count: csrf.count)).status == 403)
        let unknown = try await report("DAI", csrf: csrf)
        #expect(unknown.status == 400 && unknown.text.contains("DAI"), "\(unknown.text)")

        let waiting = try await report("USDC", csrf: csrf)
        #expect(waiting.status == 200 && waiting.json["action"]?["status"] == "waiting", "\(waiting.text)")
        #expect(try await stripeWallet() == before)
        #expect(try await ledger.agreement(id: agreement.id)?.wallet == agreement.wallet)
        #expect(try await ledger.charge(invoice: invoice)?.terms.wallet == charge.terms.wallet)

        // The attempt proven dead, the charge due again: nothing in flight.
        try await ledger.setOutcome(signed.id, .dead)
        try await ledger.transition(charge.id, from: .signed, to: .due, reason: "test: the attempt is dead")
        let done = try await report("USDC", csrf: csrf)
        #expect(done.status == 200 && done.json["action"]?["status"] == "done", "\(done.text)")
        let moved = second.address.checksummed
        #expect(try await stripeWallet()?.lowercased() == moved.lowercased())
        #expect(try await ledger.agreement(id: agreement.id)?.wallet.lowercased() == moved.lowercased())
        #expect(try await ledger.charge(invoice: invoice)?.terms.wallet.lowercased() == moved.lowercased())
        // The same report again: nothing more to do.
        let again = try await report("USDC", csrf: csrf)
        #expect(again.json["action"]?["status"] == "done", "\(again.text)")

        // A raise reported with the new wallet's transaction names the agreement's wallet now: taken.
        let raise = try await api.call(.post, "/portal/\(session)/approval", template: "/portal/{id}/approval", token: nil,
                                       body: #"{"agreement": \#(agreement.id), "action": "raise", "transaction": "\#(hash.description)"}"#,
                                       extraHeaders: [("X-Settle-CSRF", csrf)])
        #expect(raise.json["action"]?["status"] == "done", "\(raise.text)")
    }
}
