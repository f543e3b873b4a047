import Billing
import Hummingbird
import SettleCore
import Settlement

/// Ledger routes: charges (list, one with its attempts and history, retry) and agreements (list, create).
extension SettleAPI {
    func listCharges(_ request: Request) async throws -> Response {
        let query = QueryParameters(request)
        var states: Set<ChargeState>?
        if let text = query.string("state") {
            var parsed = Set<ChargeState>()
            for name in text.split(separator: ",") {
                guard let state = ChargeState(rawValue: String(name)) else {
                    throw APIError.badRequest("'state' must be a comma-separated list of \(ChargeState.allCases.map(\.rawValue).joined(separator: ", ")) (got '\(name)')")
                }
                parsed.insert(state)
            }
            guard !parsed.isEmpty else { throw APIError.badRequest("'state' names no state (use e.g. state=due,awaiting_funds)") }
            states = parsed
        }
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
        let body: JSON
        do { body = try JSON(parsing: Array(buffer: buffer)) } catch { throw APIError.badRequest("the body is not JSON: \(error)") }
        guard case .object(let fields) = body else { throw APIError.badRequest("the body must be a JSON object") }
        var seen = Set<String>()
        for (key, _) in fields where !seen.insert(key).inserted {
            throw APIError.badRequest("field '\(key)' appears twice (send each field once)")
        }
        let known: Set<String> = ["customer", "subscription", "chain", "token", "wallet"]
        if let unknown = fields.first(where: { !known.contains($0.key) }) {
            throw APIError.badRequest("unknown field '\(unknown.key)' (fields: \(known.sorted().joined(separator: ", ")))")
        }
        func field(_ name: String, required: Bool = true) throws(APIError) -> String? {
            guard let value = body[name], !value.isNull else {
                if required { throw .badRequest("field '\(name)' is required") }
                return nil
            }
            guard let text = value.stringValue, !text.isEmpty else { throw .badRequest("field '\(name)' must be a non-empty string") }
            return text
        }
        // Stripe ids: what Stripe would never have named is refused, not stored (billing matches agreements by them).
        func stripeID(_ name: String, required: Bool = true) throws(APIError) -> String? {
            guard let text = try field(name, required: required) else { return nil }
            do { return try StripeID.checked(text, "\(name) id") } catch { throw .badRequest("field '\(name)': \(error.message)") }
        }
        let customer = try stripeID("customer") ?? ""
        let subscription = try stripeID("subscription", required: false)
        let chain = try chain(try field("chain"))
        let symbol = try field("token") ?? ""
        _ = try chain.decimals(of: symbol)
        let wallet = try chain.canonicalWallet(try field("wallet") ?? "")
        let agreement = try await ledger.upsertAgreement(customer: customer, subscription: subscription, chain: chain.name,
                                                         token: symbol.uppercased(), wallet: wallet, now: now())
        return JSONBody.response(.created, Self.agreementJSON(agreement))
    }

    static func agreementJSON(_ agreement: Agreement) -> JSON {
        ["id": .number(String(agreement.id)), "customer": .string(agreement.customer), "subscription": agreement.subscription.map { .string($0) } ?? .null,
         "chain": .string(agreement.chain), "token": .string(agreement.token), "wallet": .string(agreement.wallet)]
    }
}
