import SettleCore

extension EVMAddress {
    /// Parses `0x` and 40 hex digits (the prefix is optional).
    ///
    /// All-lower-case and all-upper-case input is accepted as is; mixed case must be the EIP-55 checksum.
    /// - Throws: `EVMError.invalidHex`, `.invalidLength` (not 40 digits), or `.invalidChecksum`.
    public init(hex text: some StringProtocol) throws(EVMError) {
        let utf8 = Array(text.utf8)
        let start = utf8.count >= 2 && utf8[0] == UInt8(ascii: "0") && (utf8[1] | 0x20) == UInt8(ascii: "x") ? 2 : 0
        let digits = utf8[start...]
        for (i, c) in digits.enumerated() where Hex.nibble(c) == nil {
            throw EVMError(.invalidHex, "not a hex digit", offset: start + i)
        }
        guard digits.count == 40 else {
            throw EVMError(.invalidLength, "an address is 40 hex digits, got \(digits.count)")
        }
        var bytes = [UInt8](repeating: 0, count: 20)
        for i in 0..<20 {
            bytes[i] = (Hex.nibble(digits[start + 2 * i]) ?? 0) << 4 | (Hex.nibble(digits[start + 2 * i + 1]) ?? 0)
        }
        var hasLower = false
        var hasUpper = false
        for c in digits {
            if c >= UInt8(ascii: "a") && c <= UInt8(ascii: "f") { hasLower = true }
            if c >= UInt8(ascii: "A") && c <= UInt8(ascii: "F") { hasUpper = true }
        }
        let address = try EVMAddress(bytes: bytes)
        if hasLower && hasUpper {
            let expected = address.checksumDigits
            for (i, c) in digits.enumerated() where c != expected[i] {
                throw EVMError(.invalidChecksum, "address letter case does not match its EIP-55 checksum",
                               offset: start + i)
            }
        }
        self = address
    }

    /// The 40 EIP-55 digits: a letter is upper case when the matching nibble of keccak(lower-case hex) is ≥ 8.
    var checksumDigits: [UInt8] {
        let lower = Array(lowercaseHex.utf8)
        let digest = Keccak256.hash(lower)
        return digest.withUnsafeBytes { hash in
            lower.enumerated().map { i, c in
                let nibble = i % 2 == 0 ? hash[i / 2] >> 4 : hash[i / 2] & 0x0f
                return c >= UInt8(ascii: "a") && nibble >= 8 ? c - 0x20 : c
            }
        }
    }

    /// 40 lower-case hex digits without prefix.
    public var lowercaseHex: String { withUnsafeBytes { Hex.encode($0) } }

    /// The EIP-55 checksum form, `0x` prefixed.
    public var checksummed: String { "0x" + String(decoding: checksumDigits, as: UTF8.self) }

    /// The EIP-55 checksum form, `0x` prefixed.
    public var description: String { checksummed }
}
