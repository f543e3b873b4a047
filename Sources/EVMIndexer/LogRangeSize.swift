/// How many blocks the next `eth_getLogs` range spans: a pure decision, fed what the provider did with each range.
///
/// Doubles after a range the provider answered in full, up to `maximum` (`max_log_range`); shrinks to what the
/// provider takes when it refuses one (too many results, too large, too slow). The size it shrinks to becomes a
/// ceiling the range does not grow past at once — growing straight back would have every other range refused, each
/// refusal a round trip while the ranges behind it wait — and the ceiling rises by an eighth after `relaxAfter`
/// answered ranges at it, so sparser history further on gets longer ranges again.
public struct LogRangeSize: Equatable, Sendable {
    public let maximum: UInt64
    public private(set) var current: UInt64
    /// The largest size not known to be refused.
    public private(set) var ceiling: UInt64
    private var answeredAtCeiling = 0
    public static let relaxAfter = 16

    public init(maximum: UInt64, initial: UInt64 = 100) {
        self.maximum = max(1, maximum)
        self.current = min(self.maximum, max(1, initial))
        self.ceiling = self.maximum
    }

    /// A range of `size` blocks was answered.
    public mutating func answered(size: UInt64) {
        guard size >= current else { return }  // a short range (the end of history) says nothing about the size
        if current >= ceiling, ceiling < maximum {
            answeredAtCeiling += 1
            if answeredAtCeiling >= Self.relaxAfter {
                ceiling = min(maximum, ceiling + max(1, ceiling / 8))
                answeredAtCeiling = 0
            }
        }
        current = min(maximum, ceiling, current.multipliedReportingOverflow(by: 2).overflow ? maximum : current * 2)
    }

    /// A range of `size` blocks was refused; the next try spans `next` blocks (what the provider suggested, or half).
    public mutating func refused(size: UInt64, next: UInt64) {
        // The size it falls back to is the largest known to be answered (the provider's own suggestion, or half):
        // growing past it would have every other range refused again, each refusal a round trip on the critical path.
        ceiling = max(1, min(ceiling, size > 1 ? size - 1 : 1, next))
        current = max(1, min(next, ceiling))
        answeredAtCeiling = 0
    }
}
