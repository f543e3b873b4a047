/// Solana's compact-u16 ("shortvec") length prefix: 7 bits per byte, least significant first, the high bit
/// set on every byte but the last; one to three bytes.
///
/// Decoding is as strict as the Solana runtime: a longer form than needed (a final `0x00` byte after the
/// first), a value over 65535, or a fourth byte is an error, never a trap.
public enum CompactU16 {
    /// Largest encodable value.
    public static let max = 65535

    /// Bytes `value` takes (1, 2 or 3).
    @inlinable
    public static func encodedCount(_ value: Int) -> Int {
        value < 0x80 ? 1 : value < 0x4000 ? 2 : 3
    }

    /// Appends the encoding of `value` (0...65535; larger values are a programming error and trap).
    @inlinable
    public static func append(_ value: Int, to buffer: inout [UInt8]) {
        precondition(value >= 0 && value <= max, "compact-u16 value out of range: \(value)")
        var rest = value
        while rest >= 0x80 {
            buffer.append(UInt8(truncatingIfNeeded: rest) | 0x80)
            rest >>= 7
        }
        buffer.append(UInt8(truncatingIfNeeded: rest))
    }

    /// The encoding of `value` (0...65535).
    public static func encode(_ value: Int) -> [UInt8] {
        var out: [UInt8] = []
        append(value, to: &out)
        return out
    }

    /// Decodes one compact-u16 from the start of `bytes`.
    /// - Returns: the value and the number of bytes it took.
    /// - Throws: `SolanaError` `.truncated`, `.nonCanonicalCompactU16` or `.compactU16Overflow`.
    public static func decode<Bytes: RandomAccessCollection>(_ bytes: Bytes) throws(SolanaError)
        -> (value: Int, count: Int) where Bytes.Element == UInt8, Bytes.Index == Int
    {
        try decode(bytes, at: bytes.startIndex)
    }

    /// Decodes one compact-u16 starting at index `start` of `bytes`; error offsets are indexes of `bytes`.
    static func decode<Bytes: RandomAccessCollection>(_ bytes: Bytes, at start: Int) throws(SolanaError)
        -> (value: Int, count: Int) where Bytes.Element == UInt8, Bytes.Index == Int
    {
        var value = 0
        for n in 0..<3 {
            let index = start + n
            guard index < bytes.endIndex else {
                throw SolanaError(.truncated, "input ends inside a compact-u16", offset: index)
            }
            let byte = bytes[index]
            if byte == 0 && n > 0 {
                throw SolanaError(.nonCanonicalCompactU16, "compact-u16 has a redundant zero byte", offset: index)
            }
            if n == 2 && byte > 0x03 {
                throw SolanaError(.compactU16Overflow, "compact-u16 exceeds 65535 or runs past 3 bytes",
                                  offset: index)
            }
            value |= Int(byte & 0x7f) << (7 * n)
            if byte & 0x80 == 0 { return (value, n + 1) }
        }
        // Unreachable: the third byte is at most 0x03 and so ends the value.
        throw SolanaError(.compactU16Overflow, "compact-u16 runs past 3 bytes", offset: start + 2)
    }
}
