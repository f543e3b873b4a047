import Billing
import Hummingbird
import SettleCore
import Settlement

/// Ledger routes: charges (list, one with its attempts and history, retry) and agreements (list, create).
extension SettleAPI {
    func listCharges(_ request: Request) async throws -> Response {
        let query = QueryParameters(request)
        let states = try query.string("state").map { (text) throws(APIError) in try Self.chargeStates(text) }
        let limit = try query.limit()
        var charges = try await ledger.charges(states: states, afterID: try PageCursor.decodeInteger(query.string("cursor")), limit: limit + 1)
        let more = charges.count > limit
        if more { charges.removeLast() }
        var agreements: [Int64: Agreement] = [:]
        var data: [JSON] = []
        for charge in charges { data.append(try await chargeJSON(charge, agreements: &agreements)) }
        let next: JSON = more ? charges.last.map { .string(PageCursor.encode([String($0.id)])) } ?? .null : .null
        return JSONBody.response(.ok, ["data": .array(data), "next_cursor": next])
    }

    /// The `state` query parameter: a comma-separated list of charge states, at least one.
    static func chargeStates(_ text: String) throws(APIError) -> Set<ChargeState> {
        var parsed = Set<ChargeState>()
        for name in text.split(separator: ",") {
            guard let state = ChargeState(rawValue: String(name)) else {
                throw APIError.badRequest("'state' must be a comma-separated list of \(ChargeState.allCases.map(\.rawValue).joined(separator: ", ")) (got '\(name)')")
            }
            parsed.insert(state)
        }
        guard !parsed.isEmpty else { throw APIError.badRequest("'state' names no state (use e.g. state=due,awaiting_funds)") }
        return parsed
    }

    func charge(_ invoice: String?) async throws -> Response {
        guard let invoice, let charge = try await ledger.charge(invoice: invoice) else {
            throw APIError.notFound("no charge for invoice '\(invoice ?? "")'")
        }
        return JSONBody.response(.ok, try await chargeDetail(charge))
    }

    func retry(_ invoice: String?) async throws -> Response {
        guard let retrier else { throw APIError.unavailable("retries are not available in this process") }
        guard let invoice, !invoice.isEmpty else { throw APIError.badRequest("an invoice id is needed") }
        let charge: Charge?, findings: [String]
        do {
            (charge, findings) = try await retrier.retry(invoice: invoice)
        } catch let error as BillingError where error.code == .unavailable {
            throw APIError.unavailable(error.message)  // 503: Stripe could not be read, nothing was retried
        } catch let error as BillingError where error.code == .invalidInput {
            throw APIError.badRequest(error.message)
        }
        guard let charge else {
            throw APIError.notFound("no charge for invoice '\(invoice)'\(findings.isEmpty ? "" : ": " + findings.joined(separator: "; "))")
        }
        if charge.state.isTerminal {
            throw APIError.conflict("the charge of \(invoice) is \(charge.state.rawValue); there is nothing to retry")
        }
        return JSONBody.response(.accepted, try await chargeDetail(charge))
    }

    func chargeDetail(_ charge: Charge) async throws -> JSON {
        var agreements: [Int64: Agreement] = [:]
        guard case .object(var fields) = try await chargeJSON(charge, agreements: &agreements) else { return .null }
        let attempts: [JSON] = try await ledger.attempts(charge: charge.id).map { attempt in
            ["sequence": .number(String(attempt.sequence)), "chain": .string(attempt.chain), "signer": .string(attempt.signer),
             "transaction": .string(attempt.transactionID), "outcome": .string(attempt.outcome.rawValue),
             "nonce": attempt.nonce.map { .number(String($0)) } ?? .null, "blockhash": attempt.blockhash.map { .string($0) } ?? .null,
             "last_valid_height": attempt.lastValidHeight.map { .number(String($0)) } ?? .null,
             "block": attempt.block.map { .number(String($0)) } ?? .null, "sent_block": attempt.sentBlock.map { .number(String($0)) } ?? .null,
             "max_fee": attempt.maxFee.map { .string($0) } ?? .null, "priority_fee": attempt.priorityFee.map { .string($0) } ?? .null]
        }
        let history: [JSON] = try await ledger.history(charge.id).map { move in
            ["from": .string(move.from.rawValue), "to": .string(move.to.rawValue), "reason": move.reason.map { .string($0) } ?? .null]
        }
        fields.append(("attempts", .array(attempts)))
        fields.append(("history", .array(history)))
        return .object(fields)
    }

