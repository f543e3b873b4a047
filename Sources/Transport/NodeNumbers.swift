/// The bound on numbers a node reports that Settle stores and computes with: block numbers, slots, block heights,
/// timestamps, log indexes, gas used, transaction counts.
///
/// Settle keeps them in SQLite's signed 64-bit integers and adds ranges, margins and `+ 1` to them; in Swift an
/// `Int64(x)` past 2^63 - 1 or an overflowing `+` traps and stops every executor in the process. Real chains are
/// nowhere near the bound (a block per nanosecond reaches it in 146 years), so a larger number is a broken or lying
/// node: its answer is `RPCError.malformedResponse` (retried like any bad answer), never a trap.
public enum NodeNumbers {
    /// 2^62, half of what SQLite holds, leaving room for the arithmetic done on these numbers.
    public static let maximum: UInt64 = 1 << 62

    /// `value`, or `malformedResponse` naming `field` when it is past `maximum`.
    public static func checked(_ value: UInt64, _ field: String) throws(RPCError) -> UInt64 {
        guard value <= maximum else { throw .malformedResponse("\(field) is \(value), past 2^62: no chain is that far along") }
        return value
    }
}
