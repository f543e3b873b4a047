import API
import EVM
import EVMIndexer
import Foundation
import SettleCore
import Settlement
import Signing
import TestSupport
import Testing
import Transport

/// The HTTP API through a real client on 127.0.0.1: authentication and scopes, bad input answered 4xx with a message
/// that says what to change, pagination that neither skips nor repeats, and answers equal to what the chain, the
/// index and the ledger hold.
@Suite("HTTP API")
struct APITests {
    @Test("bearer tokens: missing, malformed or unknown is 401, a read token on an admin route is 403")
    func authentication() async throws {
        let api = try await APIFixture.make()
        defer { api.stop() }
        let missing = try await api.call(.get, "/v1/charges", template: "/v1/charges", token: nil)
        #expect(missing.status == 401)
        #expect(missing.errorCode == "unauthorized")
        #expect(missing.header("WWW-Authenticate")?.hasPrefix("Bearer") == true)
        #expect(try await api.call(.get, "/v1/charges", template: "/v1/charges", authorization: "Basic dXNlcjpwYXNz").status == 401)
        #expect(try await api.call(.get, "/v1/charges", template: "/v1/charges", token: "not-a-token").errorMessage == "unknown bearer token")
        #expect(try await api.call(.get, "/metrics", template: "/metrics", token: nil).status == 401)
        let invoice = try await api.charge(cents: 500)
        let forbidden = try await api.call(.post, "/v1/charges/\(invoice)/retry", template: "/v1/charges/{invoice}/retry")
        #expect(forbidden.status == 403)
        #expect(forbidden.errorMessage.contains("needs admin"))
        #expect(try await api.call(.post, "/v1/agreements", template: "/v1/agreements", body: "{}").status == 403)
        #expect(try await api.call(.get, "/v1/charges", template: "/v1/charges").status == 200)
        #expect(try await api.call(.get, "/v1/charges", template: "/v1/charges", token: APIFixture.adminToken).status == 200)
        #expect(try await api.call(.get, "/healthz", template: "/healthz", token: nil).status != 401)  // public
    }