    func chargeJSON(_ charge: Charge, agreements: inout [Int64: Agreement]) async throws -> JSON {
        if agreements[charge.agreement] == nil { agreements[charge.agreement] = try await ledger.agreement(id: charge.agreement) }
        let agreement = agreements[charge.agreement]
        return [
            "invoice": .string(charge.invoice), "customer": agreement.map { .string($0.customer) } ?? .null,
            "subscription": agreement?.subscription.map { .string($0) } ?? .null,
            "chain": agreement.map { .string($0.chain) } ?? .null, "token": agreement.map { .string($0.token) } ?? .null,
            "wallet": agreement.map { .string($0.wallet) } ?? .null,
            "amount": .string(String(charge.amount.minorUnits)), "currency": .string(charge.amount.currency.code.lowercased()),
            "token_amount": .string(charge.tokenAmount.baseUnits.description), "decimals": .number(String(charge.tokenAmount.decimals)),
            "display": .string(AmountText.display(charge.tokenAmount.baseUnits, decimals: charge.tokenAmount.decimals)),
            "rate": .string(charge.rate.description), "state": .string(charge.state.rawValue), "reason": charge.reason.map { .string($0) } ?? .null,
            "due_at": .number(String(charge.dueAt)), "next_attempt_at": charge.nextAttemptAt.map { .number(String($0)) } ?? .null,
        ]
    }

    func listAgreements(_ request: Request) async throws -> Response {
        let query = QueryParameters(request)
        let limit = try query.limit()
        var rows = try await ledger.agreements(afterID: try PageCursor.decodeInteger(query.string("cursor")), limit: limit + 1)
        let more = rows.count > limit
        if more { rows.removeLast() }
        let next: JSON = more ? rows.last.map { .string(PageCursor.encode([String($0.id)])) } ?? .null : .null
        return JSONBody.response(.ok, ["data": .array(rows.map(Self.agreementJSON)), "next_cursor": next])
    }

    /// `POST /v1/agreements` `{"customer", "subscription"?, "chain", "token", "wallet"}`: records (or changes) who
    /// pays with which wallet, as Stripe metadata would. 201 with the agreement.
    func createAgreement(_ request: Request) async throws -> Response {
        let buffer: ByteBuffer
        do { buffer = try await request.body.collect(upTo: maxBodyBytes) } catch {
            throw APIError(.contentTooLarge, "too_large", "the body exceeds \(maxBodyBytes) bytes")
        }
        let body = try AgreementRequest(body: Array(buffer: buffer))
        let chain = try chain(body.chain)
        _ = try chain.decimals(of: body.token)
        let wallet = try chain.canonicalWallet(body.wallet)
        var item: Item?
        if let id = body.item {
            guard let found = try await ledger.item(id: id) else { throw APIError.notFound("no item '\(id)'") }
            // Checked before anything is written: a refused subscription leaves no agreement behind.
            guard found.active else { throw APIError.conflict("item \(id) is disabled: it takes no new agreements") }
            if let accepted = found.tokens, !accepted.contains(body.token.uppercased()) {
                throw APIError.badRequest("item \(id) is not paid in \(body.token.uppercased()) (accepted: \(accepted.joined(separator: ", ")))")
            }
            if let start = body.startsAt, let why = ItemBilling.refusal(start: start, item: found, now: now()) { throw APIError.badRequest(why) }
            item = found
        }
        let agreement = try await ledger.upsertAgreement(customer: body.customer, subscription: body.subscription, chain: chain.name,
                                                         token: body.token.uppercased(), wallet: wallet, now: now())
        guard let item else { return JSONBody.response(.created, Self.agreementJSON(agreement)) }
        let first = try await subscribe(agreement, to: item, start: body.startsAt)
        guard case .object(var members) = Self.agreementJSON(agreement) else { return JSONBody.response(.created, Self.agreementJSON(agreement)) }
        members.append(("item", .string(item.id)))
        members.append(("invoice", .string(first)))
        return JSONBody.response(.created, .object(members))
    }

    /// Subscribes the agreement to the item from now, and issues period 0's invoice due now (its charge is taken like
    /// any other); renewals follow at each period's end. Once: posting again names the same subscription and invoice.
    func subscribe(_ agreement: Agreement, to item: Item, start: UInt64? = nil) async throws -> String {
        guard let billing = itemBilling else { throw APIError.conflict("items are not billed by this daemon") }
        return try await billing.subscribeAnswering(agreement, to: item, start: start, now: now()).id
    }

    static func agreementJSON(_ agreement: Agreement) -> JSON {
        ["id": .number(String(agreement.id)), "customer": .string(agreement.customer), "subscription": agreement.subscription.map { .string($0) } ?? .null,
         "chain": .string(agreement.chain), "token": .string(agreement.token), "wallet": .string(agreement.wallet)]
    }
}
