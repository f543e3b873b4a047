import API
import EVM
import Foundation
import SettleCore
import TestSupport
import Testing
import Transport

/// What schemathesis (Tests/Peers/api_fuzz.py) and probing around it found in the HTTP API, each pinned by a test
/// through a real client: input the server must refuse with a 4xx naming it, or accept as HTTP says it means.
@Suite("HTTP API: fuzzer findings")
struct APIFuzzFindingsTests {
    @Test("percent-encoded path parameters mean what they encode: dev%6Eet is devnet, in%5F… is in_…")
    func percentEncodedPathParameters() async throws {
        let api = try await APIFixture.make()
        defer { api.stop() }
        let invoice = try await api.charge(cents: 500)
        let wallet = api.world.payer.address.checksummed
        let encodedWallet = "%30" + wallet.dropFirst()  // %30 is '0'
        let balances = try await api.call(.get, "/v1/chains/dev%6Eet/wallets/\(encodedWallet)/balances",
                                          template: "/v1/chains/{chain}/wallets/{wallet}/balances")
        #expect(balances.status == 200, "\(balances.text)")
        #expect(balances.json["chain"]?.stringValue == "devnet")
        #expect(balances.json["wallet"]?.stringValue == wallet)
        let charge = try await api.call(.get, "/v1/charges/\(invoice.replacingOccurrences(of: "_", with: "%5F"))", template: "/v1/charges/{invoice}")
        #expect(charge.status == 200, "\(charge.text)")
        #expect(charge.json["invoice"]?.stringValue == invoice)
        // What decodes to something else is judged as that: a slash is no chain, a '?' no invoice id.
        let slash = try await api.call(.get, "/v1/chains/dev%2Fnet/wallets/\(wallet)/balances", template: "/v1/chains/{chain}/wallets/{wallet}/balances")
        #expect(slash.status == 404 && slash.errorMessage.contains("no chain 'dev/net'"), "\(slash.text)")
        let bad = try await api.call(.get, "/v1/chains/dev%zznet/wallets/\(wallet)/balances", template: "/v1/chains/{chain}/wallets/{wallet}/balances")
        #expect(bad.status == 404, "\(bad.text)")
    }

    @Test("an agreement body naming a field twice is a 400, not whichever copy the parser kept")
    func duplicateFields() async throws {
        let api = try await APIFixture.make()
        defer { api.stop() }
        let wallet = api.world.payer.address.checksummed
        let body = #"{"customer": "cus_1", "chain": "devnet", "token": "USDC", "wallet": "\#(wallet)", "customer": "cus_2"}"#
        let answer = try await api.call(.post, "/v1/agreements", template: "/v1/agreements", token: APIFixture.adminToken, body: body)
        #expect(answer.status == 400, "\(answer.text)")
        #expect(answer.errorMessage.contains("'customer' appears twice"), "\(answer.errorMessage)")
        #expect(try await api.world.ledger.agreements().isEmpty)
    }

    @Test("an agreement's customer and subscription must be Stripe ids: letters, digits and _; nothing else is stored")
    func agreementStripeIDs() async throws {
        let api = try await APIFixture.make()
        defer { api.stop() }
        let wallet = api.world.payer.address.checksummed
        let cases: [(customer: String, subscription: String?, mentions: String)] = [
            ("cus 1", nil, "is not a Stripe customer id"), ("c\u{0}", nil, "is not a Stripe customer id"),
            ("../customers/cus_1", nil, "is not a Stripe customer id"), ("cus_1?expand=x", nil, "is not a Stripe customer id"),
            (String(repeating: "c", count: 256), nil, "is not a Stripe customer id"),
            ("cus_1", "sub/../1", "is not a Stripe subscription id"),
        ]
        for item in cases {
            var fields: [(String, JSON)] = [("customer", .string(item.customer)), ("chain", "devnet"), ("token", "USDC"), ("wallet", .string(wallet))]
            if let subscription = item.subscription { fields.append(("subscription", .string(subscription))) }
            let body = String(decoding: JSON.object(fields).serialized, as: UTF8.self)
            let answer = try await api.call(.post, "/v1/agreements", template: "/v1/agreements", token: APIFixture.adminToken, body: body)
            #expect(answer.status == 400, "\(body): \(answer.text)")
            #expect(answer.errorMessage.contains(item.mentions), "\(body): \(answer.errorMessage)")
        }
        #expect(try await api.world.ledger.agreements().isEmpty)
        let fine = try await api.call(.post, "/v1/agreements", template: "/v1/agreements", token: APIFixture.adminToken,
                                      body: #"{"customer": "cus_Q2x8", "subscription": "sub_1P9", "chain": "devnet", "token": "USDC", "wallet": "\#(wallet)"}"#)
        #expect(fine.status == 201, "\(fine.text)")
    }

    @Test("an approval the token refuses (paused, blocklisted) is a 409 saying why, the zero address a 400; never a 502")
    func approvalTheTokenRefuses() async throws {
        let api = try await APIFixture.withToken("pausable_blocklist")
        defer { api.stop() }
        let world = api.world
        let template = "/v1/chains/{chain}/wallets/{wallet}/approval"
        let path = "/v1/chains/devnet/wallets/\(world.payer.address.checksummed)/approval?token=USDC&amount=1000000"
        #expect(try await api.call(.get, path, template: template).status == 200)
        _ = try await world.devnet.rpc.call("settle_pause", [.string(world.token.checksummed)])
        let paused = try await api.call(.get, path, template: template)
        #expect(paused.status == 409 && paused.errorCode == "conflict", "\(paused.text)")
        #expect(paused.errorMessage.contains("paused"), "\(paused.errorMessage)")
        _ = try await world.devnet.rpc.call("settle_unpause", [.string(world.token.checksummed)])
        _ = try await world.devnet.rpc.call("settle_blocklist", [.string(world.token.checksummed), .string(world.payer.address.checksummed)])
        let blocked = try await api.call(.get, path, template: template)
        #expect(blocked.status == 409 && blocked.errorMessage.contains("blocklisted"), "\(blocked.text)")
        let zero = try await api.call(.get, "/v1/chains/devnet/wallets/0x0000000000000000000000000000000000000000/approval?token=USDC&amount=1",
                                      template: template)
        #expect(zero.status == 400 && zero.errorMessage.contains("zero address"), "\(zero.text)")
        let check = try await api.documentCheck(coverage: false)
        #expect(check.passed, "\(check.output)")
    }

    @Test("a wallet that is not ready with nothing short (a paused token) answers as docs/openapi.yaml says")
    func readinessNotReadyNothingShort() async throws {
        let api = try await APIFixture.withToken("pausable_blocklist")
        defer { api.stop() }
        let world = api.world
        _ = try await world.devnet.rpc.call("settle_pause", [.string(world.token.checksummed)])
        let paused = try await api.call(.get, "/v1/chains/devnet/wallets/\(world.payer.address.checksummed)/readiness?token=USDC&amount=10000000",
                                        template: "/v1/chains/{chain}/wallets/{wallet}/readiness")
        #expect(paused.json["ready"]?.boolValue == false && paused.json["short"]?.arrayValue == [], "\(paused.text)")
        let check = try await api.documentCheck(coverage: false)
        #expect(check.passed, "\(check.output)")
    }
}
