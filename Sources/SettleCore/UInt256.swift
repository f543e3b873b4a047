/// A 256-bit unsigned integer held inline in two `UInt128` limbs (no heap), as EVM words and token amounts need.
///
/// Arithmetic operators trap on overflow like Swift's integers; money code uses the `…ReportingOverflow`
/// forms or the throwing `checked…` helpers instead. Parsing from outside input throws `CoreError`.
public struct UInt256: Hashable, Sendable, Comparable {
    /// The most significant 128 bits.
    public var high: UInt128
    /// The least significant 128 bits.
    public var low: UInt128

    /// Creates a value from its two limbs.
    @inlinable
    public init(high: UInt128, low: UInt128) {
        self.high = high
        self.low = low
    }

    /// Creates a value from a smaller unsigned integer.
    @inlinable
    public init<T: UnsignedInteger & FixedWidthInteger>(_ value: T) {
        precondition(T.bitWidth <= 128, "use init(high:low:) for wider values")
        self.high = 0
        self.low = UInt128(value)
    }

    public static let zero = UInt256(high: 0, low: 0)
    public static let one = UInt256(high: 0, low: 1)
    public static let max = UInt256(high: .max, low: .max)

    public var isZero: Bool { high == 0 && low == 0 }

    public static func < (lhs: UInt256, rhs: UInt256) -> Bool {
        lhs.high != rhs.high ? lhs.high < rhs.high : lhs.low < rhs.low
    }

    /// Number of leading zero bits (256 for zero).
    public var leadingZeroBitCount: Int {
        high != 0 ? high.leadingZeroBitCount : 128 + low.leadingZeroBitCount
    }

    /// Number of significant bits (0 for zero).
    public var bitLength: Int { 256 - leadingZeroBitCount }

    /// The value as a `UInt64`, or nil when it does not fit.
    public var exactUInt64: UInt64? {
        high == 0 && low <= UInt128(UInt64.max) ? UInt64(low) : nil
    }

    /// The value as a `UInt128`, or nil when it does not fit.
    public var exactUInt128: UInt128? { high == 0 ? low : nil }
}

// MARK: - Arithmetic

extension UInt256 {
    public func addingReportingOverflow(_ other: UInt256) -> (partialValue: UInt256, overflow: Bool) {
        let (lo, c1) = low.addingReportingOverflow(other.low)
        let (hi1, c2) = high.addingReportingOverflow(other.high)
        let (hi, c3) = hi1.addingReportingOverflow(c1 ? 1 : 0)
        return (UInt256(high: hi, low: lo), c2 || c3)
    }

    public func subtractingReportingOverflow(_ other: UInt256) -> (partialValue: UInt256, overflow: Bool) {
        let (lo, b1) = low.subtractingReportingOverflow(other.low)
        let (hi1, b2) = high.subtractingReportingOverflow(other.high)
        let (hi, b3) = hi1.subtractingReportingOverflow(b1 ? 1 : 0)
        return (UInt256(high: hi, low: lo), b2 || b3)
    }

    public func multipliedReportingOverflow(by other: UInt256) -> (partialValue: UInt256, overflow: Bool) {
        // (aH·2^128 + aL)(bH·2^128 + bL) mod 2^256 = aL·bL + (aH·bL + aL·bH)·2^128
        let ll = low.multipliedFullWidth(by: other.low)
        let (hl, o1) = high.multipliedReportingOverflow(by: other.low)
        let (lh, o2) = low.multipliedReportingOverflow(by: other.high)
        let (cross, o3) = hl.addingReportingOverflow(lh)
        let (hi, o4) = ll.high.addingReportingOverflow(cross)
        let overflow = (high != 0 && other.high != 0) || o1 || o2 || o3 || o4
        return (UInt256(high: hi, low: ll.low), overflow)
    }

