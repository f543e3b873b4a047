import ChainAdapters
import SettleCore

/// The approval transactions a page hands the customer's wallet (checkout and portal alike), as `ApprovalPlan` says:
/// `{"transactions": [one approval]}`, or `{"transactions": [approve(0)], "then": "approve"}` when the token refuses to
/// change a standing allowance: the page sends that, waits until it is on chain, and asks again.
enum ApprovalTransactions {
    static func build(chain: any ChainView, wallet: String, token: String, amount: UInt256) async throws -> JSON {
        var current: UInt256 = .zero
        if chain.family == "evm", amount != .zero {
            current = try await chain.capacity.capacity(wallet: wallet, token: token.uppercased()).allowance
        }
        var refusal: APIError?
        var direct: JSON = .null
        do {
            direct = try await chain.unsignedApproval(wallet: wallet, token: token, amount: amount)
        } catch let error as APIError where error.status == .conflict {  // the node's estimate reverted: the token refuses it now
            refusal = error
        }
        switch ApprovalPlan.decide(family: chain.family, current: current, target: amount, directRefused: refusal != nil) {
        case .direct:
            return ["transactions": [direct]]
        case .zeroFirst:
            return ["transactions": [try await chain.unsignedApproval(wallet: wallet, token: token, amount: .zero)], "then": "approve"]
        case nil:
            throw refusal ?? APIError.conflict("\(token) refuses this approval now")
        }
    }
}
