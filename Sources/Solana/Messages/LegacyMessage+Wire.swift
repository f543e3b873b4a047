extension LegacyMessage {
    /// Bytes of the wire form.
    public var encodedCount: Int { MessageCodec.bodyCount(keys: accountKeys.count, instructions: instructions) }

    /// Appends the wire form (the bytes that are signed).
    public func serialize(into buffer: inout [UInt8]) {
        MessageCodec.appendBody(
            header: header, keys: accountKeys, blockhash: recentBlockhash, instructions: instructions, to: &buffer)
    }

    /// The wire form (the bytes that are signed).
    public func serialized() -> [UInt8] {
        var buffer: [UInt8] = []
        buffer.reserveCapacity(encodedCount)
        serialize(into: &buffer)
        return buffer
    }

    /// Parses and sanitizes a legacy message; every byte must be used.
    /// - Throws: `SolanaError` `.truncated`, `.trailingBytes`, compact-u16 errors, `.invalidMessage`,
    ///   `.tooManyAccounts`, or `.unsupportedVersion` when the first byte marks a versioned message.
    public init(wireBytes: [UInt8]) throws(SolanaError) {
        var reader = WireReader(wireBytes)
        try self.init(reading: &reader)
        try reader.finish("the message")
    }

    init(reading reader: inout WireReader) throws(SolanaError) {
        let first = try reader.peekByte("the message header")
        guard first & 0x80 == 0 else {
            throw SolanaError(.unsupportedVersion, "a versioned message (prefix 0x\(String(first, radix: 16))), "
                                  + "not a legacy one", offset: reader.offset)
        }
        let (header, keys, blockhash, instructions) = try MessageCodec.readBody(&reader)
        self.init(header: header, accountKeys: keys, recentBlockhash: blockhash, instructions: instructions)
        try sanitize()
    }

    /// Checks Solana's sanitize rules: header counts fit the keys, a writable fee payer exists, program indexes
    /// are in range and not the payer, account indexes are in range.
    /// - Throws: `SolanaError.invalidMessage` or `.tooManyAccounts`.
    public func sanitize() throws(SolanaError) {
        try MessageCodec.sanitize(header: header, staticKeys: accountKeys.count, loaded: 0, instructions: instructions)
    }
}
