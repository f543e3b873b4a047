import Billing
import Foundation
import Hummingbird
import SettleCore
import Settlement

/// `/v1/items`: what Settle bills by itself (no Stripe). An item is a subscription (an interval) or a one-time
/// payment, at a price, in some or all of the configured tokens; agreements subscribe to it and are renewed at each
/// period's end (`AutoInvoicer`).
extension SettleAPI {
    static func itemJSON(_ item: Item) -> JSON {
        [
            "id": .string(item.id), "name": .string(item.name), "kind": .string(item.kind.rawValue),
            "interval": item.intervalUnit.map { .string($0) } ?? .null, "interval_count": item.intervalCount.map { .number(String($0)) } ?? .null,
            "amount": .number(String(item.price.minorUnits)), "currency": .string(item.price.currency.code.lowercased()),
            "tokens": item.tokens.map { .array($0.map { .string($0) }) } ?? .null,
            "allowance_payments": item.allowancePayments.map { .number(String($0)) } ?? .null,
            "active": .bool(item.active), "auto_invoicing": .bool(item.autoInvoicing), "auto_invoicing_since": .number(String(item.autoInvoicingSince)),
            "created_at": .number(String(item.createdAt)),
        ]
    }

    /// `POST /v1/items` `{"id"?, "name", "kind", "interval"?, "interval_count"?, "amount", "currency", "tokens"?,
    /// "allowance_payments"?}` (admin): 201 with the item.
    func createItem(_ body: [UInt8]) async throws -> JSON {
        let item = try ItemRequest(body: body, configuredTokens: Set(chains.values.flatMap { $0.tokens.map(\.symbol) })).item(now: now())
        do { try await ledger.createItem(item) } catch let error as LedgerError where error.code == .conflict {
            throw APIError.conflict("item \(item.id) exists")
        }
        return Self.itemJSON(item)
    }

    /// `POST /v1/items/{id}` `{"active"?, "auto_invoicing"?}` (admin): disable or enable new agreements, turn renewals
    /// off or on (on again resumes at the next period boundary; nothing missed meanwhile is invoiced).
    func updateItem(_ id: String, _ body: [UInt8]) async throws -> JSON {
        let json: JSON
        do { json = try JSON(parsing: body) } catch { throw APIError.badRequest("the body is not JSON: \(error)") }
        guard case .object(let members) = json else { throw APIError.badRequest("the body must be a JSON object") }
        if let unknown = members.first(where: { !["active", "auto_invoicing"].contains($0.key) }) {
            throw APIError.badRequest("unknown field '\(unknown.key)' (fields: active, auto_invoicing)")
        }
        func flag(_ name: String) throws(APIError) -> Bool? {
            guard let value = json[name], !value.isNull else { return nil }
            guard case .bool(let on) = value else { throw APIError.badRequest("'\(name)' must be true or false") }
            return on
        }
        guard let item = try await ledger.updateItem(id, active: try flag("active"), autoInvoicing: try flag("auto_invoicing"), now: now()) else {
            throw APIError.notFound("no item '\(id)'")
        }
        return Self.itemJSON(item)
    }

    func getItem(_ id: String) async throws -> JSON {
        guard let item = try await ledger.item(id: id) else { throw APIError.notFound("no item '\(id)'") }
        return Self.itemJSON(item)
    }

    func listItems() async throws -> JSON {
        ["data": .array(try await ledger.items().map(Self.itemJSON))]
    }
}

/// A `POST /v1/items` body (or `settled items create`'s options, as that body), checked: every field named, typed and
/// in range, or a 400 saying which.
public struct ItemRequest: Sendable {
    var id: String?
    var name: String
    var kind: Item.Kind
    var interval: BillingInterval?
    var price: Money
    var tokens: [String]?
    var allowancePayments: UInt64?

    static let fields = ["id", "name", "kind", "interval", "interval_count", "amount", "currency", "tokens", "allowance_payments"]

    /// The item to store, created `now` (a generated id when the request names none).
    public func item(now: UInt64) -> Item {
        Item(id: id ?? "item_" + PageSession.randomToken().prefix(22), name: name, kind: kind, intervalUnit: interval?.unit.rawValue,
             intervalCount: interval?.count, price: price, tokens: tokens, allowancePayments: allowancePayments, autoInvoicingSince: now, createdAt: now)
    }