    /// Quotient and remainder; `divisor` must be non-zero.
    public func quotientAndRemainder(dividingBy divisor: UInt256) -> (quotient: UInt256, remainder: UInt256) {
        precondition(!divisor.isZero, "division by zero")
        if self < divisor { return (.zero, self) }
        if high == 0 && divisor.high == 0 {
            return (UInt256(low / divisor.low), UInt256(low % divisor.low))
        }
        // Shift-subtract long division over the significant bits only.
        var quotient = UInt256.zero
        var remainder = UInt256.zero
        var bit = bitLength - 1
        while bit >= 0 {
            remainder = remainder << 1
            if self.bit(bit) { remainder.low |= 1 }
            if remainder >= divisor {
                remainder = remainder.subtractingReportingOverflow(divisor).partialValue
                quotient.setBit(bit)
            }
            bit -= 1
        }
        return (quotient, remainder)
    }

    /// Quotient and remainder by a 64-bit divisor (the fast path of decimal formatting).
    public func quotientAndRemainder(dividingBy divisor: UInt64) -> (quotient: UInt256, remainder: UInt64) {
        precondition(divisor != 0, "division by zero")
        let d = UInt128(divisor)
        let qh = high / d
        let rh = high % d
        // (rh·2^128 + low) / d with rh < d ≤ 2^64: split low into two 64-bit halves.
        let lowHi = low >> 64
        let lowLo = low & UInt128(UInt64.max)
        let part1 = (rh << 64) | lowHi
        let q1 = part1 / d
        let r1 = part1 % d
        let part2 = (r1 << 64) | lowLo
        let q2 = part2 / d
        let r2 = part2 % d
        return (UInt256(high: qh, low: (q1 << 64) | q2), UInt64(r2))
    }

    @inlinable
    public func bit(_ index: Int) -> Bool {
        index >= 128 ? (high >> UInt128(index - 128)) & 1 == 1 : (low >> UInt128(index)) & 1 == 1
    }

    @inlinable
    public mutating func setBit(_ index: Int) {
        if index >= 128 { high |= 1 << UInt128(index - 128) } else { low |= 1 << UInt128(index) }
    }

    public static func + (lhs: UInt256, rhs: UInt256) -> UInt256 {
        let r = lhs.addingReportingOverflow(rhs)
        precondition(!r.overflow, "UInt256 addition overflow")
        return r.partialValue
    }

    public static func - (lhs: UInt256, rhs: UInt256) -> UInt256 {
        let r = lhs.subtractingReportingOverflow(rhs)
        precondition(!r.overflow, "UInt256 subtraction underflow")
        return r.partialValue
    }

    public static func * (lhs: UInt256, rhs: UInt256) -> UInt256 {
        let r = lhs.multipliedReportingOverflow(by: rhs)
        precondition(!r.overflow, "UInt256 multiplication overflow")
        return r.partialValue
    }

    public static func / (lhs: UInt256, rhs: UInt256) -> UInt256 { lhs.quotientAndRemainder(dividingBy: rhs).quotient }
    public static func % (lhs: UInt256, rhs: UInt256) -> UInt256 { lhs.quotientAndRemainder(dividingBy: rhs).remainder }

    /// Sum, or `CoreError.overflow`.
    public func checkedAdding(_ other: UInt256) throws(CoreError) -> UInt256 {
        let r = addingReportingOverflow(other)
        if r.overflow { throw CoreError(.overflow, "sum exceeds 2^256-1") }
        return r.partialValue
    }

    /// Difference, or `CoreError.overflow` when `other` is larger.
    public func checkedSubtracting(_ other: UInt256) throws(CoreError) -> UInt256 {
        let r = subtractingReportingOverflow(other)
        if r.overflow { throw CoreError(.overflow, "difference is negative") }
        return r.partialValue
    }

    /// Product, or `CoreError.overflow`.
    public func checkedMultiplying(by other: UInt256) throws(CoreError) -> UInt256 {
        let r = multipliedReportingOverflow(by: other)
        if r.overflow { throw CoreError(.overflow, "product exceeds 2^256-1") }
        return r.partialValue
    }

