import Settlement
import Hummingbird
import SettleCore

/// Wallet routes: allowances (current and history), balances, payment readiness, unsigned approvals.
extension SettleAPI {
    func allowances(_ request: Request, _ chainName: String?, _ wallet: String?) async throws -> Response {
        let chain = try chain(chainName)
        let wallet = try chain.canonicalWallet(wallet ?? "")
        let query = QueryParameters(request)
        let token = query.string("token")
        if let token { _ = try chain.decimals(of: token) }
        let page = try await chain.allowances(wallet: wallet, token: token, cursor: query.string("cursor"), limit: try query.limit())
        return JSONBody.response(.ok, [
            "chain": .string(chain.name), "wallet": .string(wallet), "spender": .string(chain.puller),
            "current": .array(page.current), "data": .array(page.history), "next_cursor": page.nextCursor.map { .string($0) } ?? .null,
        ])
    }

    func balances(_ chainName: String?, _ wallet: String?) async throws -> Response {
        let chain = try chain(chainName)
        let wallet = try chain.canonicalWallet(wallet ?? "")
        return JSONBody.response(.ok, ["chain": .string(chain.name), "wallet": .string(wallet), "data": .array(try await chain.balances(wallet: wallet))])
    }

    /// Whether `wallet` can pay `amount` now, read live: the balance, the allowance to our spender or delegate, and
    /// which of them is short — what a support agent needs when a customer upgrades: raise the allowance (the
    /// `approval` route builds the transaction), top up the wallet, or both.
    func readiness(_ request: Request, _ chainName: String?, _ wallet: String?) async throws -> Response {
        let chain = try chain(chainName)
        let wallet = try chain.canonicalWallet(wallet ?? "")
        let query = QueryParameters(request)
        let symbol = try query.required("token")
        let decimals = try chain.decimals(of: symbol)
        let amount = try query.amount()
        let capacity = try await chain.capacity.capacity(wallet: wallet, token: symbol)
        let shortfall = capacity.shortfall(for: amount)
        var short: [JSON] = []
        var reasons: [JSON] = []
        if shortfall.contains(.lowBalance) { short.append("balance"); reasons.append(.string(StopReason.lowBalance.rawValue)) }
        if shortfall.contains(.lowAllowance) { short.append("allowance"); reasons.append(.string(StopReason.lowAllowance.rawValue)) }
        // Enough of both: would the pull itself run? (The executor asks the same before signing.)
        var stop: PullStop?
        if shortfall.isEmpty { stop = try await chain.stopReason(wallet: wallet, token: symbol, amount: amount) }
        if let stop { reasons.append(.string(stop.reason.rawValue)) }
        var advice: String = switch (shortfall.contains(.lowBalance), shortfall.contains(.lowAllowance)) {
        case (false, false): "ready: the next charge of this amount can be pulled"
        case (false, true): "raise the allowance: ask the customer to sign a new approval (GET …/approval)"
        case (true, false): "top up: the wallet holds less than the amount"
        case (true, true): "top up the wallet and raise the allowance"
        }
        if let stop { advice = "not collectable now (\(stop.reason.rawValue)): \(stop.detail)" }
        func amountJSON(_ value: UInt256) -> JSON { ["amount": .string(value.description), "display": .string(AmountText.display(value, decimals: decimals))] }
        return JSONBody.response(.ok, [
            "chain": .string(chain.name), "wallet": .string(wallet), "token": .string(symbol.uppercased()), "decimals": .number(String(decimals)),
            "amount": .string(amount.description), "balance": amountJSON(capacity.balance), "allowance": amountJSON(capacity.allowance),
            "ready": .bool(shortfall.isEmpty && stop == nil), "short": .array(short), "reasons": .array(reasons), "advice": .string(advice),
        ])
    }

    func approval(_ request: Request, _ chainName: String?, _ wallet: String?) async throws -> Response {
        let chain = try chain(chainName)
        let wallet = try chain.canonicalWallet(wallet ?? "")
        let query = QueryParameters(request)
        let symbol = try query.required("token")
        _ = try chain.decimals(of: symbol)
        return JSONBody.response(.ok, try await chain.unsignedApproval(wallet: wallet, token: symbol, amount: try query.amount()))
    }
}
