import Billing
import Foundation
import SettleCore
import TestSupport
import Testing
import Transport

// Started once per test process on first use, on a thread of its own (a blocking start, or a `Result` global's
// one-time initializer that other tests block on meanwhile, would hold the cooperative pool's threads for seconds).
let sharedStripe = Task { try await Peer.start(script: "stripe_peer.py") }

@Suite("Stripe client against localstripe", .serialized)
struct StripeClientTests {
    func client(_ url: String? = nil, attempts: Int = 3) async throws -> StripeClient {
        let base = if let url { url } else { try await sharedStripe.value.url("") }
        return StripeClient(baseURL: base, apiKey: "sk_test_settle", http: HTTPClient(),
                            retry: RetryPolicy(maximumAttempts: attempts, baseDelay: .milliseconds(10)))
    }

    @Test("create with nested metadata and an idempotency key, read back, list every page")
    func customers() async throws {
        let stripe = try await client()
        let tag = "t\(UInt32.random(in: 0...UInt32.max))"
        var ids: [String] = []
        for i in 0..<5 {
            let customer = try await stripe.post("/v1/customers", [
                "email": .string("payer\(i)@example.com"),
                "metadata": ["settle_wallet": "0x1111111111111111111111111111111111111111", "settle_chain": "base", "tag": .string(tag)],
            ], idempotencyKey: "settle-test-\(tag)-\(i)")
            #expect(customer["metadata"]?["settle_chain"] == "base")
            ids.append(try #require(customer["id"]?.stringValue))
        }
        let fetched = try await stripe.get("/v1/customers/\(ids[2])")
        #expect(fetched["email"] == "payer2@example.com")
        let all = try await stripe.listAll("/v1/customers", pageSize: 2)
        let mine = all.filter { $0["metadata"]?["tag"]?.stringValue == tag }.compactMap { $0["id"]?.stringValue }
        #expect(Set(mine) == Set(ids))
        #expect(Set(all.compactMap { $0["id"]?.stringValue }).count == all.count)  // no page repeated
    }

    @Test("Stripe's error objects become typed errors; 4xx is not retried")
    func errors() async throws {
        let stripe = try await client()
        let missing = await #expect(throws: StripeError.self) { try await stripe.get("/v1/customers/cus_missing") }
        #expect(missing?.status == 404 && missing?.type == "invalid_request_error" && missing?.isRetryable == false)
        #expect(missing.map { !$0.description.contains("sk_test") } == true)
    }

    @Test("503s are retried (safe: the idempotency key is the same) and the request goes through")
    func retries() async throws {
        let upstream = try await sharedStripe.value
        let proxy = try await Peer.start(script: "fault_proxy.py", arguments: ["--upstream", upstream.url("/")])
        _ = try await HTTPClient().execute(HTTPRequest(url: proxy.url("/_fault"), method: .post,
                                                       body: Array(#"{"mode": "status", "status": 503, "count": 2}"#.utf8)))
        let stripe = try await client(proxy.url(""), attempts: 4)
        let customer = try await stripe.post("/v1/customers", ["email": "retry@example.com"], idempotencyKey: "settle-retry-1")
        #expect(customer["email"] == "retry@example.com")
        let exhausted = try await client(proxy.url(""), attempts: 1)
        _ = try await HTTPClient().execute(HTTPRequest(url: proxy.url("/_fault"), method: .post,
                                                       body: Array(#"{"mode": "status", "status": 503, "count": 1}"#.utf8)))
        let error = await #expect(throws: StripeError.self) { try await exhausted.get("/v1/customers") }
        #expect(error?.status == 503 && error?.isRetryable == true)
    }
}
