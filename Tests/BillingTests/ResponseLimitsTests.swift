import Billing
import Foundation
import SettleCore
import TestSupport
import Testing
import Transport

/// A fixture server whose `/endless/...` answers 200 and a body that never ends (a hand-written fake: no real peer
/// misbehaves this way on demand).
// Started once per test process on first use, on a thread of its own (a blocking start, or a `Result` global's
// one-time initializer that other tests block on meanwhile, would hold the cooperative pool's threads for seconds).
let endlessFixture = Task { try await Peer.start(script: "http_fixture.py") }

/// Each outgoing caller bounds what it reads of an answer: Stripe and the merchant's endpoint are outside the
/// process, and a body that never ends must cost neither unbounded memory nor a whole timeout.
@Suite("Response size limits per caller")
struct ResponseLimitsTests {
    @Test("Stripe: an endless answer fails at 16 MiB (it was read to 256 MiB)")
    func stripeEndless() async throws {
        let server = try await endlessFixture.value
        let http = HTTPClient()
        defer { http.shutdown() }
        let stripe = StripeClient(baseURL: server.url("/endless"), apiKey: "sk_test_settle", http: http,
                                  retry: RetryPolicy(maximumAttempts: 1, baseDelay: .milliseconds(10)))
        // (No wall-clock bound here: other suites can hold this process's cooperative pool for a long time. Reading
        // stops at the limit, which the error says; before, it went on to 256 MiB.)
        let error = await #expect(throws: StripeError.self) { _ = try await stripe.get("/v1/invoices/in_1") }
        #expect("\(String(describing: error))".contains("exceeds \(16 << 20) bytes"), "\(String(describing: error))")
    }

    @Test("merchant webhook: only the status is read; an endless 200 counts as delivered")
    func merchantEndless() async throws {
        let server = try await endlessFixture.value
        let http = HTTPClient()
        defer { http.shutdown() }
        let poster = MerchantWebhookPoster(url: server.url("/endless/hooks"), secret: "whsec_merchant", http: http)
        let (status, error) = await poster.post(body: Array(#"{"type": "payment.settled"}"#.utf8), eventID: "evt_1", timestamp: 1)
        #expect(status == 200 && error == nil, "\(String(describing: status)) \(error ?? "")")
    }
}