    public static func << (lhs: UInt256, rhs: Int) -> UInt256 {
        if rhs <= 0 { return rhs == 0 ? lhs : lhs >> -rhs }
        if rhs >= 256 { return .zero }
        if rhs >= 128 { return UInt256(high: lhs.low << UInt128(rhs - 128), low: 0) }
        return UInt256(high: (lhs.high << UInt128(rhs)) | (lhs.low >> UInt128(128 - rhs)), low: lhs.low << UInt128(rhs))
    }

    public static func >> (lhs: UInt256, rhs: Int) -> UInt256 {
        if rhs <= 0 { return rhs == 0 ? lhs : lhs << -rhs }
        if rhs >= 256 { return .zero }
        if rhs >= 128 { return UInt256(high: 0, low: lhs.high >> UInt128(rhs - 128)) }
        return UInt256(high: lhs.high >> UInt128(rhs), low: (lhs.low >> UInt128(rhs)) | (lhs.high << UInt128(128 - rhs)))
    }

    /// 10^exponent, or `CoreError.overflow` past 10^77.
    public static func powerOfTen(_ exponent: Int) throws(CoreError) -> UInt256 {
        guard exponent >= 0 && exponent <= 77 else {
            throw CoreError(.overflow, "10^\(exponent) does not fit 256 bits")
        }
        var value = UInt256.one
        for _ in 0..<exponent { value = value * UInt256(UInt64(10)) }
        return value
    }
}

// MARK: - Bytes

extension UInt256 {
    /// Reads a big-endian integer of at most 32 bytes (shorter input is left-padded with zeros).
    /// - Throws: `CoreError.overflow` for more than 32 bytes.
    @inlinable
    public init<Bytes: Collection>(bigEndian bytes: Bytes) throws(CoreError) where Bytes.Element == UInt8 {
        guard bytes.count <= 32 else {
            throw CoreError(.overflow, "\(bytes.count) bytes do not fit a 256-bit integer")
        }
        var high: UInt128 = 0
        var low: UInt128 = 0
        for byte in bytes {
            high = (high << 8) | (low >> 120)
            low = (low << 8) | UInt128(byte)
        }
        self.init(high: high, low: low)
    }

    /// Reads exactly 32 big-endian bytes at `offset` of `buffer` (the caller guarantees they are there): the fast
    /// path for ABI words and log data.
    @inlinable
    public init(loadingBigEndian buffer: UnsafeRawBufferPointer, at offset: Int = 0) {
        let hi = buffer.loadUnaligned(fromByteOffset: offset, as: (UInt64, UInt64).self)
        let lo = buffer.loadUnaligned(fromByteOffset: offset + 16, as: (UInt64, UInt64).self)
        self.init(
            high: UInt128(UInt64(bigEndian: hi.0)) << 64 | UInt128(UInt64(bigEndian: hi.1)),
            low: UInt128(UInt64(bigEndian: lo.0)) << 64 | UInt128(UInt64(bigEndian: lo.1)))
    }

    /// Calls `body` with the 32-byte big-endian form in stack memory (no allocation).
    @inlinable
    public func withBigEndianBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        let words = (UInt64(truncatingIfNeeded: high >> 64).bigEndian, UInt64(truncatingIfNeeded: high).bigEndian,
                     UInt64(truncatingIfNeeded: low >> 64).bigEndian, UInt64(truncatingIfNeeded: low).bigEndian)
        return try withUnsafeBytes(of: words) { (raw) throws(E) -> R in try body(raw) }
    }

    /// The 32-byte big-endian form.
    public var bigEndianBytes: [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        writeBigEndian(into: &out, at: 0)
        return out
    }

    /// Writes the 32-byte big-endian form at `offset`.
    @inlinable
    public func writeBigEndian(into buffer: inout [UInt8], at offset: Int) {
        var h = high
        var l = low
        for i in stride(from: 15, through: 0, by: -1) {
            buffer[offset + i] = UInt8(truncatingIfNeeded: h)
            buffer[offset + 16 + i] = UInt8(truncatingIfNeeded: l)
            h >>= 8
            l >>= 8
        }
    }

    /// The big-endian form without leading zero bytes (empty for zero), as RLP encodes integers.
    public var minimalBigEndianBytes: [UInt8] {
        let skip = leadingZeroBitCount / 8
        return Array(bigEndianBytes[skip...])
    }
}

