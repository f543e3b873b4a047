import Billing
import SettleCore
import TestSupport
import Foundation
import Testing

struct SignatureVector: Decodable, Sendable {
    let secret: String
    let payload: String
    let timestamp: UInt64
    let header: String
}

@Suite("Stripe webhook signatures and request encoding against stripe-python")
struct WebhookSignatureTests {
    @Test("headers stripe-python computes verify; the same header is produced for outbound webhooks")
    func vectors() throws {
        let vectors = try Vectors.load("stripe_signatures", as: [SignatureVector].self)
        #expect(vectors.count >= 1000)
        for v in vectors {
            let payload = Array(v.payload.utf8)
            #expect(try WebhookSignature.verify(payload: payload, header: v.header, secrets: [v.secret], now: v.timestamp + 10) == v.timestamp)
            #expect(WebhookSignature.header(payload: payload, secret: v.secret, timestamp: v.timestamp) == v.header)
        }
    }

    @Test("tampering, a wrong secret, staleness and malformed headers are refused; rotation and several v1 values work")
    func refusals() throws {
        let payload = Array(#"{"id":"evt_1","type":"invoice.paid"}"#.utf8)
        let header = WebhookSignature.header(payload: payload, secret: "whsec_new", timestamp: 1_000)
        #expect(try WebhookSignature.verify(payload: payload, header: header, secrets: ["whsec_old", "whsec_new"], now: 1_100) == 1_000)
        let both = "t=1000,v1=\(String(repeating: "ab", count: 32)),v1=\(header.split(separator: "=").last ?? "")"
        #expect(try WebhookSignature.verify(payload: payload, header: both, secrets: ["whsec_new"], now: 1_000) == 1_000)
        let cases: [(String, [UInt8], [String], UInt64, BillingError.Code)] = [
            ("tampered", payload + [0x20], ["whsec_new"], 1_000, .invalidSignature),
            ("wrong secret", payload, ["whsec_other"], 1_000, .invalidSignature),
            ("too old", payload, ["whsec_new"], 1_301, .staleSignature),
            ("from the future", payload, ["whsec_new"], 699, .staleSignature),
        ]
        for (name, body, secrets, now, code) in cases {
            let error = #expect(throws: BillingError.self, "\(name)") { try WebhookSignature.verify(payload: body, header: header, secrets: secrets, now: now) }
            #expect(error?.code == code, "\(name)")
            #expect(error.map { !$0.message.contains("whsec") } == true, "\(name): a secret leaked into the message")
        }
        for bad in ["", "v1=00", "t=abc,v1=00", "t=1000", "t=1000,t=1001,v1=00", "t=1000,v1=zz", "garbage"] {
            #expect(throws: BillingError.self, "\(bad)") { try WebhookSignature.verify(payload: payload, header: bad, secrets: ["whsec_new"], now: 1_000) }
        }
        #expect(throws: BillingError.self) { try WebhookSignature.verify(payload: payload, header: header, secrets: [], now: 1_000) }
    }

    @Test("form encoding with nested keys, indexed arrays and booleans matches stripe-python byte for byte")
    func forms() throws {
        // Parse the file with Settle's own JSON parser: it keeps object member order, as Python's dicts do.
        let file = try JSON(parsing: try String(contentsOfFile: Vectors.directory.appendingPathComponent("stripe_forms.json").path, encoding: .utf8))
        let cases = try #require(file.arrayValue)
        #expect(cases.count >= 1000)
        for item in cases {
            let params = try #require(item["params"])
            #expect(StripeForm.encode(params) == item["encoded"]?.stringValue, "\(params.text)")
        }
    }
}
