import EVM
import EVMIndexer
import SettleCore
import Settlement
import Transport

/// Asks the node to run a pull without sending it (`eth_estimateGas` of `transferFrom(payer, treasury, amount)` from
/// the spender) and turns a revert into a `StopReason`; shared by the executor (before signing) and the readiness
/// route (before the due date), so both say the same.
public struct EVMPullCheck: Sendable {
    public let node: EVMNode
    public let spender: EVMAddress
    public let treasury: EVMAddress

    public init(node: EVMNode, spender: EVMAddress, treasury: EVMAddress) {
        self.node = node
        self.spender = spender
        self.treasury = treasury
    }

    public enum Result: Sendable {
        /// It would run: the node's gas estimate.
        case runs(gas: UInt64)
        /// It would revert: why, and the node's message.
        case stops(StopReason, String)
    }

    /// - Throws: what is not a revert (transport faults, malformed answers): no conclusion.
    public func check(token: EVMAddress, payer: EVMAddress, amount: UInt256) async throws -> Result {
        let data = ERC20.transferFrom(from: payer, to: treasury, amount: amount)
        do {
            let estimate = try await node.estimateGas(from: spender, to: token, data: data)
            guard estimate <= EVMFees.credibleEstimate else {
                return .stops(.reverted, "the node estimates \(estimate) gas for a transferFrom, which is not credible; nothing is signed")
            }
            return .runs(gas: estimate)
        } catch {
            guard let message = error.revertMessage else { throw error }
            return .stops(StopReason.classify(revert: message, blocked: await blocklisted(token: token, payer: payer)), message)
        }
    }

    /// For a blocklist refusal: which of payer, treasury and spender the token lists, asked through
    /// `isBlocklisted(address)` or `isBlacklisted(address)` (USDC); nil where the token answers neither.
    func blocklisted(token: EVMAddress, payer: EVMAddress) async -> (payer: Bool?, treasury: Bool?, spender: Bool?) {
        func listed(_ who: EVMAddress) async -> Bool? {
            for signature in ["isBlocklisted(address)", "isBlacklisted(address)"] {
                let data = FunctionSelector(signature: signature).bytes + [UInt8](repeating: 0, count: 12) + who.bytes
                if let word = try? await node.call(to: token, data: data, block: .latest), word.count == 32 { return word[31] == 1 }
            }
            return nil
        }
        return (await listed(payer), await listed(treasury), await listed(spender))
    }
}
