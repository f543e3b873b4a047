extension SolanaTransaction {
    /// Bytes of the wire form.
    public var encodedCount: Int {
        CompactU16.encodedCount(signatures.count) + 64 * signatures.count + message.encodedCount
    }

    /// The wire form: compact-u16 signature count, signatures, message.
    public func serialized() -> [UInt8] {
        var buffer: [UInt8] = []
        buffer.reserveCapacity(encodedCount)
        CompactU16.append(signatures.count, to: &buffer)
        for signature in signatures { signature.rawValue.append(to: &buffer) }
        message.serialize(into: &buffer)
        return buffer
    }

    /// Parses a transaction of either message version strictly: canonical compact-u16s, a sanitized message,
    /// exactly one signature per required signer, no bytes left over. Signatures are not verified here
    /// (see `verifySignatures()`).
    /// - Throws: `SolanaError` `.truncated`, `.trailingBytes`, compact-u16 errors, `.unsupportedVersion`,
    ///   `.invalidMessage`, `.tooManyAccounts`, `.signatureCountMismatch`.
    public init(wireBytes: [UInt8]) throws(SolanaError) {
        var reader = WireReader(wireBytes)
        let count = try reader.readCompactU16()
        guard count * 64 <= reader.remaining else {
            throw SolanaError(.truncated, "\(count) signatures cannot fit in \(reader.remaining) bytes",
                              offset: reader.offset)
        }
        var signatures: [SolanaSignature] = []
        signatures.reserveCapacity(count)
        for _ in 0..<count { signatures.append(try reader.readSignature()) }
        let message = try VersionedMessage(reading: &reader)
        try reader.finish("the transaction")
        let required = Int(message.header.numRequiredSignatures)
        guard count == required else {
            throw SolanaError(.signatureCountMismatch, "\(count) signatures for \(required) required signers")
        }
        self.init(signatures: signatures, message: message)
    }
}
