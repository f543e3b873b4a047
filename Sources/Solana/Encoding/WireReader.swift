import SettleCore

/// A bounds-checked cursor over wire bytes. Every read checks the remaining length first and throws
/// `SolanaError.truncated` (with the offset) instead of trapping.
struct WireReader {
    let bytes: [UInt8]
    private(set) var offset: Int

    init(_ bytes: [UInt8], offset: Int = 0) {
        self.bytes = bytes
        self.offset = offset
    }

    var remaining: Int { bytes.count - offset }

    private func need(_ count: Int, _ what: StaticString) throws(SolanaError) {
        guard count <= remaining else {
            throw SolanaError(.truncated, "input ends inside \(what): \(count) bytes needed, \(remaining) left",
                              offset: offset)
        }
    }

    mutating func readByte(_ what: StaticString) throws(SolanaError) -> UInt8 {
        try need(1, what)
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func peekByte(_ what: StaticString) throws(SolanaError) -> UInt8 {
        try need(1, what)
        return bytes[offset]
    }

    mutating func readCompactU16() throws(SolanaError) -> Int {
        let (value, count) = try CompactU16.decode(bytes, at: offset)
        offset += count
        return value
    }

    mutating func readBytes(_ count: Int, _ what: StaticString) throws(SolanaError) -> [UInt8] {
        try need(count, what)
        defer { offset += count }
        return Array(bytes[offset..<offset + count])
    }

    mutating func readBytes32(_ what: StaticString) throws(SolanaError) -> Bytes32 {
        try need(32, what)
        defer { offset += 32 }
        let at = offset
        return bytes.withUnsafeBytes { Bytes32(loading: $0, at: at) }
    }

    mutating func readKey() throws(SolanaError) -> SolanaPublicKey {
        SolanaPublicKey(rawValue: try readBytes32("a public key"))
    }

    mutating func readSignature() throws(SolanaError) -> SolanaSignature {
        let first = try readBytes32("a signature")
        let second = try readBytes32("a signature")
        return SolanaSignature(rawValue: Bytes64(first: first, second: second))
    }

    /// A compact-u16 count followed by that many keys.
    mutating func readKeys() throws(SolanaError) -> [SolanaPublicKey] {
        let count = try readCompactU16()
        try need(count * 32, "a list of public keys")
        var keys: [SolanaPublicKey] = []
        keys.reserveCapacity(count)
        for _ in 0..<count { keys.append(try readKey()) }
        return keys
    }

    /// A compact-u16 length followed by that many bytes.
    mutating func readLengthPrefixed(_ what: StaticString) throws(SolanaError) -> [UInt8] {
        let count = try readCompactU16()
        return try readBytes(count, what)
    }

    /// Throws `SolanaError.trailingBytes` unless every byte was read.
    func finish(_ what: StaticString) throws(SolanaError) {
        guard remaining == 0 else {
            throw SolanaError(.trailingBytes, "\(remaining) bytes follow the end of \(what)", offset: offset)
        }
    }
}
