import Signing

extension SolanaTransaction {
    /// The signed wire form of `message`, built in one buffer: room for the signatures, the message, then
    /// each signature computed over the message bytes in place.
    /// - Throws: `SolanaError.signerMismatch` when a signer is not a required signer or a required signer has
    ///   no key.
    public static func signedWireBytes(message: VersionedMessage, signers: [Ed25519PrivateKey])
        throws(SolanaError) -> [UInt8]
    {
        let keys = message.signerKeys
        let count = keys.count
        // Match signers and required keys both ways first, so nothing is signed on a mismatch.
        for (s, signer) in signers.enumerated() where !keys.contains(SolanaPublicKey(signer.publicKey)) {
            throw SolanaError(.signerMismatch, "\(SolanaPublicKey(signer.publicKey)) signs but the message does "
                                  + "not require its signature", offset: s)
        }
        for (i, key) in keys.enumerated() where signer(for: key, in: signers) == nil {
            throw SolanaError(.signerMismatch, "no key given for required signer \(key)", offset: i)
        }
        let prefix = CompactU16.encodedCount(count)
        let messageStart = prefix + 64 * count
        var buffer: [UInt8] = []
        buffer.reserveCapacity(messageStart + message.encodedCount)
        CompactU16.append(count, to: &buffer)
        buffer.append(contentsOf: repeatElement(0, count: 64 * count))
        message.serialize(into: &buffer)
        buffer.withUnsafeMutableBytes { raw in
            let signed = UnsafeRawBufferPointer(rebasing: raw[messageStart...])
            for (i, key) in keys.enumerated() {
                guard let signer = signer(for: key, in: signers) else { continue }  // checked above
                let signature = signer.sign(signed).rawValue
                let at = prefix + 64 * i
                withUnsafeBytes(of: signature) { bytes in
                    UnsafeMutableRawBufferPointer(rebasing: raw[at..<at + 64]).copyMemory(from: bytes)
                }
            }
        }
        return buffer
    }

    private static func signer(for key: SolanaPublicKey, in signers: [Ed25519PrivateKey]) -> Ed25519PrivateKey? {
        signers.first { $0.publicKey.rawValue == key.rawValue }
    }
}
