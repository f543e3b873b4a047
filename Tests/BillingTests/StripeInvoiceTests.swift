import Billing
import SettleCore
import Testing

@Suite("Stripe objects and agreement metadata: read exactly, refused precisely")
struct StripeInvoiceTests {
    static let base: JSON = [
        "id": "in_1", "object": "invoice", "customer": "cus_1", "subscription": "sub_1", "status": "open",
        "collection_method": "send_invoice", "amount_due": 2500, "amount_remaining": 2000, "currency": "usd",
        "due_date": 1_800_000_000, "created": 1_799_990_000, "status_transitions": ["finalized_at": 1_799_990_100],
        "metadata": ["a": "b"],
    ]

    func with(_ key: String, _ value: JSON?) -> JSON {
        guard case .object(var members) = Self.base else { return Self.base }
        members.removeAll { $0.key == key }
        if let value { members.append((key, value)) }
        return .object(members)
    }

    @Test("an open send_invoice invoice is read with its amount remaining, due date and metadata")
    func reads() throws {
        let invoice = try StripeInvoice(json: Self.base)
        #expect(invoice.id == "in_1" && invoice.customer == "cus_1" && invoice.subscription == "sub_1")
        #expect(invoice.status == .open && invoice.collectionMethod == .sendInvoice)
        #expect(invoice.amountRemaining == 2000 && invoice.amountDue == 2500 && invoice.currency.code == "USD")
        #expect(invoice.dueAt == 1_800_000_000 && invoice.metadata == ["a": "b"])
        #expect(try StripeInvoice(json: with("due_date", .null)).dueAt == 1_799_990_100)  // finalized_at
        #expect(try StripeInvoice(json: with("customer", ["id": "cus_9", "object": "customer"])).customer == "cus_9")
    }

    @Test("missing or mistyped fields are refused with the field's name", arguments: [
        ("object", JSON.string("charge"), "not an invoice"), ("status", "pending", "unknown status"),
        ("amount_due", "12", "amount_due"), ("amount_due", -5, "amount_due"), ("currency", "dollars", "currency"),
        ("collection_method", "barter", "collection_method"), ("due_date", "tomorrow", "due_date"), ("customer", nil, "customer"),
        ("amount_remaining", JSON.number("1.5"), "amount_remaining"), ("id", "", "id"),
        // Issue 14: ids go into request paths; an empty or path-like one is malformed (found by StripeFuzzTests).
        ("customer", "", "customer"), ("customer", ["id": ""], "customer"), ("customer", "cus_1/../../invoices", "customer"),
        ("subscription", "", "subscription"), ("subscription", "sub_1?expand[]=customer", "subscription"), ("id", "in_1/pay", "id"),
    ] as [(String, JSON?, String)])
    func refuses(key: String, value: JSON?, mention: String) {
        let error = #expect(throws: BillingError.self) { try StripeInvoice(json: with(key, value)) }
        #expect(error?.code == .malformed)
        #expect(error?.message.contains(mention) == true)
    }

    static let catalog = ChainCatalog(tokens: ["base": ["USDC": 6], "solana": ["USDC": 6]]) { chain, wallet in
        chain == "base" ? (wallet.count == 42 && wallet.hasPrefix("0x") ? wallet.lowercased() : nil) : (wallet.count >= 32 ? wallet : nil)
    }

    @Test("agreement metadata: all three keys, checked against the configured chains; partial or unknown is refused, absent is absent")
    func agreementTerms() {
        let wallet = "0x" + String(repeating: "Ab", count: 20)
        #expect(AgreementTerms.read([:], catalog: Self.catalog) == .absent)
        #expect(AgreementTerms.read(["other": "x"], catalog: Self.catalog) == .absent)
        #expect(AgreementTerms.read(["settle_chain": "base", "settle_token": "usdc", "settle_wallet": wallet], catalog: Self.catalog)
                == .terms(AgreementTerms(chain: "base", token: "USDC", wallet: wallet.lowercased(), decimals: 6)))
        guard case .invalid(let partial) = AgreementTerms.read(["settle_chain": "base"], catalog: Self.catalog) else { Issue.record("partial accepted"); return }
        #expect(partial.contains("settle_token") && partial.contains("settle_wallet"))
        guard case .invalid(let chain) = AgreementTerms.read(["settle_chain": "tron", "settle_token": "USDT", "settle_wallet": "T1"], catalog: Self.catalog)
        else { Issue.record("unknown chain accepted"); return }
        #expect(chain.contains("tron"))
        guard case .invalid = AgreementTerms.read(["settle_chain": "base", "settle_token": "DAI", "settle_wallet": wallet], catalog: Self.catalog)
        else { Issue.record("unknown token accepted"); return }
        guard case .invalid = AgreementTerms.read(["settle_chain": "base", "settle_token": "USDC", "settle_wallet": "0x12"], catalog: Self.catalog)
        else { Issue.record("bad wallet accepted"); return }
    }
}
