import EVM
import EVMIndexer
import SettleCore
import Solana
import SolanaIndexer

/// What a customer's approval transaction proves, read from the chain's own record of it (an EVM receipt, a fetched
/// Solana transaction) and never from what a page says: which wallet now lets our puller take how much of which token.
/// A checkout records the agreement with this wallet, so nobody can name a wallet that is not theirs.
public struct ApprovalProof: Hashable, Sendable {
    /// The paying wallet: the approval's owner (EIP-55 checksummed, or base58).
    public var wallet: String
    /// The token's symbol (upper case).
    public var token: String
    /// The allowance (EVM) or delegated amount (Solana) the transaction set, in base units.
    public var amount: UInt256
    /// The block or slot it is in.
    public var position: UInt64

    public init(wallet: String, token: String, amount: UInt256, position: UInt64) {
        self.wallet = wallet
        self.token = token
        self.amount = amount
        self.position = position
    }
}

/// The decision on one approval transaction.
public enum ApprovalVerdict: Hashable, Sendable {
    /// The chain shows the approval.
    case proven(ApprovalProof)
    /// Not in a block yet (or the node does not have it yet): look again.
    case pending
    /// In a block, but it proves no usable approval; the text says why (for the customer).
    case refused(String)
}

/// EVM: the last `Approval(owner, spender, value)` that the token's own contract logged for our spender in a
/// successful transaction. The owner is the wallet; `value` must cover `minimum` (the first payment).
public enum EVMApprovalRule {
    /// - Parameter revoke: the transaction should set the allowance to zero (a customer stopping payments): proven
    ///   with amount 0 when it did, refused otherwise.
    public static func verdict(receipt: EVMReceipt?, token symbol: String, tokenAddress: EVMAddress, spender: EVMAddress,
                               minimum: UInt256, revoke: Bool = false) -> ApprovalVerdict {
        let symbol = symbol.uppercased()
        guard let receipt else { return .pending }
        guard receipt.succeeded else { return .refused("the transaction reverted: nothing was approved") }
        var last: (owner: EVMAddress, value: UInt256, index: UInt64)?
        for log in receipt.logs where log.address == tokenAddress && !log.removed && log.topics.first == ERC20.approvalTopic {
            guard case .approval(let owner, let to, let value)? = try? ERC20Event(topics: log.topics, data: log.data), to == spender else { continue }
            if last == nil || log.logIndex >= last!.index { last = (owner, value, log.logIndex) }  // swiftlint:disable:this force_unwrapping
        }
        guard let approval = last else {
            return .refused("the transaction holds no approval of \(symbol) to \(spender.checksummed)")
        }
        if revoke {
            guard approval.value == .zero else { return .refused("the transaction approved \(approval.value) base units: it is not a revoke") }
            return .proven(ApprovalProof(wallet: approval.owner.checksummed, token: symbol, amount: .zero, position: receipt.blockNumber))
        }
        guard approval.value >= minimum, approval.value > .zero else {
            return .refused(approval.value == .zero
                ? "the transaction set the allowance to 0 (a revoke), not an approval"
                : "the approval of \(approval.value) base units is less than the first payment (\(minimum))")
        }
        return .proven(ApprovalProof(wallet: approval.owner.checksummed, token: symbol, amount: approval.value, position: receipt.blockNumber))
    }
}

/// Solana: an `Approve`/`ApproveChecked` of our delegate on the owner's associated token account of the mint (the
/// account the executor pulls from), in a transaction that did not fail. The owner is the wallet; the delegated amount
/// must cover `minimum`. The last such instruction wins (a transaction may revoke and approve again).
public enum SolanaApprovalRule {
    public static func verdict(transaction: FetchedSolanaTransaction?, token symbol: String, mint: SolanaPublicKey, program: TokenProgram,
                               delegate: SolanaPublicKey, minimum: UInt64, revoke: Bool = false) -> ApprovalVerdict {
        let symbol = symbol.uppercased()
        guard let transaction else { return .pending }
        guard !transaction.failed else { return .refused("the transaction failed: nothing was approved") }
        var last: TokenEvent?
        for event in TokenEvent.decode(transaction) where event.kind == .approve || event.kind == .revoke {
            // The account must be the owner's associated token account of this mint: the address pins both.
            guard let expected = try? SolanaPublicKey.associatedTokenAddress(wallet: event.authority, mint: mint, tokenProgram: program),
                  expected == event.source else { continue }
            if event.kind == .revoke || event.counterparty == delegate { last = event }
        }
        guard let approval = last else {
            return .refused("the transaction holds no approval of \(symbol) to \(delegate) on the wallet's \(symbol) account")
        }
        if revoke {
            guard approval.kind == .revoke else { return .refused("the transaction delegated \(approval.amount) base units: it is not a revoke") }
            return .proven(ApprovalProof(wallet: approval.authority.description, token: symbol, amount: .zero, position: transaction.slot))
        }
        guard approval.kind == .approve, approval.amount > 0 else { return .refused("the transaction revoked the delegation, not an approval") }
        guard approval.amount >= minimum else {
            return .refused("the approval of \(approval.amount) base units is less than the first payment (\(minimum))")
        }
        return .proven(ApprovalProof(wallet: approval.authority.description, token: symbol, amount: UInt256(approval.amount),
                                     position: transaction.slot))
    }
}

/// How a wallet moves its allowance to a new amount. Most tokens take one approval of the new amount. Some (USDT on
/// Ethereum is the known one) refuse to set a non-zero allowance while another non-zero one stands: there the wallet
/// signs `approve(0)` first and, once that is on chain, the approval of the new amount, each built and estimated
/// against the chain as it is then (built together, the second one's gas would be estimated against the old allowance:
/// a revert for such a token, too little gas for a zero-to-non-zero write in any token).
public enum ApprovalPlan: Hashable, Sendable {
    /// Sign the approval of the new amount.
    case direct
    /// Sign `approve(0)`; once it is on chain, ask again for the approval of the new amount.
    case zeroFirst

    /// - Parameters:
    ///   - current: the allowance the chain shows now.
    ///   - directRefused: the node's estimate of the direct approval reverted (the token refuses it now).
    /// - Returns: nil when the token refuses the direct approval for another reason than a standing allowance.
    public static func decide(family: String, current: UInt256, target: UInt256, directRefused: Bool) -> ApprovalPlan? {
        guard directRefused else { return .direct }
        return family == "evm" && current != .zero && target != .zero ? .zeroFirst : nil
    }
}
