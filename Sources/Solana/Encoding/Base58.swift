/// Base58 with the Bitcoin alphabet, as Solana writes public keys, signatures and blockhashes.
///
/// Each leading zero byte becomes a leading `1` and back. Decoding is strict: any character outside the
/// alphabet (including whitespace and `0`, `O`, `I`, `l`) throws `SolanaError.invalidBase58Character` with its
/// byte offset. Neither direction traps on any input.
public enum Base58 {
    @usableFromInline
    static let alphabet: [UInt8] = Array("123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz".utf8)

    /// Digit value of each ASCII byte, 0xff for bytes outside the alphabet.
    @usableFromInline
    static let digitValues: [UInt8] = {
        var table = [UInt8](repeating: 0xff, count: 256)
        for (value, character) in alphabet.enumerated() { table[Int(character)] = UInt8(value) }
        return table
    }()

    /// 58^5: five base58 digits fit one 32-bit limb.
    private static let limbBase: UInt64 = 656_356_768

    /// The base58 text of `bytes`.
    public static func encode<Bytes: Collection>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        let input = Array(bytes)
        var zeros = 0
        while zeros < input.count && input[zeros] == 0 { zeros += 1 }
        // Little-endian limbs in base 58^5.
        var limbs: [UInt32] = []
        limbs.reserveCapacity(input.count / 3 + 1)
        for byte in input[zeros...] {
            var carry = UInt64(byte)
            for i in limbs.indices {
                let value = UInt64(limbs[i]) << 8 | carry
                limbs[i] = UInt32(value % limbBase)
                carry = value / limbBase
            }
            while carry > 0 {
                limbs.append(UInt32(carry % limbBase))
                carry /= limbBase
            }
        }
        var digits: [UInt8] = []
        digits.reserveCapacity(zeros + limbs.count * 5)
        for (i, limb) in limbs.enumerated() {
            var value = limb
            let isTop = i == limbs.count - 1
            for _ in 0..<5 {
                if isTop && value == 0 { break }
                digits.append(alphabet[Int(value % 58)])
                value /= 58
            }
        }
        digits.append(contentsOf: repeatElement(alphabet[0], count: zeros))
        digits.reverse()
        return String(decoding: digits, as: UTF8.self)
    }

    /// The bytes a base58 string encodes.
    ///
    /// The work grows with the square of the length: bound untrusted text first (the typed parsers, such as
    /// `SolanaPublicKey(base58:)`, refuse over-long text before decoding).
    /// - Throws: `SolanaError.invalidBase58Character` with the offending byte offset.
    public static func decode(_ string: some StringProtocol) throws(SolanaError) -> [UInt8] {
        try decode(utf8: Array(string.utf8))
    }

    /// The bytes that base58 text in UTF-8 encodes.
    /// - Throws: `SolanaError.invalidBase58Character` with the offending byte offset.
    public static func decode(utf8 text: [UInt8]) throws(SolanaError) -> [UInt8] {
        var ones = 0
        while ones < text.count && text[ones] == alphabet[0] { ones += 1 }
        // Little-endian limbs in base 2^32.
        var limbs: [UInt32] = []
        limbs.reserveCapacity(text.count / 5 + 1)
        for offset in ones..<max(ones, text.count) {
            let digit = digitValues[Int(text[offset])]
            guard digit != 0xff else {
                throw SolanaError(.invalidBase58Character, "not a base58 character: \(describe(text[offset]))",
                                  offset: offset)
            }
            var carry = UInt64(digit)
            for i in limbs.indices {
                let value = UInt64(limbs[i]) * 58 + carry
                limbs[i] = UInt32(truncatingIfNeeded: value)
                carry = value >> 32
            }
            if carry > 0 { limbs.append(UInt32(carry)) }
        }
        var out = [UInt8](repeating: 0, count: ones)
        out.reserveCapacity(ones + limbs.count * 4)
        var started = false
        for limb in limbs.reversed() {
            for shift in stride(from: 24, through: 0, by: -8) {
                let byte = UInt8(truncatingIfNeeded: limb >> UInt32(shift))
                if byte != 0 { started = true }
                if started { out.append(byte) }
            }
        }
        return out
    }

    /// Decodes exactly `count` bytes, refusing text longer than `maxLength` before doing any arithmetic.
    static func decode(_ string: some StringProtocol, count: Int, maxLength: Int, what: String)
        throws(SolanaError) -> [UInt8]
    {
        let utf8 = Array(string.utf8)
        guard utf8.count <= maxLength else {
            throw SolanaError(.invalidLength, "\(what) is at most \(maxLength) base58 characters, got \(utf8.count)")
        }
        let bytes = try decode(utf8: utf8)
        guard bytes.count == count else {
            throw SolanaError(.invalidLength, "\(what) is \(count) bytes, the base58 text decodes to \(bytes.count)")
        }
        return bytes
    }

    private static func describe(_ c: UInt8) -> String {
        if c >= 0x20 && c < 0x7f { return "'\(Character(Unicode.Scalar(c)))'" }
        let hex: [Character] = Array("0123456789abcdef")
        return "byte 0x\(hex[Int(c >> 4)])\(hex[Int(c & 0x0f)])"
    }
}
