import SettleCore

/// The pull that makes a treasury receive at least `amount` from a token that keeps a fee on every transfer — the
/// merchant's opt-in for fee-charging tokens (without it such a charge ends in `mismatch`). Pure integer math: the
/// smallest pull whose delivery covers the amount, so the customer never pays more than one base unit above what
/// the fee requires.
public enum GrossUp {
    /// How the token rounds its fee: EVM fee-on-transfer tokens usually floor it; Token-2022's TransferFee rounds up.
    public enum Rounding: Sendable { case floor, ceiling }

    /// The fee on a transfer of `value`.
    public static func fee(on value: UInt256, basisPoints: UInt16, rounding: Rounding, maximum: UInt256? = nil) throws(CoreError) -> UInt256 {
        let scaled = try value.checkedMultiplying(by: UInt256(UInt64(basisPoints)))
        let (quotient, remainder) = scaled.quotientAndRemainder(dividingBy: UInt256(UInt64(10_000)))
        var fee = rounding == .ceiling && remainder != .zero ? try quotient.checkedAdding(.one) : quotient
        if let maximum, fee > maximum { fee = maximum }
        return fee
    }

    /// The smallest pull `p` with `p - fee(p) >= amount`.
    /// - Throws: `CoreError` when the fee is 100% or the numbers overflow.
    public static func pull(for amount: UInt256, basisPoints: UInt16, rounding: Rounding, maximum: UInt256? = nil) throws(CoreError) -> UInt256 {
        guard basisPoints > 0 else { return amount }
        guard basisPoints < 10_000 else { throw CoreError(.overflow, "a 100% transfer fee can never deliver anything") }
        // p ≈ amount * 10000 / (10000 - bps), rounded up; then walk down while a smaller pull still delivers enough.
        let numerator = try amount.checkedMultiplying(by: UInt256(UInt64(10_000)))
        let denominator = UInt256(UInt64(10_000 - basisPoints))
        let (q, r) = numerator.quotientAndRemainder(dividingBy: denominator)
        var p = r == .zero ? q : try q.checkedAdding(.one)
        if let maximum, let capped = try? amount.checkedAdding(maximum), capped < p { p = capped }
        func delivers(_ value: UInt256) throws(CoreError) -> Bool { value - (try fee(on: value, basisPoints: basisPoints, rounding: rounding, maximum: maximum)) >= amount }
        while try !delivers(p) { p = try p.checkedAdding(.one) }
        while p > amount, try delivers(p - .one) { p = p - .one }
        return p
    }
}
