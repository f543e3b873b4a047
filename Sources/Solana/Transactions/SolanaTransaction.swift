import SettleCore
import Signing

/// A transaction: one signature per required signer, then the message they signed.
///
/// Wire form: compact-u16 signature count, 64-byte signatures, message. Build and sign with
/// `init(message:signers:)`, or go straight to bytes with `signedWireBytes(message:signers:)` (one buffer,
/// signed in place: the fast path for sending). Parse with `init(wireBytes:)`.
public struct SolanaTransaction: Hashable, Sendable {
    /// Signatures in the order of the message's signer keys.
    public var signatures: [SolanaSignature]
    /// The signed message.
    public var message: VersionedMessage

    /// Creates a transaction from its parts as they are.
    public init(signatures: [SolanaSignature], message: VersionedMessage) {
        self.signatures = signatures
        self.message = message
    }

    /// Signs `message` with `signers` (any order; each must be a required signer, and every required signer
    /// must be present).
    /// - Throws: `SolanaError.signerMismatch`.
    public init(message: VersionedMessage, signers: [Ed25519PrivateKey]) throws(SolanaError) {
        let bytes = try Self.signedWireBytes(message: message, signers: signers)
        let count = Int(message.header.numRequiredSignatures)
        let start = CompactU16.encodedCount(count)
        var signatures: [SolanaSignature] = []
        signatures.reserveCapacity(count)
        bytes.withUnsafeBytes { raw in
            for i in 0..<count {
                let offset = start + 64 * i
                signatures.append(SolanaSignature(rawValue: Bytes64(
                    first: Bytes32(loading: raw, at: offset), second: Bytes32(loading: raw, at: offset + 32))))
            }
        }
        self.init(signatures: signatures, message: message)
    }

    /// The transaction id: the first signature (the fee payer's), if any.
    public var id: SolanaSignature? { signatures.first }

    /// True when there is one signature per required signer and each verifies against its key.
    public func verifySignatures() -> Bool {
        let keys = message.signerKeys
        guard signatures.count == keys.count else { return false }
        let bytes = message.serialized()
        for (signature, key) in zip(signatures, keys)
        where !Ed25519PublicKey(rawValue: key.rawValue).isValidSignature(signature.ed25519, for: bytes) {
            return false
        }
        return true
    }
}
