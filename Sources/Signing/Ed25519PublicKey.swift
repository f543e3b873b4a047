import CSodium
import SettleCore

/// An ed25519 public key: 32 bytes (on Solana, an address).
public struct Ed25519PublicKey: Hashable, Sendable, CustomStringConvertible {
    /// The 32 bytes.
    public let rawValue: Bytes32

    public init(rawValue: Bytes32) {
        self.rawValue = rawValue
    }

    /// True when `signature` is a valid RFC 8032 signature of `message` by this key.
    public func isValidSignature(_ signature: Ed25519Signature, for message: [UInt8]) -> Bool {
        Sodium.ensureInitialized()
        let signatureBytes = signature.rawValue.bytes
        let key = rawValue.bytes
        return crypto_sign_ed25519_verify_detached(signatureBytes, message, UInt64(message.count), key) == 0
    }

    /// Hex of the key.
    public var description: String { rawValue.hex }
}

/// An ed25519 signature: 64 bytes `R ‖ S`.
public struct Ed25519Signature: Hashable, Sendable, CustomStringConvertible {
    /// The 64 bytes.
    public let rawValue: Bytes64

    public init(rawValue: Bytes64) {
        self.rawValue = rawValue
    }

    /// Hex of the signature.
    public var description: String { rawValue.hex }
}
