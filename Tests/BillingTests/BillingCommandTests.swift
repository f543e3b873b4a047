import Billing
import EVM
import Foundation
import SettleCore
import Settlement
import Store
import TestSupport
import Testing
import Transport

/// The billing commands of the `settled` binary, run as an operator would against localstripe and the devnet.
@Suite("settled retry, collect-now, audit stripe, webhooks (the binary)", .serialized)
struct BillingCommandTests {
    @Test("retry re-checks at once after a top-up; collect-now charges a draft; audit lists what lacks an agreement")
    func commands() async throws {
        _ = try SettledBinary.require()
        let w = try await BillingWorld.make(allowance: 1_000_000, webhooks: false)
        let directory = try temporaryDirectory("settle-billing-cli")
        let chains = directory.appendingPathComponent("chains")
        try FileManager.default.createDirectory(at: chains, withIntermediateDirectories: true)
        let suffix = UInt32.random(in: 0...UInt32.max)
        let keyVariable = "SETTLE_TEST_SPENDER_\(suffix)", stripeVariable = "SETTLE_TEST_STRIPE_\(suffix)"
        TestEnvironment.set(keyVariable, try await w.devnet.privateKeyHex(7))
        TestEnvironment.set(stripeVariable, "sk_test_cli")
        defer { TestEnvironment.unset(keyVariable); TestEnvironment.unset(stripeVariable) }
        try w.devnet.chainConfig(tokens: [("USDC", w.token, 6)], spenders: [w.spender.address], confirmations: 2,
                                 signerKey: "env:\(keyVariable)", treasury: w.treasury)
            .write(to: chains.appendingPathComponent("devnet.toml"), atomically: true, encoding: .utf8)
        let config = directory.appendingPathComponent("settle.toml")
        try """
            database = "\(directory.appendingPathComponent("settle.sqlite").path)"
            chains_directory = "\(chains.path)"
            chains = ["devnet"]
            [stripe]
            api_key = "env:\(stripeVariable)"
            base_url = "\(w.stripePeer.url(""))"
            """.write(to: config, atomically: true, encoding: .utf8)
        let now = UInt64(Date().timeIntervalSince1970)
        let customer = try await w.customer()
        let invoice = try await w.openInvoice(customer: customer, cents: 2_500, dueDate: now - 60)

        let short = try await SettledBinary.run(["retry", "--invoice", invoice, "--config", config.path, "--log-level", "error"])
        #expect(short.status == 0 && short.output.contains("\(invoice): awaiting_funds (low_allowance)"), "\(short.output)")
        try await w.devnet.approve(token: w.token, owner: w.payer, spender: w.spender.address, amount: 100_000_000)
        let retried = try await SettledBinary.run(["retry", "--invoice", invoice, "--config", config.path, "--log-level", "error"])
        #expect(retried.status == 0 && (retried.output.contains("\(invoice): broadcast") || retried.output.contains("\(invoice): included")), "\(retried.output)")

        let draft = try await w.draftInvoice(customer: customer, cents: 1_000, dueDate: nil)
        let collected = try await SettledBinary.run(["collect-now", "--invoice", draft, "--config", config.path, "--log-level", "error"])
        #expect(collected.status == 0 && (collected.output.contains("\(draft): broadcast") || collected.output.contains("\(draft): included")), "\(collected.output)")
        #expect(try await w.invoice(draft)["status"] == "open")
        #expect(try await w.treasuryTransfers().sorted() == [10_000_000, 25_000_000])

        let paid = try await SettledBinary.run(["collect-now", "--invoice", "in_missing", "--config", config.path, "--log-level", "error"])
        #expect(paid.status != 0 && paid.output.contains("in_missing"), "\(paid.output)")

        let orphan = try await w.openInvoice(customer: try await w.customer(agreement: false), cents: 900, dueDate: now + 60)
        let audit = try await SettledBinary.run(["audit", "stripe", "--config", config.path, "--log-level", "error"])
        #expect(audit.status == 1 && audit.output.contains("no_agreement") && audit.output.contains(orphan), "\(audit.output)")

        let badConfig = directory.appendingPathComponent("bad.toml")
        try "[stripe]\napi_key = \"sk_live_inline\"\n".write(to: badConfig, atomically: true, encoding: .utf8)
        let refused = try await SettledBinary.run(["retry", "--invoice", invoice, "--config", badConfig.path])
        #expect(refused.status != 0 && refused.output.contains("stripe.api_key") && !refused.output.contains("sk_live_inline"), "\(refused.output)")
    }
}
