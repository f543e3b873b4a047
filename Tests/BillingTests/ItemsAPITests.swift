import Billing
import Foundation
import Logging
import SettleCore
import Settlement
import TestSupport
import Testing

/// `/v1/items` over HTTP: what is stored is what was asked, bad bodies are a 400 naming the field, toggles behave.
@Suite("Items API: create, read, disable, auto-invoicing off and on")
struct ItemsAPITests {
    @Test("an item round-trips; bad fields are named; disabling and auto-invoicing toggles are stored")
    func items() async throws {
        let api = try await APIFixture.make()
        defer { api.stop() }
        let admin = APIFixture.adminToken
        let created = try await api.call(.post, "/v1/items", template: "", token: admin,
                                         body: #"{"id": "item_pro", "name": "Pro", "kind": "subscription", "interval": "month", "interval_count": 3, "amount": 2500, "currency": "USD", "tokens": ["usdc"], "allowance_payments": 6}"#)
        #expect(created.status == 201, "\(created.text)")
        #expect(created.json["interval"] == "month" && created.json["interval_count"]?.uint64Value == 3 && created.json["currency"] == "usd")
        #expect(created.json["tokens"] == ["USDC"] && created.json["active"] == .bool(true) && created.json["auto_invoicing"] == .bool(true))
        let read = try await api.call(.get, "/v1/items/item_pro", template: "", token: APIFixture.readToken)
        #expect(read.json == created.json)
        for (body, field) in [
            (#"{"name": "x", "kind": "subscription", "amount": 1, "currency": "usd"}"#, "interval"),
            (#"{"name": "x", "kind": "subscription", "interval": "month", "interval_count": 121, "amount": 1, "currency": "usd"}"#, "interval_count"),
            (#"{"name": "x", "kind": "one_time", "interval": "day", "amount": 1, "currency": "usd"}"#, "one_time"),
            (#"{"name": "x", "kind": "one_time", "amount": 0, "currency": "usd"}"#, "amount"),
            (#"{"name": "x", "kind": "one_time", "amount": 9223372036854775808, "currency": "usd"}"#, "amount"),
            (#"{"name": "x", "kind": "one_time", "amount": 5, "currency": "dollars"}"#, "currency"),
            (#"{"name": "x", "kind": "one_time", "amount": 5, "currency": "usd", "tokens": ["DOGE"]}"#, "tokens"),
            (#"{"name": "x", "kind": "one_time", "amount": 5, "currency": "usd", "extra": 1}"#, "extra"),
            (#"{"id": "pro", "name": "x", "kind": "one_time", "amount": 5, "currency": "usd"}"#, "id"),
            (#"[]"#, "object"),
        ] {
            let refused = try await api.call(.post, "/v1/items", template: "", token: admin, body: body)
            #expect(refused.status == 400 && refused.errorMessage.contains(field), "\(body): \(refused.status) \(refused.text)")
        }
        #expect(try await api.call(.post, "/v1/items", template: "", token: admin, body: #"{"id": "item_pro", "name": "Again", "kind": "one_time", "amount": 5, "currency": "usd"}"#).status == 409)
        let off = try await api.call(.post, "/v1/items/item_pro", template: "", token: admin, body: #"{"active": false, "auto_invoicing": false}"#)
        #expect(off.json["active"] == .bool(false) && off.json["auto_invoicing"] == .bool(false), "\(off.text)")
        let on = try await api.call(.post, "/v1/items/item_pro", template: "", token: admin, body: #"{"auto_invoicing": true}"#)
        let since = try #require(on.json["auto_invoicing_since"]?.uint64Value)
        #expect(on.json["auto_invoicing"] == .bool(true) && since >= (created.json["auto_invoicing_since"]?.uint64Value ?? .max), "\(on.text)")
        #expect(try await api.call(.get, "/v1/items", template: "", token: APIFixture.readToken).json["data"]?.arrayValue?.count == 1)

        // Agreements on items: period 0 invoiced due now; a disabled item writes nothing. (A token the item does not take
        // is refused the same way, before any write; this world's chain has one token, so the browser-free check is
        // the disabled item.)
        let wallet = api.world.payer.address.checksummed
        _ = try await api.call(.post, "/v1/items/item_pro", template: "", token: admin, body: #"{"active": true}"#)
        let subscribed = try await api.call(.post, "/v1/agreements", template: "", token: admin,
                                            body: #"{"customer": "cus_item1", "chain": "devnet", "token": "usdc", "wallet": "\#(wallet)", "item": "item_pro"}"#)
        #expect(subscribed.status == 201 && subscribed.json["item"] == "item_pro", "\(subscribed.text)")
        let invoice = try #require(subscribed.json["invoice"]?.stringValue)
        let charge = try #require(try await api.world.ledger.charge(invoice: invoice))
        #expect(invoice.hasSuffix("_0") && charge.amount.minorUnits == 2500 && charge.state == .ingested && charge.dueAt <= UInt64(Date().timeIntervalSince1970))
        let again = try await api.call(.post, "/v1/agreements", template: "", token: admin,
                                       body: #"{"customer": "cus_item1", "chain": "devnet", "token": "USDC", "wallet": "\#(wallet)", "item": "item_pro"}"#)
        #expect(again.json["invoice"]?.stringValue == invoice, "posting again names the same first invoice")
        let before = try await api.world.ledger.agreements().count
        let disabled = try await api.call(.post, "/v1/items/item_pro", template: "", token: admin, body: #"{"active": false}"#)
        #expect(disabled.json["active"] == .bool(false))
        let refused = try await api.call(.post, "/v1/agreements", template: "", token: admin,
                                         body: #"{"customer": "cus_item2", "chain": "devnet", "token": "USDC", "wallet": "\#(wallet)", "item": "item_pro"}"#)
        #expect(refused.status == 409, "\(refused.text)")
        #expect(try await api.world.ledger.agreements().count == before, "a refused subscription left an agreement")
    }

    @Test("starts_at dates a subscription at most two periods back; future, older, one-time or without an item is a 400")
    func startsAt() async throws {
        let api = try await APIFixture.make()
        defer { api.stop() }
        let admin = APIFixture.adminToken, wallet = api.world.payer.address.checksummed
        for body in [#"{"id": "item_hour", "name": "Hourly", "kind": "subscription", "interval": "hour", "amount": 100, "currency": "usd"}"#,
                     #"{"id": "item_once", "name": "Once", "kind": "one_time", "amount": 100, "currency": "usd"}"#] {
            #expect(try await api.call(.post, "/v1/items", template: "", token: admin, body: body).status == 201)
        }
        let now = UInt64(Date().timeIntervalSince1970)
        func subscribe(_ customer: String, _ item: String?, _ startsAt: UInt64) async throws -> APIFixture.Answer {
            let itemField = item.map { #", "item": "\#($0)""# } ?? ""
            return try await api.call(.post, "/v1/agreements", template: "", token: admin, body: """
                {"customer": "\(customer)", "chain": "devnet", "token": "USDC", "wallet": "\(wallet)"\(itemField), "starts_at": \(startsAt)}
                """)
        }
        let before = try await api.world.ledger.agreements().count
        for (customer, item, startsAt, words) in [("cus_future", "item_hour", now + 120, "future"), ("cus_old", "item_hour", now - 3 * 3_600, "two periods"),
                                                  ("cus_once", "item_once", now - 60, "one-time"), ("cus_none", nil, now - 60, "goes with 'item'")] {
            let refused = try await subscribe(customer, item, startsAt)
            #expect(refused.status == 400 && refused.text.contains(words), "\(customer): \(refused.text)")
        }
        #expect(try await api.world.ledger.agreements().count == before, "a refused body left an agreement")
        let dated = try await subscribe("cus_dated", "item_hour", now - 3_700)
        #expect(dated.status == 201, "\(dated.text)")
        let id = try #require(dated.json["id"]?.int64Value)
        let invoices = try await api.world.ledger.nativeInvoices(agreement: id)
        #expect(invoices.map(\.period) == [0] && invoices.first?.dueAt == now - 3_700)
        #expect(try await api.world.ledger.itemSubscription(agreement: id)?.subscription.anchor == now - 3_700)
        // Period 1 began a hundred seconds ago: the scheduler renews it, though the item was made after the
        // subscription's start (its renewals were never off; the demo found them skipped).
        let invoicer = AutoInvoicer(ledger: api.world.ledger, pricing: { chain in api.world.ingestor.pricing(chain: chain) }, logger: Logger(label: "test"))
        #expect(try await invoicer.runOnce(now: now).issued == 1)
        #expect(try await api.world.ledger.nativeInvoices(agreement: id).map(\.period) == [0, 1])
    }
}