    public init(body: [UInt8], configuredTokens: Set<String>) throws(APIError) {
        let json: JSON
        do { json = try JSON(parsing: body) } catch { throw APIError.badRequest("the body is not JSON: \(error)") }
        guard case .object(let members) = json else { throw APIError.badRequest("the body must be a JSON object") }
        if let unknown = members.first(where: { !Self.fields.contains($0.key) }) {
            throw APIError.badRequest("unknown field '\(unknown.key)' (fields: \(Self.fields.joined(separator: ", ")))")
        }
        func text(_ name: String) throws(APIError) -> String? {
            guard let value = json[name], !value.isNull else { return nil }
            guard case .string(let string) = value else { throw APIError.badRequest("'\(name)' must be a string") }
            return string
        }
        func whole(_ name: String, _ range: ClosedRange<UInt64>) throws(APIError) -> UInt64? {
            guard let value = json[name], !value.isNull else { return nil }
            guard case .number(let digits) = value, let number = UInt64(digits), range.contains(number) else {
                throw APIError.badRequest("'\(name)' must be a whole number from \(range.lowerBound) to \(range.upperBound)")
            }
            return number
        }
        if let id = try text("id") {
            guard id.hasPrefix("item_"), (6...64).contains(id.utf8.count),
                  id.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5a) || ($0 >= 0x61 && $0 <= 0x7a) || $0 == 0x5f || $0 == 0x2d }) else {
                throw APIError.badRequest("'id' must be item_ followed by 1 to 59 letters, digits, _ or -")
            }
            self.id = id
        }
        guard let name = try text("name"), !name.isEmpty, name.count <= 200 else { throw APIError.badRequest("'name' is required (1 to 200 characters)") }
        self.name = name
        guard let kindText = try text("kind"), let kind = Item.Kind(rawValue: kindText) else {
            throw APIError.badRequest("'kind' must be subscription or one_time")
        }
        self.kind = kind
        let unitText = try text("interval")
        let count = try whole("interval_count", 1...87_600)
        switch kind {
        case .subscription:
            guard let unitText, let unit = BillingInterval.Unit(rawValue: unitText) else {
                throw APIError.badRequest("a subscription needs 'interval': hour, day, week, month or year")
            }
            do { interval = try BillingInterval(unit, count: UInt32(count ?? 1)) } catch { throw APIError.badRequest("'interval_count': \(error.message)") }
        case .oneTime:
            guard unitText == nil, count == nil else { throw APIError.badRequest("a one_time item has no 'interval' or 'interval_count'") }
        }
        guard let amount = try whole("amount", 1...UInt64(Int64.max)) else {
            throw APIError.badRequest("'amount' is required: the price in the currency's minor units (cents), a whole number above 0")
        }
        guard let code = try text("currency"), let currency = try? Currency(code: code) else {
            throw APIError.badRequest("'currency' must be a three-letter ISO 4217 code")
        }
        price = Money(minorUnits: amount, currency: currency)
        if let value = json["tokens"], !value.isNull {
            guard case .array(let list) = value, !list.isEmpty, list.count <= 32 else { throw APIError.badRequest("'tokens' must be a list of 1 to 32 token symbols") }
            var symbols: [String] = []
            for element in list {
                guard case .string(let symbol) = element, configuredTokens.contains(symbol.uppercased()) else {
                    throw APIError.badRequest("'tokens' must name configured tokens (\(configuredTokens.sorted().joined(separator: ", ")))")
                }
                if !symbols.contains(symbol.uppercased()) { symbols.append(symbol.uppercased()) }
            }
            tokens = symbols
        }
        allowancePayments = try whole("allowance_payments", 1...1_000)
    }
}

extension ItemBilling {
    /// `subscribe` for an API request (an agreement or a checkout): a disabled item, an agreement on another item or a
    /// price that cannot be converted is the client's 409.
    func subscribeAnswering(_ agreement: Agreement, to item: Item, start: UInt64? = nil, now: UInt64) async throws -> NativeInvoice {
        do { return try await subscribe(agreement, to: item, start: start, now: now) } catch let error as LedgerError
            where error.code == .conflict || error.code == .invalidInput {
            throw APIError.conflict(error.message)
        }
    }
}

/// `/v1/invoices`: the invoices Settle issued itself (ids `sinv_<agreement>_<period>`), each with its charge, which
/// moves like a Stripe invoice's (due, pulled, final, dunning, merchant webhooks).
extension SettleAPI {
    /// The item billing this daemon does; nil when it bills no items.
    var itemBilling: ItemBilling? { itemPricing.map { ItemBilling(ledger: ledger, pricing: $0) } }