    @Test("bad input is a 4xx naming the parameter and what it must be; nothing is written")
    func badInput() async throws {
        let api = try await APIFixture.make()
        defer { api.stop() }
        let wallet = api.world.payer.address.checksummed
        let cases: [(path: String, template: String, status: Int, mentions: String)] = [
            ("/v1/chains/nochain/wallets/\(wallet)/balances", "/v1/chains/{chain}/wallets/{wallet}/balances", 404, "no chain 'nochain'"),
            ("/v1/chains/devnet/wallets/0x1234/balances", "/v1/chains/{chain}/wallets/{wallet}/balances", 400, "not an EVM address"),
            ("/v1/chains/devnet/wallets/\(wallet)/readiness?token=USDC&amount=12abc", "/v1/chains/{chain}/wallets/{wallet}/readiness", 400, "'amount'"),
            ("/v1/chains/devnet/wallets/\(wallet)/readiness?amount=5", "/v1/chains/{chain}/wallets/{wallet}/readiness", 400, "'token' is required"),
            ("/v1/chains/devnet/wallets/\(wallet)/readiness?token=DOGE&amount=5", "/v1/chains/{chain}/wallets/{wallet}/readiness", 400, "not a token of devnet"),
            ("/v1/chains/devnet/wallets/\(wallet)/approval?token=USDC&amount=" + String(repeating: "9", count: 80),
             "/v1/chains/{chain}/wallets/{wallet}/approval", 400, "below 2^256"),
            ("/v1/chains/devnet/wallets/\(wallet)/allowances?limit=0", "/v1/chains/{chain}/wallets/{wallet}/allowances", 400, "'limit'"),
            ("/v1/chains/devnet/wallets/\(wallet)/allowances?cursor=zz", "/v1/chains/{chain}/wallets/{wallet}/allowances", 400, "'cursor'"),
            ("/v1/charges?state=paid", "/v1/charges", 400, "'state'"),
            ("/v1/charges?limit=501", "/v1/charges", 400, "from 1 to 500"),
            ("/v1/charges/in_missing", "/v1/charges/{invoice}", 404, "no charge for invoice 'in_missing'"),
            ("/v1/suggested-allowance?chain=devnet&token=USDC&amount=100&interval=fortnight", "/v1/suggested-allowance", 400, "'interval'"),
            ("/v1/suggested-allowance?chain=devnet&token=USDC&amount=" + String(UInt256.max.description) + "&interval=month",
             "/v1/suggested-allowance", 400, "exceeds 2^256 - 1"),
        ]
        for item in cases {
            let answer = try await api.call(.get, item.path, template: item.template)
            #expect(answer.status == item.status, "\(item.path): \(answer.text)")
            #expect(answer.errorMessage.contains(item.mentions), "\(item.path): \(answer.errorMessage)")
        }
        let posts: [(body: String, mentions: String)] = [
            ("not json", "not JSON"), ("[1]", "JSON object"), (#"{"customer": "cus_1"}"#, "'chain' is required"),
            (#"{"customer": "cus_1", "chain": "devnet", "token": "USDC", "wallet": "0xabc"}"#, "not an EVM address"),
            (#"{"customer": "cus_1", "chain": "devnet", "token": "USDC", "wallet": "\#(wallet)", "plan": "pro"}"#, "unknown field 'plan'"),
            (#"{"customer": 7, "chain": "devnet", "token": "USDC", "wallet": "\#(wallet)"}"#, "'customer' must be a non-empty string"),
        ]
        for item in posts {
            let answer = try await api.call(.post, "/v1/agreements", template: "/v1/agreements", token: APIFixture.adminToken, body: item.body)
            #expect(answer.status == 400, "\(item.body): \(answer.text)")
            #expect(answer.errorMessage.contains(item.mentions), "\(item.body): \(answer.errorMessage)")
        }
        #expect(try await api.world.ledger.agreements().isEmpty)  // nothing written by refused requests
    }

    @Test("allowance history pages through every Approval once, in order; current allowance and balance equal the chain's")
    func allowancesAndBalances() async throws {
        let api = try await APIFixture.make()
        defer { api.stop() }
        let world = api.world
        for amount: UInt256 in [5_000_000, 7_000_000, 0, 12_000_000, 30_000_000] {
            try await world.devnet.approve(token: world.token, owner: world.payer, spender: world.spender.address, amount: amount)
        }
        try await world.devnet.mine(3)
        try await api.index()
        let wallet = world.payer.address.checksummed
        var seen: [JSON] = []
        var cursor: String?
        var pages = 0
        repeat {
            let query = "limit=2" + (cursor.map { "&cursor=\($0)" } ?? "")
            let page = try await api.call(.get, "/v1/chains/devnet/wallets/\(wallet.lowercased())/allowances?\(query)",
                                          template: "/v1/chains/{chain}/wallets/{wallet}/allowances")
            #expect(page.status == 200, "\(page.text)")
            #expect(page.json["wallet"]?.stringValue == wallet)
            seen += page.json["data"]?.arrayValue ?? []
            cursor = page.json["next_cursor"]?.stringValue
            pages += 1
        } while cursor != nil && pages < 10
        #expect(seen.map { $0["amount"]?.stringValue ?? "" } == ["100000000", "5000000", "7000000", "0", "12000000", "30000000"])
        #expect(pages == 3)
        let blocks = seen.compactMap { $0["block"]?.uint64Value }
        #expect(blocks == blocks.sorted())
        let onChain = try await EVMNode(rpc: world.devnet.rpc).allowance(token: world.token, owner: world.payer.address, spender: world.spender.address, block: .latest)
        let all = try await api.call(.get, "/v1/chains/devnet/wallets/\(wallet)/allowances?token=usdc", template: "/v1/chains/{chain}/wallets/{wallet}/allowances")
        #expect(all.json["current"]?.arrayValue?.first?["amount"]?.stringValue == onChain.description)
        #expect(all.json["current"]?.arrayValue?.first?["display"]?.stringValue == "30.000000")
        let balances = try await api.call(.get, "/v1/chains/devnet/wallets/\(wallet)/balances", template: "/v1/chains/{chain}/wallets/{wallet}/balances")
        let balance = try await EVMNode(rpc: world.devnet.rpc).balanceOf(token: world.token, owner: world.payer.address, block: .latest)
        #expect(balances.json["data"]?.arrayValue?.first?["amount"]?.stringValue == balance.description)
        #expect(balances.json["data"]?.arrayValue?.first?["source"]?.stringValue == "index")
        // A wallet the index does not follow is read from the chain.
        let stranger = try await world.devnet.accounts()[3].address
        let live = try await api.call(.get, "/v1/chains/devnet/wallets/\(stranger.checksummed)/balances", template: "/v1/chains/{chain}/wallets/{wallet}/balances")
        #expect(live.json["data"]?.arrayValue?.first?["source"]?.stringValue == "chain")
        #expect(live.json["data"]?.arrayValue?.first?["amount"]?.stringValue == "0")
    }

    @Test("healthz (no token) never shows the database's path or SQL, however the database fails")
    func healthzHidesDatabaseErrors() async throws {
        let api = try await APIFixture.make()
        defer { api.stop() }
        try await api.world.ledger.sqlite.writeRaw { db in try db.execute("DROP TABLE charge_events; DROP TABLE charges") }
        let health = try await api.call(.get, "/healthz", template: "/healthz", token: nil)
        #expect(health.status == 503)
        #expect(health.json["database"]?.stringValue == "unavailable", "\(health.text)")
        for leak in ["no such table", "from charges", try api.world.ledger.sqlite.path, "SELECT", "sqlite"] {
            #expect(!health.text.lowercased().contains(leak.lowercased()), "healthz leaks '\(leak)': \(health.text)")
        }
    }

    @Test("a cursor naming a block past Int64 is a 400 with a clear message, never a trap; the server stays up")
    func hostileCursor() async throws {
        let api = try await APIFixture.make()
        defer { api.stop() }
        try await api.index()
        let wallet = api.world.payer.address.checksummed
        for raw in ["18446744073709551615:0", "0:18446744073709551615", "9223372036854775808:1", "-1:0"] {
            let cursor = Hex.encode(Array(raw.utf8))
            let answer = try await api.call(.get, "/v1/chains/devnet/wallets/\(wallet)/allowances?cursor=\(cursor)",
                                            template: "/v1/chains/{chain}/wallets/{wallet}/allowances")
            #expect(answer.status == 400, "\(raw): \(answer.status) \(answer.text)")
            #expect(answer.errorMessage.contains("cursor"))
        }
        #expect(try await api.call(.get, "/healthz", template: "/healthz", token: nil).status != 0)
    }

    @Test("readiness before the due date reports what the executor would find: a paused token is token_paused, not ready")
    func readinessReasons() async throws {
        let api = try await APIFixture.withToken("pausable_blocklist")
        defer { api.stop() }
        let world = api.world
        let path = "/v1/chains/devnet/wallets/\(world.payer.address.checksummed)/readiness?token=USDC&amount=10000000"
        let template = "/v1/chains/{chain}/wallets/{wallet}/readiness"
        #expect(try await api.call(.get, path, template: template).json["reasons"]?.arrayValue == [])
        _ = try await world.devnet.rpc.call("settle_pause", [.string(world.token.checksummed)])
        let paused = try await api.call(.get, path, template: template)
        #expect(paused.json["ready"]?.boolValue == false)
        #expect(paused.json["short"]?.arrayValue == [])
        #expect(paused.json["reasons"]?.arrayValue == ["token_paused"], "\(paused.text)")
        _ = try await world.devnet.rpc.call("settle_blocklist", [.string(world.token.checksummed), .string(world.payer.address.checksummed)])
        _ = try await world.devnet.rpc.call("settle_unpause", [.string(world.token.checksummed)])
        #expect(try await api.call(.get, path, template: template).json["reasons"]?.arrayValue == ["payer_blocked"])
    }

    @Test("readiness names what is short; the unsigned approval, signed by the customer, raises the allowance on chain")
    func readinessAndApproval() async throws {
        let api = try await APIFixture.make(balance: 50_000_000, allowance: 10_000_000)
        defer { api.stop() }
        let world = api.world
        let wallet = world.payer.address.checksummed
        func readiness(_ amount: UInt64) async throws -> APIFixture.Answer {
            try await api.call(.get, "/v1/chains/devnet/wallets/\(wallet)/readiness?token=USDC&amount=\(amount)",
                               template: "/v1/chains/{chain}/wallets/{wallet}/readiness")
        }
        let ready = try await readiness(10_000_000)
        #expect(ready.json["ready"]?.boolValue == true)
        #expect(ready.json["short"]?.arrayValue == [])
        let upgrade = try await readiness(25_000_000)
        #expect(upgrade.json["ready"]?.boolValue == false)
        #expect(upgrade.json["short"]?.arrayValue == ["allowance"])
        #expect(upgrade.json["balance"]?["amount"]?.stringValue == "50000000")
        #expect(upgrade.json["allowance"]?["amount"]?.stringValue == "10000000")
        let both = try await readiness(60_000_000)
        #expect(both.json["short"]?.arrayValue == ["balance", "allowance"])

        let suggestion = try await api.call(.get, "/v1/suggested-allowance?chain=devnet&token=USDC&amount=25000000&interval=month",
                                            template: "/v1/suggested-allowance")
        #expect(suggestion.json["suggested"]?.stringValue == "325000000")  // 25 USDC × 13 monthly payments
        #expect(suggestion.json["display"]?.stringValue == "325.000000")
        let quarterly = try await api.call(.get, "/v1/suggested-allowance?chain=devnet&token=USDC&amount=1000&interval=week&interval_count=2&payments=4",
                                           template: "/v1/suggested-allowance")
        #expect(quarterly.json["suggested"]?.stringValue == "8000")

        let approval = try await api.call(.get, "/v1/chains/devnet/wallets/\(wallet)/approval?token=USDC&amount=325000000",
                                          template: "/v1/chains/{chain}/wallets/{wallet}/approval")
        #expect(approval.status == 200, "\(approval.text)")
        let fields = try #require(approval.json["transaction"])
        #expect(fields["to"]?.stringValue == world.token.checksummed)
        #expect(fields["from"]?.stringValue == wallet)
        func quantity(_ key: String) throws -> UInt256 { try UInt256(hex: try #require(fields[key]?.stringValue)) }
        let transaction = EIP1559Transaction(
            chainID: UInt64(try quantity("chainId").low), nonce: UInt64(try quantity("nonce").low),
            maxPriorityFeePerGas: try quantity("maxPriorityFeePerGas"), maxFeePerGas: try quantity("maxFeePerGas"),
            gasLimit: UInt64(try quantity("gas").low), to: try EVMAddress(hex: try #require(fields["to"]?.stringValue)),
            value: try quantity("value"), data: try Hex.decode(try #require(fields["data"]?.stringValue)))
        _ = try await world.devnet.rpc.call("eth_sendRawTransaction", [.string(transaction.signed(with: world.payer.key).rawHex)])
        try await world.devnet.mine(1)
        #expect(try await readiness(25_000_000).json["ready"]?.boolValue == true)
        let onChain = try await EVMNode(rpc: world.devnet.rpc).allowance(token: world.token, owner: world.payer.address, spender: world.spender.address, block: .latest)
        #expect(onChain == 325_000_000)
    }

    @Test("charges page by state, one charge shows its attempts and moves; retry needs admin and makes a short charge due; agreements")
    func chargesAgreementsAndRetry() async throws {
        let api = try await APIFixture.make(balance: 1_000_000_000, allowance: 12_000_000)
        defer { api.stop() }
        let world = api.world
        var invoices: [String] = []
        for cents: UInt64 in [500, 600, 700, 2_000] { invoices.append(try await api.charge(cents: cents)) }
        let now = UInt64(Date().timeIntervalSince1970) + 3600
        for invoice in invoices.prefix(2) { _ = try await world.settle(invoice, now: now) }  // 5 and 6 USDC settle
        _ = try await world.settle(invoices[2], now: now)  // 7 USDC: 1 USDC of allowance left → awaiting funds
        _ = try await world.settle(invoices[3], now: now)
        var listed: [String] = []
        var cursor: String?
        repeat {
            let page = try await api.call(.get, "/v1/charges?limit=1" + (cursor.map { "&cursor=\($0)" } ?? ""), template: "/v1/charges")
            listed += (page.json["data"]?.arrayValue ?? []).compactMap { $0["invoice"]?.stringValue }
            cursor = page.json["next_cursor"]?.stringValue
        } while cursor != nil && listed.count < 10
        #expect(listed == invoices)
        let waiting = try await api.call(.get, "/v1/charges?state=awaiting_funds", template: "/v1/charges")
        #expect(waiting.json["data"]?.arrayValue?.compactMap { $0["invoice"]?.stringValue } == [invoices[2], invoices[3]])
        #expect(waiting.json["data"]?.arrayValue?.first?["reason"]?.stringValue == "low_allowance")

        let settled = try await api.call(.get, "/v1/charges/\(invoices[0])", template: "/v1/charges/{invoice}")
        #expect(["settled", "included"].contains(settled.json["state"]?.stringValue ?? ""), "\(settled.text)")
        #expect(settled.json["token_amount"]?.stringValue == "5000000")
        #expect(settled.json["wallet"]?.stringValue == world.payer.address.checksummed)
        let attempts = settled.json["attempts"]?.arrayValue ?? []
        #expect(attempts.count == 1)
        #expect(attempts.first?["transaction"]?.stringValue?.hasPrefix("0x") == true)
        #expect(attempts.first?["outcome"]?.stringValue == "included")
        #expect(settled.json["history"]?.arrayValue?.first?["to"]?.stringValue == "due")

        // The customer raises the allowance; an admin retries: the charge is due again at once.
        try await world.devnet.approve(token: world.token, owner: world.payer, spender: world.spender.address, amount: 100_000_000)
        let retried = try await api.call(.post, "/v1/charges/\(invoices[2])/retry", template: "/v1/charges/{invoice}/retry", token: APIFixture.adminToken)
        #expect(retried.status == 202, "\(retried.text)")
        #expect(retried.json["state"]?.stringValue == "due")
        let afterRetry = try await world.settle(invoices[2], now: now + 7200)
        #expect([.included, .settled].contains(afterRetry))
        let again = try await api.call(.post, "/v1/charges/in_nothing/retry", template: "/v1/charges/{invoice}/retry", token: APIFixture.adminToken)
        #expect(again.status == 404)
        // An {invoice} that would steer the Stripe URL elsewhere: a 400 naming the problem, before Stripe is asked.
        for hostile in ["in_1%3Fexpand%3Dcustomer", "in_1%2F..%2F..%2Fcustomers", "in_%2e%2e", "in_1%23x"] {
            let refused = try await api.call(.post, "/v1/charges/\(hostile)/retry", template: "/v1/charges/{invoice}/retry", token: APIFixture.adminToken)
            #expect(refused.status == 400 && refused.errorMessage.contains("is not a Stripe invoice id"), "\(hostile): \(refused.status) \(refused.text)")
        }

        // Agreements: created by an admin, listed page by page.
        let created = try await api.call(.post, "/v1/agreements", template: "/v1/agreements", token: APIFixture.adminToken,
                                         body: #"{"customer": "cus_manual", "chain": "devnet", "token": "usdc", "wallet": "\#(world.payer.address.lowercaseHex0x)"}"#)
        #expect(created.status == 201, "\(created.text)")
        #expect(created.json["wallet"]?.stringValue == world.payer.address.checksummed)
        #expect(created.json["token"]?.stringValue == "USDC")
        var customers: [String] = []
        cursor = nil
        repeat {
            let page = try await api.call(.get, "/v1/agreements?limit=2" + (cursor.map { "&cursor=\($0)" } ?? ""), template: "/v1/agreements")
            customers += (page.json["data"]?.arrayValue ?? []).compactMap { $0["customer"]?.stringValue }
            cursor = page.json["next_cursor"]?.stringValue
        } while cursor != nil && customers.count < 20
        #expect(customers.count == 5)
        #expect(Set(customers).count == 5)
        #expect(customers.last == "cus_manual")
    }

    @Test("healthz reports per-chain lag and turns 503 past the limit; metrics are Prometheus text with charges by state and backlog")
    func healthAndMetrics() async throws {
        let api = try await APIFixture.make()
        defer { api.stop() }
        let starting = try await api.call(.get, "/healthz", template: "/healthz", token: nil)
        #expect(starting.status == 503)
        #expect(starting.json["chains"]?.arrayValue?.first?["problem"]?.stringValue?.hasPrefix("starting") == true)
        try await api.index()
        let ok = try await api.call(.get, "/healthz", template: "/healthz", token: nil)
        #expect(ok.status == 200, "\(ok.text)")
        #expect(ok.json["chains"]?.arrayValue?.first?["lag"]?.uint64Value == 0)
        api.health.succeeded("devnet", head: 500, indexed: 400, now: UInt64(Date().timeIntervalSince1970))
        let behind = try await api.call(.get, "/healthz", template: "/healthz", token: nil)
        #expect(behind.status == 503)
        #expect(behind.json["chains"]?.arrayValue?.first?["lag"]?.uint64Value == 100)
        _ = try await api.charge(cents: 900)
        let metrics = try await api.call(.get, "/metrics", template: "/metrics")
        #expect(metrics.status == 200)
        #expect(metrics.header("Content-Type")?.hasPrefix("text/plain") == true)
        #expect(metrics.text.contains(#"settle_charges{state="ingested"} 1"#), "\(metrics.text)")
        #expect(metrics.text.contains(#"settle_indexer_head_lag{chain="devnet"} 100"#))
        #expect(metrics.text.contains("settle_outbox_backlog 0"))
    }

    @Test("an unknown charge and a nonce_divergence alert make healthz 503 (with how to fix) and show in metrics")
    func unknownAndAlerts() async throws {
        let api = try await APIFixture.make()
        defer { api.stop() }
        try await api.index()
        #expect(try await api.call(.get, "/healthz", template: "/healthz", token: nil).status == 200)
        let ledger = api.world.ledger
        let invoice = try await api.charge(cents: 700)
        let charge = try #require(try await ledger.charge(invoice: invoice))
        try await ledger.transition(charge.id, from: charge.state, to: .due)
        _ = try await ledger.signEVMAttempt(charge: charge.id, chain: "devnet", signer: "0xspender", chainPending: 0, head: nil) { _ in
            SignedPayload(transactionID: "0x" + String(repeating: "ab", count: 32), raw: [1])
        }
        try await ledger.transition(charge.id, from: .signed, to: .unknown, reason: "test")
        _ = try await ledger.signEVMAttempt(charge: charge.id, chain: "devnet", signer: "0xspender", chainPending: 5, head: nil) { _ in
            SignedPayload(transactionID: "0x" + String(repeating: "cd", count: 32), raw: [2])
        }
        let health = try await api.call(.get, "/healthz", template: "/healthz", token: nil)
        #expect(health.status == 503)
        #expect(health.json["unknown_charges"]?.uint64Value == 1, "\(health.text)")
        #expect(health.json["alerts"]?.arrayValue?.first?["kind"]?.stringValue == "nonce_divergence", "\(health.text)")
        #expect(health.json["alerts"]?.arrayValue?.first?["fix"]?.stringValue?.contains("settled nonce adopt") == true)
        let metrics = try await api.call(.get, "/metrics", template: "/metrics")
        #expect(metrics.text.contains(#"settle_charges{state="unknown"} 1"#), "\(metrics.text)")
        #expect(metrics.text.contains(#"settle_chain_alerts_open{chain="devnet",kind="nonce_divergence"} 1"#), "\(metrics.text)")
    }
}
