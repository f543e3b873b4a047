extension MessageV0 {
    /// Bytes of the wire form, the `0x80` version prefix included.
    public var encodedCount: Int {
        var count = 1 + MessageCodec.bodyCount(keys: staticAccountKeys.count, instructions: instructions)
        count += CompactU16.encodedCount(addressTableLookups.count)
        for lookup in addressTableLookups { count += lookup.encodedCount }
        return count
    }

    /// Appends the wire form: `0x80`, the legacy layout, then the lookups (the bytes that are signed).
    public func serialize(into buffer: inout [UInt8]) {
        buffer.append(0x80)
        MessageCodec.appendBody(
            header: header, keys: staticAccountKeys, blockhash: recentBlockhash, instructions: instructions,
            to: &buffer)
        CompactU16.append(addressTableLookups.count, to: &buffer)
        for lookup in addressTableLookups { lookup.append(to: &buffer) }
    }

    /// The wire form, `0x80` prefix included (the bytes that are signed).
    public func serialized() -> [UInt8] {
        var buffer: [UInt8] = []
        buffer.reserveCapacity(encodedCount)
        serialize(into: &buffer)
        return buffer
    }

    /// Parses and sanitizes a v0 message starting with its `0x80` prefix; every byte must be used.
    /// - Throws: `SolanaError` `.unsupportedVersion` for another prefix, `.truncated`, `.trailingBytes`,
    ///   compact-u16 errors, `.invalidMessage`, `.tooManyAccounts`.
    public init(wireBytes: [UInt8]) throws(SolanaError) {
        var reader = WireReader(wireBytes)
        try self.init(reading: &reader)
        try reader.finish("the message")
    }

    init(reading reader: inout WireReader) throws(SolanaError) {
        let prefix = try reader.readByte("the version prefix")
        guard prefix == 0x80 else {
            throw SolanaError(.unsupportedVersion, prefix & 0x80 == 0
                ? "a legacy message, not a v0 one" : "message version \(prefix & 0x7f) is not supported",
                offset: reader.offset - 1)
        }
        let (header, keys, blockhash, instructions) = try MessageCodec.readBody(&reader)
        let count = try reader.readCompactU16()
        // Each lookup takes at least 34 bytes: refuse counts the input cannot hold before allocating.
        guard count * 34 <= reader.remaining else {
            throw SolanaError(.truncated, "\(count) lookups cannot fit in \(reader.remaining) bytes",
                              offset: reader.offset)
        }
        var lookups: [MessageAddressTableLookup] = []
        lookups.reserveCapacity(count)
        for _ in 0..<count {
            let key = try reader.readKey()
            let writable = try reader.readLengthPrefixed("a lookup's writable indexes")
            let readonly = try reader.readLengthPrefixed("a lookup's read-only indexes")
            lookups.append(MessageAddressTableLookup(accountKey: key, writableIndexes: writable, readonlyIndexes: readonly))
        }
        self.init(header: header, staticAccountKeys: keys, recentBlockhash: blockhash, instructions: instructions,
                  addressTableLookups: lookups)
        try sanitize()
    }

    /// Checks Solana's sanitize rules for v0: those of legacy messages over the static keys, at most 256
    /// accounts in all, no empty lookup, programs only among the static keys.
    /// - Throws: `SolanaError.invalidMessage` or `.tooManyAccounts`.
    public func sanitize() throws(SolanaError) {
        for (i, lookup) in addressTableLookups.enumerated()
        where lookup.writableIndexes.isEmpty && lookup.readonlyIndexes.isEmpty {
            throw SolanaError(.invalidMessage, "lookup \(i) loads no accounts", offset: i)
        }
        try MessageCodec.sanitize(
            header: header, staticKeys: staticAccountKeys.count, loaded: loadedAccountCount, instructions: instructions)
    }
}
