@testable import Billing
import Foundation
import Logging
import SettleCore
import Store
import TestSupport
import Testing

/// Issue 14: every decoder of what Stripe sends sees 100,000 random and mutated inputs (seeds: localstripe's real
/// objects and webhook bodies in `Tests/Fixtures/stripe`, mutated by `JSONFuzzInputs`): invoices, customer and
/// subscription metadata, list pages, event envelopes as the webhook route receives them, and `Stripe-Signature`
/// headers. A decoder either returns a value or throws its typed error (`BillingError`, `StripeError`); a trap fails
/// the run. What decodes holds the invariants the ledger relies on (numbers within its signed 64-bit integers).
@Suite("Fuzz: Stripe objects and webhooks")
struct StripeFuzzTests {
    static let count = 100_000

    static func fixture(_ name: String) throws -> JSON { try Fixtures.json("stripe", name) }

    static func events() throws -> [JSON] {
        try Fixtures.all("stripe", prefix: "event_").keys.sorted().map { try fixture($0) }
    }

    static let catalog = ChainCatalog(tokens: ["base": ["USDC": 6]]) { chain, wallet in
        chain == "base" && wallet.count == 42 && wallet.hasPrefix("0x") ? wallet.lowercased() : nil
    }

    static func fits(_ value: UInt64?) -> Bool { value.map { Int64(exactly: $0) != nil } ?? true }

    @Test("invoices: read exactly or malformed; every number fits the ledger")
    func invoices() throws {
        var seeds = [try Self.fixture("invoice")]
        seeds += try Self.fixture("invoice_list")["data"]?.arrayValue ?? []
        seeds += try Self.events().compactMap { $0["data"]?["object"] }.filter { $0["object"] == "invoice" }
        var read = 0
        for input in JSONFuzzInputs(count: Self.count, seeds: seeds, seed: 401) {
            guard let json = try? input.json() else { continue }
            do throws(BillingError) {
                let invoice = try StripeInvoice(json: json)
                read += 1
                #expect(Self.fits(invoice.amountRemaining) && Self.fits(invoice.amountDue) && Self.fits(invoice.dueAt) && Self.fits(invoice.created))
                // Ids fit a request path (they are put in one).
                #expect((try? StripeID.checked(invoice.id)) != nil && (try? StripeID.checked(invoice.customer)) != nil)
                #expect(invoice.subscription.map { (try? StripeID.checked($0)) != nil } ?? true)
            } catch {
                #expect(error.code == .malformed)
            }
        }
        #expect(read > Self.count / 20)
    }

    @Test("customer and subscription metadata: agreement terms, absent, or a reason they are unusable")
    func metadata() throws {
        let seeds = [try Self.fixture("customer")] + (try Self.events().compactMap { $0["data"]?["object"] })
        var terms = 0
        for input in JSONFuzzInputs(count: Self.count, seeds: seeds, seed: 402) {
            guard let json = try? input.json() else { continue }
            let metadata = StripeInvoice.strings(json["metadata"])
            for (key, value) in metadata { #expect(json["metadata"]?[key]?.stringValue == value) }  // read as JSON reads it
            if case .terms(let found) = AgreementTerms.read(metadata, catalog: Self.catalog) {
                terms += 1
                #expect(found.chain == "base" && found.token == "USDC" && found.decimals == 6 && found.wallet.hasPrefix("0x"))
            }
        }
        #expect(terms > Self.count / 50)
    }

    @Test("list pages: the objects and where the next page starts")
    func listPages() throws {
        var pages = 0
        for input in JSONFuzzInputs(count: Self.count, seeds: [try Self.fixture("invoice_list")], seed: 403) {
            guard let json = try? input.json() else { continue }
            do throws(StripeError) {
                let page = try StripeListPage(json: json)
                pages += 1
                if page.nextAfter != nil { #expect(json["has_more"] == true) }
                for object in page.objects { _ = try? StripeInvoice(json: object) }
            } catch {
                #expect(error.type == "malformed")
            }
        }
        #expect(pages > Self.count / 20)
    }

    @Test("event envelopes as the webhook route receives them (bytes)")
    func envelopes() throws {
        var read = 0
        for input in JSONFuzzInputs(count: Self.count, seeds: try Self.events(), seed: 404) {
            let payload = input.bytes
            do throws(BillingError) {
                let event = try StripeEventEnvelope(payload: payload)
                read += 1
                #expect(Self.fits(event.created) && !event.id.isEmpty && !event.type.isEmpty)
                #expect(event.objectID == (try? JSON(parsing: payload))?["data"]?["object"]?["id"]?.stringValue)
            } catch {
                #expect(error.code == .malformed)
            }
        }
        #expect(read > Self.count / 20)
    }

    @Test("Stripe-Signature headers: a mutated header is refused with a reason, never trusted, never a trap")
    func signatureHeaders() throws {
        let payload = try Fixtures.bytes("stripe", try Fixtures.all("stripe", prefix: "event_").keys.sorted()[0])
        let secret = "whsec_fuzz"
        let now: UInt64 = 1_800_000_000
        let header = WebhookSignature.header(payload: payload, secret: secret, timestamp: now)
        let seeds = [header, "t=\(now),v1=\(String(repeating: "0", count: 64)),v0=abc", "t=18446744073709551615,v1=00", "t=-1,v1=ff"].map { Array($0.utf8) }
        var accepted = 0
        for input in FuzzInputs(count: Self.count, seeds: seeds, maxLength: 200, seed: 405) {
            let text = String(decoding: input, as: UTF8.self)
            do throws(BillingError) {
                let timestamp = try WebhookSignature.verify(payload: payload, header: text, secrets: [secret], now: now)
                accepted += 1
                #expect(timestamp == now)  // only a header carrying the real signature is accepted
            } catch {
                #expect(error.code == .invalidSignature || error.code == .staleSignature)
            }
        }
        #expect(accepted > 0)
    }

    /// Stored (each accepted event is an SQLite write): fewer than the pure decoders, see the count.
    @Test("through the inbox: 5,000 signed, mutated deliveries are stored or refused as malformed")
    func inbox() async throws {
        let store = BillingStore(database: try Database(path: try temporaryDirectory("settle-fuzz-inbox").appendingPathComponent("db").path))
        try await store.migrate()
        let secret = "whsec_fuzz"
        let inbox = StripeInbox(store: store, secrets: [secret])
        let now: UInt64 = 1_800_000_000
        var stored = 0
        for input in JSONFuzzInputs(count: 5_000, seeds: try Self.events(), seed: 406) {
            let payload = input.bytes
            do {
                let receipt = try await inbox.receive(payload: payload, signatureHeader: WebhookSignature.header(payload: payload, secret: secret, timestamp: now),
                                                      now: now)
                if case .stored = receipt { stored += 1 }
            } catch let error as BillingError {
                #expect(error.code == .malformed)
            }
        }
        #expect(stored > 0)
        for event in try await store.allEvents() { #expect(Self.fits(event.created)) }
    }
}
