import SettleCore
import Settlement
import Transport

/// Posts merchant webhooks over HTTP: a JSON body with `Settle-Signature: t=TIMESTAMP,v1=HMAC-SHA256(secret,
/// "TIMESTAMP.BODY")` (Stripe's scheme, so merchants can verify with the same code), `Settle-Event-Id`, and a short
/// timeout. Only the status matters: 2xx is delivered, anything else is retried by the outbox.
public struct MerchantWebhookPoster: WebhookPoster {
    /// How much of the merchant's answer is read: only its status counts.
    public static let maximumResponseBytes = 64 << 10
    public let url: String
    private let secret: String
    private let http: HTTPClient
    public let timeout: Duration

    /// - Parameter secret: the signing secret shared with the merchant (never logged).
    public init(url: String, secret: String, http: HTTPClient, timeout: Duration = .seconds(10)) {
        self.url = url
        self.secret = secret
        self.http = http
        self.timeout = timeout
    }

    public func post(body: [UInt8], eventID: String, timestamp: UInt64) async -> (status: Int?, error: String?) {
        var request = HTTPRequest(url: url, method: .post, headers: [
            ("Content-Type", "application/json"), ("User-Agent", "Settle/1 (+webhooks)"), ("Settle-Event-Id", eventID),
            ("Settle-Signature", WebhookSignature.header(payload: body, secret: secret, timestamp: timestamp)),
        ], body: body, timeout: timeout, maximumResponseBytes: Self.maximumResponseBytes)
        // Only the status counts: a long (or endless) answer is cut off, not waited for.
        request.truncatesLargeResponse = true
        do {
            return (try await http.execute(request).status, nil)
        } catch {
            return (nil, error.message)
        }
    }
}
