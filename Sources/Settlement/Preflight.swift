import SettleCore

/// What a wallet can pay right now: its balance and what it allows the merchant to pull.
public struct PaymentCapacity: Hashable, Sendable {
    /// Token base units the wallet holds (on Solana: in the payer's token account).
    public var balance: UInt256
    /// Base units the merchant may pull: the ERC-20 allowance to the spender, or the SPL delegated amount when the
    /// delegate is ours (zero otherwise).
    public var allowance: UInt256

    public init(balance: UInt256, allowance: UInt256) {
        self.balance = balance
        self.allowance = allowance
    }

    /// What stops a pull of `amount`: empty when it can go ahead.
    public func shortfall(for amount: UInt256) -> FundsShortfall {
        var shortfall: FundsShortfall = []
        if balance < amount { shortfall.insert(.lowBalance) }
        if allowance < amount { shortfall.insert(.lowAllowance) }
        return shortfall
    }
}

/// Reads a wallet's payment capacity live from its chain (a thin adapter per chain family, so the executor sees
/// chains only through this protocol).
public protocol CapacityReader: Sendable {
    /// Balance and allowance of `wallet` for `token` (both as the chain file names them), read live.
    func capacity(wallet: String, token: String) async throws -> PaymentCapacity
}
