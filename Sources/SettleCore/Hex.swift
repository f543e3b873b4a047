/// Hexadecimal encoding and strict decoding of byte strings.
///
/// Decoding accepts an optional `0x`/`0X` prefix and both letter cases, and rejects anything else with a
/// `CoreError` that names the offending offset. It never traps on outside input.
public enum Hex {
    private static let digits: [UInt8] = Array("0123456789abcdef".utf8)

    /// Lower-case hex of `bytes`, with a `0x` prefix when `prefix` is true.
    public static func encode<Bytes: Sequence>(_ bytes: Bytes, prefix: Bool = false) -> String
    where Bytes.Element == UInt8 {
        // Contiguous bytes (arrays, raw buffers) at once: called across modules this function is not specialized,
        // and its loop would ask for the sequence's witnesses on every byte.
        if let text = bytes.withContiguousStorageIfAvailable({ encode(UnsafeRawBufferPointer($0), prefix: prefix) }) { return text }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.underestimatedCount * 2 + 2)
        if prefix { out.append(UInt8(ascii: "0")); out.append(UInt8(ascii: "x")) }
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Lower-case hex of raw bytes, with a `0x` prefix when `prefix` is true.
    public static func encode(_ bytes: UnsafeRawBufferPointer, prefix: Bool = false) -> String {
        let count = bytes.count * 2 + (prefix ? 2 : 0)
        return String(unsafeUninitializedCapacity: count) { out in
            var i = 0
            if prefix {
                out[0] = UInt8(ascii: "0")
                out[1] = UInt8(ascii: "x")
                i = 2
            }
            digits.withUnsafeBufferPointer { digits in
                for byte in bytes {
                    out[i] = digits[Int(byte >> 4)]
                    out[i + 1] = digits[Int(byte & 0x0f)]
                    i += 2
                }
            }
            return count
        }
    }

    /// The value of one ASCII hex digit, or nil.
    @inlinable @inline(__always)
    public static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c &- UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c &- UInt8(ascii: "a") &+ 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c &- UInt8(ascii: "A") &+ 10
        default: return nil
        }
    }

    /// Decodes a hex string (optional `0x` prefix) into bytes.
    /// - Throws: `CoreError` `.oddHexLength` or `.invalidHexCharacter`.
    public static func decode(_ string: some StringProtocol) throws(CoreError) -> [UInt8] {
        var utf8 = Array(string.utf8)
        var start = 0
        if utf8.count >= 2, utf8[0] == UInt8(ascii: "0"), utf8[1] == UInt8(ascii: "x") || utf8[1] == UInt8(ascii: "X") {
            start = 2
        }
        let digitCount = utf8.count - start
        guard digitCount % 2 == 0 else {
            throw CoreError(.oddHexLength, "hex string has \(digitCount) digits; whole bytes need an even count")
        }
        var out = [UInt8]()
        out.reserveCapacity(digitCount / 2)
        var i = start
        while i < utf8.count {
            guard let hi = nibble(utf8[i]) else {
                throw CoreError(.invalidHexCharacter, "not a hex digit: \(describe(utf8[i]))", offset: i)
            }
            guard let lo = nibble(utf8[i + 1]) else {
                throw CoreError(.invalidHexCharacter, "not a hex digit: \(describe(utf8[i + 1]))", offset: i + 1)
            }
            out.append(hi << 4 | lo)
            i += 2
        }
        utf8.removeAll()
        return out
    }

    /// Decodes exactly `count` bytes of hex.
    /// - Throws: `CoreError` `.invalidLength` when the decoded length differs.
    public static func decode(_ string: some StringProtocol, count: Int) throws(CoreError) -> [UInt8] {
        let bytes = try decode(string)
        guard bytes.count == count else {
            throw CoreError(.invalidLength, "expected \(count) bytes of hex, got \(bytes.count)")
        }
        return bytes
    }

    private static func describe(_ c: UInt8) -> String {
        if c >= 0x20 && c < 0x7f { return "'\(Character(Unicode.Scalar(c)))'" }
        return "byte 0x" + encode([c])
    }
}
