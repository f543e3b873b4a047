import Billing
import Foundation
import SettleCore
import Settlement
import Store
import TestSupport
import Testing

/// `settled items` and `settled invoices`, the binary, on a configuration without Stripe: what the operator types is
/// checked like the API's bodies, stored, and shown; a missed period is issued on request once.
@Suite("settled items, settled invoices (the binary, no Stripe)", .serialized)
struct ItemsCommandTests {
    @Test("create, list, disable, renewals off; invoices listed and a begun period issued once; refusals named")
    func commands() async throws {
        _ = try SettledBinary.require()
        let w = try await BillingWorld.make(webhooks: false)
        let directory = try temporaryDirectory("settle-items-cli")
        let chains = directory.appendingPathComponent("chains")
        try FileManager.default.createDirectory(at: chains, withIntermediateDirectories: true)
        let keyVariable = "SETTLE_TEST_SPENDER_\(UInt32.random(in: 0...UInt32.max))"
        TestEnvironment.set(keyVariable, try await w.devnet.privateKeyHex(7))
        defer { TestEnvironment.unset(keyVariable) }
        try w.devnet.chainConfig(tokens: [("USDC", w.token, 6)], spenders: [w.spender.address], confirmations: 2, signerKey: "env:\(keyVariable)",
                                 treasury: w.treasury)
            .write(to: chains.appendingPathComponent("devnet.toml"), atomically: true, encoding: .utf8)
        let database = directory.appendingPathComponent("settle.sqlite").path
        let config = directory.appendingPathComponent("settle.toml")
        try """
            database = "\(database)"
            chains_directory = "\(chains.path)"
            chains = ["devnet"]
            """.write(to: config, atomically: true, encoding: .utf8)
        func run(_ arguments: [String]) async throws -> (status: Int32, output: String) {
            try await SettledBinary.run(arguments + ["--config", config.path, "--log-level", "error"])
        }

        let created = try await run(["items", "create", "--id", "item_pro", "--name", "Pro", "--kind", "subscription", "--interval", "hour",
                               "--amount", "250", "--currency", "usd", "--tokens", "usdc"])
        #expect(created.status == 0 && created.output.contains("item_pro\tPro\tevery hour\t2.50 USD\tUSDC\tactive\trenewals on"), "\(created.output)")
        let again = try await run(["items", "create", "--id", "item_pro", "--name", "Pro", "--kind", "subscription", "--interval", "hour",
                             "--amount", "250", "--currency", "usd"])
        #expect(again.status != 0 && again.output.contains("item_pro exists"), "\(again.output)")
        let badToken = try await run(["items", "create", "--name", "X", "--kind", "one_time", "--amount", "100", "--currency", "usd", "--tokens", "DAI"])
        #expect(badToken.status != 0 && badToken.output.contains("'tokens'"), "\(badToken.output)")
        let once = try await run(["items", "create", "--name", "Pass", "--kind", "one_time", "--amount", "900", "--currency", "eur"])
        #expect(once.status == 0 && once.output.contains("once\t9.00 EUR\tall tokens"), "\(once.output)")
        let listed = try await run(["items", "list"])
        #expect(listed.status == 0 && listed.output.contains("item_pro") && listed.output.contains("Pass"), "\(listed.output)")
        let off = try await run(["items", "set", "item_pro", "--active", "false", "--auto-invoicing", "false"])
        #expect(off.status == 0 && off.output.contains("disabled\trenewals off"), "\(off.output)")
        #expect(try await run(["items", "set", "item_none", "--active", "true"]).status != 0)

        // An agreement on the item since three hours and a minute ago (renewals were off: nothing was invoiced).
        let ledger = Ledger(database: try Database(path: database))
        let now = UInt64(Date().timeIntervalSince1970)
        let agreement = try await ledger.agreement(customer: "cus_cli", subscription: nil, chain: "devnet", token: "USDC", wallet: w.payer.address.checksummed)
        try await ledger.setItem("item_pro", active: true)
        _ = try await ledger.subscribe(agreement: agreement.id, item: "item_pro", anchor: now - 3 * 3_600 - 60, now: now)
        #expect(try await run(["invoices", "list"]).output.contains("no invoices"))
        let issued = try await run(["invoices", "issue", "--agreement", "\(agreement.id)", "--period", "2"])
        #expect(issued.status == 0 && issued.output.hasPrefix("issued\tsinv_\(agreement.id)_2\t") && issued.output.contains("2.50 USD"), "\(issued.output)")
        let repeated = try await run(["invoices", "issue", "--agreement", "\(agreement.id)", "--period", "2"])
        #expect(repeated.status == 0 && repeated.output.hasPrefix("already issued\tsinv_\(agreement.id)_2"), "\(repeated.output)")
        let future = try await run(["invoices", "issue", "--agreement", "\(agreement.id)", "--period", "4"])
        #expect(future.status != 0 && future.output.contains("period 4 starts at"), "\(future.output)")
        let invoices = try await run(["invoices", "list", "--agreement", "\(agreement.id)"])
        #expect(invoices.status == 0 && invoices.output.contains("sinv_\(agreement.id)_2") && invoices.output.contains("\tdue"), "\(invoices.output)")
        #expect(try await ledger.nativeInvoices(agreement: agreement.id).map(\.period) == [2])
    }
}