    func invoiceJSON(_ invoice: NativeInvoice, agreements: inout [Int64: Agreement]) async throws -> JSON {
        // Issued in one transaction with its invoice: a missing charge is a damaged database, not an answer.
        guard let charge = try await ledger.charge(invoice: invoice.id) else {
            throw APIError(.internalServerError, "internal", "invoice \(invoice.id) has no charge")
        }
        let paid = charge.state == .settled || charge.state == .reported
        let chargeJSON = try await self.chargeJSON(charge, agreements: &agreements)
        return [
            "id": .string(invoice.id), "agreement": .number(String(invoice.agreement)), "item": .string(invoice.item),
            "period": .number(String(invoice.period)), "amount": .number(String(invoice.amount.minorUnits)),
            "currency": .string(invoice.amount.currency.code.lowercased()), "due_at": .number(String(invoice.dueAt)), "paid": .bool(paid),
            "charge": chargeJSON,
        ]
    }

    /// `GET /v1/invoices?agreement=&limit=&cursor=`: native invoices in (agreement, period) order.
    func listInvoices(_ request: Request) async throws -> Response {
        let query = QueryParameters(request)
        let limit = try query.limit()
        var only: Int64?
        if let text = query.query["agreement"] {  // present but empty is not an id either
            guard let id = Int64(text), id > 0 else { throw APIError.badRequest("'agreement' must be an agreement id (a positive integer), got '\(text)'") }
            only = id
        }
        var after: (agreement: Int64, period: UInt64)?
        if let parts = try PageCursor.decode(query.string("cursor"), parts: 2) {
            guard let agreement = Int64(parts[0]), let period = UInt64(parts[1]), period <= UInt64(Int64.max) else {
                throw APIError.badRequest("'cursor' is not a cursor this API returned")
            }
            after = (agreement, period)
        }
        var rows = try await ledger.nativeInvoices(after: after, agreement: only, limit: limit + 1)
        let more = rows.count > limit
        if more { rows.removeLast() }
        var agreements: [Int64: Agreement] = [:]
        var data: [JSON] = []
        for invoice in rows { data.append(try await invoiceJSON(invoice, agreements: &agreements)) }
        let next: JSON = more ? rows.last.map { .string(PageCursor.encode([String($0.agreement), String($0.period)])) } ?? .null : .null
        return JSONBody.response(.ok, ["data": .array(data), "next_cursor": next])
    }

    func getInvoice(_ id: String) async throws -> JSON {
        guard NativeInvoice.isNative(id), id.utf8.count <= 64, let invoice = try await ledger.nativeInvoice(id: id) else {
            throw APIError.notFound("no invoice '\(id.prefix(80))' (Settle's own invoices are sinv_…; Stripe's are under /v1/charges)")
        }
        var agreements: [Int64: Agreement] = [:]
        return try await invoiceJSON(invoice, agreements: &agreements)
    }

    /// `POST /v1/invoices` `{"agreement", "period"}` (admin): issues one period of an agreement on an item on request —
    /// a period that ended while auto-invoicing was off (the scheduler never back-fills), or one the scheduler has not
    /// reached yet because it has begun only now. 201 when issued, 200 when it already was (the same invoice).
    func createInvoice(_ body: [UInt8]) async throws -> Response {
        let json: JSON
        do { json = try JSON(parsing: body) } catch { throw APIError.badRequest("the body is not JSON: \(error)") }
        guard case .object(let members) = json else { throw APIError.badRequest("the body must be a JSON object") }
        if let unknown = members.first(where: { !["agreement", "period"].contains($0.key) }) {
            throw APIError.badRequest("unknown field '\(unknown.key)' (fields: agreement, period)")
        }
        guard case .number(let agreementText)? = json["agreement"], let agreementID = Int64(agreementText), agreementID > 0 else {
            throw APIError.badRequest("'agreement' is required: an agreement id (a positive integer)")
        }
        guard case .number(let periodText)? = json["period"], let period = UInt64(periodText), period <= UInt64(Int64.max) else {
            throw APIError.badRequest("'period' is required: a period index (0 is the first payment)")
        }
        guard let billing = itemBilling else { throw APIError.conflict("items are not billed by this daemon") }
        let issued: (invoice: NativeInvoice, created: Bool)
        do { issued = try await billing.issueOnRequest(agreement: agreementID, period: period, now: now()) } catch let error as LedgerError {
            switch error.code {
            case .notFound: throw APIError.notFound(error.message)
            case .conflict, .invalidInput: throw APIError.conflict(error.message)
            default: throw error
            }
        }
        if issued.created { logger.notice("invoice issued on request", metadata: ["invoice.id": "\(issued.invoice.id)", "period": "\(period)"]) }
        var agreements: [Int64: Agreement] = [:]
        return JSONBody.response(issued.created ? .created : .ok, try await invoiceJSON(issued.invoice, agreements: &agreements))
    }
}
