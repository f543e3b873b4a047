import SettleCore
import Signing

/// Stripe's webhook signature scheme, used both ways: verifying `Stripe-Signature` on inbound webhooks and producing
/// `Settle-Signature` on the merchant webhooks Settle sends. The header is `t=TIMESTAMP,v1=HEX[,v1=HEX…]`, each
/// `v1` the HMAC-SHA256 of `"TIMESTAMP.BODY"` under a signing secret.
public enum WebhookSignature {
    /// Stripe's default tolerance: five minutes either way.
    public static let defaultTolerance: UInt64 = 300

    /// The header value for `payload` signed with `secret` at `timestamp`.
    public static func header(payload: [UInt8], secret: String, timestamp: UInt64) -> String {
        "t=\(timestamp),v1=\(signature(payload: payload, secret: secret, timestamp: timestamp).hex)"
    }

    static func signature(payload: [UInt8], secret: String, timestamp: UInt64) -> Bytes32 {
        HMACSHA256.authenticate(key: Array(secret.utf8), message: Array("\(timestamp).".utf8) + payload)
    }

    /// Verifies `header` for `payload` against any of `secrets` (several during a secret rotation), accepting any
    /// of the header's `v1` signatures, within `tolerance` seconds of `now`. Comparisons are constant-time.
    /// - Returns: the signed timestamp.
    /// - Throws: `BillingError.invalidSignature` or `.staleSignature`, with a reason that never includes a secret.
    @discardableResult
    public static func verify(payload: [UInt8], header: String, secrets: [String], now: UInt64,
                              tolerance: UInt64 = defaultTolerance) throws(BillingError) -> UInt64 {
        var timestamp: UInt64?
        var candidates: [Bytes32] = []
        for part in header.split(separator: ",") {
            let pair = part.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters() }
            guard pair.count == 2 else { continue }
            switch pair[0] {
            case "t":
                guard timestamp == nil, let value = UInt64(pair[1]) else {
                    throw BillingError(.invalidSignature, "the signature header's timestamp is missing, repeated or not a number")
                }
                timestamp = value
            case "v1":
                if let bytes = try? Hex.decode(pair[1]), let mac = try? Bytes32(bytes) { candidates.append(mac) }
            default:
                continue  // other schemes (v0) are ignored, as Stripe's libraries do
            }
        }
        guard let timestamp else { throw BillingError(.invalidSignature, "the signature header has no timestamp") }
        guard !candidates.isEmpty else { throw BillingError(.invalidSignature, "the signature header has no v1 signature") }
        guard !secrets.isEmpty else { throw BillingError(.invalidSignature, "no signing secret is configured") }
        var matched = false
        for secret in secrets {
            let expected = signature(payload: payload, secret: secret, timestamp: timestamp)
            for candidate in candidates where HMACSHA256.equal(expected, candidate) { matched = true }
        }
        guard matched else { throw BillingError(.invalidSignature, "no v1 signature matches the payload under the configured secrets") }
        let age = now >= timestamp ? now - timestamp : timestamp - now
        guard age <= tolerance else {
            throw BillingError(.staleSignature, "signed \(age) s \(now >= timestamp ? "ago" : "in the future"); tolerance is \(tolerance) s")
        }
        return timestamp
    }
}

extension Substring {
    fileprivate func trimmingCharacters() -> String {
        var s = self
        while s.first == " " { s.removeFirst() }
        while s.last == " " { s.removeLast() }
        return String(s)
    }
}