// MARK: - Text

extension UInt256: CustomStringConvertible, LosslessStringConvertible {
    /// Decimal digits.
    public var description: String {
        if high == 0 { return low.description }
        var digits: [UInt8] = []
        var value = self
        while !value.isZero {
            let (q, r) = value.quotientAndRemainder(dividingBy: 10_000_000_000_000_000_000 as UInt64)
            var chunk = r
            for _ in 0..<19 {
                digits.append(UInt8(ascii: "0") + UInt8(chunk % 10))
                chunk /= 10
            }
            value = q
        }
        while digits.count > 1 && digits.last == UInt8(ascii: "0") { digits.removeLast() }
        return String(decoding: digits.reversed(), as: UTF8.self)
    }

    /// Parses decimal digits, returning nil on any error (see `init(decimal:)` for the reason).
    public init?(_ description: String) {
        guard let value = try? UInt256(decimal: description) else { return nil }
        self = value
    }

    /// Parses a decimal string of ASCII digits (no sign, no separators).
    /// - Throws: `CoreError.invalidDecimal` or `.overflow`.
    public init(decimal string: some StringProtocol) throws(CoreError) {
        let utf8 = string.utf8
        guard !utf8.isEmpty else { throw CoreError(.invalidDecimal, "empty decimal string") }
        var value = UInt256.zero
        let ten = UInt256(UInt64(10))
        for (offset, c) in utf8.enumerated() {
            guard c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") else {
                throw CoreError(.invalidDecimal, "not a decimal digit", offset: offset)
            }
            let m = value.multipliedReportingOverflow(by: ten)
            let a = m.partialValue.addingReportingOverflow(UInt256(c - UInt8(ascii: "0")))
            guard !m.overflow && !a.overflow else {
                throw CoreError(.overflow, "decimal value exceeds 2^256-1")
            }
            value = a.partialValue
        }
        self = value
    }

    /// Parses a `0x`-prefixed (or bare) hex quantity of at most 64 digits.
    /// - Throws: `CoreError.invalidHexCharacter`, `.invalidDecimal` for an empty string, or `.overflow`.
    public init(hex string: some StringProtocol) throws(CoreError) {
        var utf8 = Substring(string).utf8[...]
        if utf8.count >= 2, utf8.first == UInt8(ascii: "0"),
           utf8[utf8.index(after: utf8.startIndex)] == UInt8(ascii: "x") || utf8[utf8.index(after: utf8.startIndex)] == UInt8(ascii: "X") {
            utf8 = utf8.dropFirst(2)
        }
        guard !utf8.isEmpty else { throw CoreError(.invalidDecimal, "empty hex quantity") }
        var significant = utf8.drop(while: { $0 == UInt8(ascii: "0") })
        guard significant.count <= 64 else { throw CoreError(.overflow, "hex quantity exceeds 256 bits") }
        var value = UInt256.zero
        var offset = 0
        while let c = significant.popFirst() {
            guard let n = Hex.nibble(c) else {
                throw CoreError(.invalidHexCharacter, "not a hex digit", offset: offset)
            }
            value = (value << 4)
            value.low |= UInt128(n)
            offset += 1
        }
        self = value
    }

    /// Minimal `0x` hex (`0x0` for zero), the JSON-RPC quantity form.
    public var hexQuantity: String {
        if isZero { return "0x0" }
        let hex = Hex.encode(minimalBigEndianBytes)
        let trimmed = hex.drop(while: { $0 == "0" })
        return "0x" + trimmed
    }
}

extension UInt256: ExpressibleByIntegerLiteral {
    public init(integerLiteral value: UInt64) {
        self.init(value)
    }
}
