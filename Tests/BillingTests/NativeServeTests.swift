import Billing
import EVM
import Foundation
import SettleCore
import Settlement
import Store
import TestSupport
import Testing
import Transport

#if canImport(Glibc)
import Glibc
#endif

/// `settled serve` with no `[stripe]` table: Settle's own billing alone. Three agreements on an hourly item owe a
/// hundred renewals each when the daemon starts; it is killed with SIGKILL at random points while it issues and pulls
/// them (the first kills within a second of the start, inside the scheduler's pass), then restarted, until everything
/// is paid. Ground truth from the chain: one transfer of the exact amount per invoice,
/// and exactly one invoice per agreement and period.
@Suite("settled serve without Stripe: renewals issued and pulled exactly once across SIGKILLs", .serialized,
       .enabled(if: ProcessInfo.processInfo.environment["SETTLE_LONG_TESTS"] == "1",
                "long tier: SETTLE_LONG_TESTS=1 (scripts/test.sh runs it after the suite, alone: it keeps the devnet busy for minutes)"))
struct NativeServeTests {
    @Test("no [stripe]: 301 native invoices across 8 SIGKILLs, each period invoiced once, each pulled once, no Stripe route")
    func killedWhileRenewing() async throws {
        _ = try SettledBinary.require()
        let w = try await BillingWorld.make(webhooks: false)
        let directory = try temporaryDirectory("settle-native-serve")
        let chains = directory.appendingPathComponent("chains")
        try FileManager.default.createDirectory(at: chains, withIntermediateDirectories: true)
        let suffix = UInt32.random(in: 0...UInt32.max)
        let keyVariable = "SETTLE_TEST_SPENDER_\(suffix)", admin = "token-native-\(suffix)"
        TestEnvironment.set(keyVariable, try await w.devnet.privateKeyHex(7))
        TestEnvironment.set("SETTLE_API_TOKEN_ADMIN", admin)
        defer { for name in [keyVariable, "SETTLE_API_TOKEN_ADMIN"] { TestEnvironment.unset(name) } }
        try w.devnet.chainConfig(tokens: [("USDC", w.token, 6)], spenders: [w.spender.address], confirmations: 2, signerKey: "env:\(keyVariable)",
                                 treasury: w.treasury)
            .write(to: chains.appendingPathComponent("devnet.toml"), atomically: true, encoding: .utf8)
        let port = try freePort()
        let config = directory.appendingPathComponent("settle.toml")
        let database = directory.appendingPathComponent("settle.sqlite").path
        try """
            database = "\(database)"
            chains_directory = "\(chains.path)"
            chains = ["devnet"]
            [server]
            listen = "127.0.0.1:\(port)"
            [log]
            format = "json"
            """.write(to: config, atomically: true, encoding: .utf8)

        // The merchant's billing before the daemon starts: an hourly item of 0.50 USD and three agreements on it
        // that began a hundred hours and a minute ago (a hundred renewals owed each).
        let ledger = Ledger(database: try Database(path: database))
        try await ledger.migrate()
        let now = UInt64(Date().timeIntervalSince1970)
        let anchor = now - 100 * 3_600 - 60
        try await ledger.createItem(Item(id: "item_hourly", name: "Hourly", kind: .subscription, intervalUnit: "hour", intervalCount: 1,
                                         price: Money(minorUnits: 10, currency: try Currency(code: "usd")), tokens: ["USDC"], allowancePayments: nil,
                                         autoInvoicingSince: anchor, createdAt: anchor))
        var agreements: [Int64] = []
        for customer in ["cus_a", "cus_b", "cus_c"] {
            let agreement = try await ledger.agreement(customer: customer, subscription: nil, chain: "devnet", token: "USDC",
                                                       wallet: w.payer.address.checksummed)
            _ = try await ledger.subscribe(agreement: agreement.id, item: "item_hourly", anchor: anchor, now: anchor)
            agreements.append(agreement.id)
        }

        let mining = Task {
            while !Task.isCancelled {
                try? await w.devnet.mine(1)
                try? await Task.sleep(for: .milliseconds(150))
            }
        }
        defer { mining.cancel() }
        let log = directory.appendingPathComponent("serve.log")
        FileManager.default.createFile(atPath: log.path, contents: nil)
        func call(_ method: Transport.HTTPRequest.Method, _ path: String, body: String? = nil) async throws -> (status: Int, json: JSON?) {
            let response = try await w.devnet.http.execute(Transport.HTTPRequest(
                url: "http://127.0.0.1:\(port)\(path)", method: method,
                headers: [("Authorization", "Bearer \(admin)"), ("Content-Type", "application/json")], body: Array((body ?? "").utf8)))
            return (response.status, try? JSON(parsing: response.body))
        }

        var rng = SeededGenerator(seed: UInt64(suffix))
        var kills = 0
        var atKill: [String] = []
        var fourth: Int64?
        for run in 0..<9 {
            let serve = try ServeProcess(arguments: ["serve", "--config", config.path, "--interval", "0.2"], log: log)
            defer { serve.kill() }
            func issuedCount() async throws -> Int {
                var issued = 0
                for agreement in agreements { issued += try await ledger.nativeInvoices(agreement: agreement).count }
                return issued
            }
            if run < 8 {
                if run < 4, case let before = try await issuedCount(), before < 299 {
                    // Inside the scheduler's pass: killed once it has issued a random number more (it issues 300 in
                    // about a third of a second, so a clock would miss it).
                    let target = before + 1 + Int(rng.next() % UInt64(299 - before))
                    try? await waitUntil(seconds: 20, every: .milliseconds(2)) { try await issuedCount() >= target }
                } else {
                    try await Task.sleep(for: .milliseconds(Int64(300 + rng.next() % 2_500)))
                }
                Glibc.kill(serve.process.processIdentifier, SIGKILL)
                serve.process.waitUntilExit()
                kills += 1
                let issued = try await issuedCount()
                let paid = try await ledger.charges(in: [.settled, .reported]).count
                atKill.append("\(issued) issued, \(paid) paid")
            } else {
                try await waitUntil(seconds: 60) { (try? await call(.get, "/healthz"))?.status == 200 }
                // No Stripe: its webhook route is not served; an agreement made through the API pays its first period now.
                #expect(try await call(.post, "/webhooks/stripe", body: "{}").status == 404)
                let made = try await call(.post, "/v1/agreements", body: """
                    {"customer": "cus_d", "chain": "devnet", "token": "USDC", "wallet": "\(w.payer.address.checksummed)", "item": "item_hourly"}
                    """)
                #expect(made.status == 201, "\(String(describing: made.json))")
                fourth = made.json?["id"]?.int64Value
                try await waitUntil(seconds: 400) {
                    ((try? await ledger.charges(in: [.reported]))?.count ?? 0) == 301
                }
                let stopped = try await serve.terminate(within: 40)
                #expect(stopped.status == 0)
            }
        }
        #expect(kills == 8)
        print("native serve: at each SIGKILL: \(atKill.joined(separator: "; "))")
        let all = agreements + [try #require(fourth)]

        // One invoice per agreement and period: periods 1…100 for the three, period 0 for the one made through the API.
        for agreement in agreements { #expect(try await ledger.nativeInvoices(agreement: agreement).map(\.period) == Array(1...100)) }
        #expect(try await ledger.nativeInvoices(agreement: all[3]).map(\.period) == [0])
        // Each pulled once: on the chain, 301 transfers of exactly 0.10 USDC to the treasury; in the ledger, one landed
        // attempt per charge, every charge reported.
        #expect(try await w.treasuryTransfers() == Array(repeating: UInt256(100_000), count: 301))
        for agreement in all {
            for invoice in try await ledger.nativeInvoices(agreement: agreement) {
                let charge = try #require(try await ledger.charge(invoice: invoice.id))
                #expect(charge.state == .reported, "\(invoice.id): \(charge.state)")
                #expect(try await ledger.attempts(charge: charge.id).filter { $0.outcome == .included }.count == 1, "\(invoice.id)")
            }
        }
        let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        #expect(text.contains("native billing only"), "the daemon did not say it runs without Stripe")
    }
}
