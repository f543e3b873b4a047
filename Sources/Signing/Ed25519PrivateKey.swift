import CSodium
import SettleCore

/// An ed25519 private key (a Solana delegate or fee-payer key), signing through libsodium.
///
/// Held as libsodium's 64-byte secret key (seed ‖ public key) in locked heap memory, zeroed on release. The
/// type cannot give its bytes back, is not `Codable`, and prints as `Ed25519PrivateKey(redacted)`.
public struct Ed25519PrivateKey: Sendable {
    private let secret: SecretBytes
    /// The public key (the Solana address).
    public let publicKey: Ed25519PublicKey

    /// Creates a key from a 32-byte seed (RFC 8032's private key).
    /// - Throws: `SigningError.invalidPrivateKey` for a wrong length.
    public init<Bytes: Collection>(seed: Bytes) throws(SigningError) where Bytes.Element == UInt8 {
        guard seed.count == 32 else {
            throw SigningError(.invalidPrivateKey, "an ed25519 seed is 32 bytes, got \(seed.count)")
        }
        var seedCopy = Array(seed)
        defer { wipe(&seedCopy) }
        var publicBytes = [UInt8](repeating: 0, count: 32)
        secret = try SecretBytes(count: 64) { (buffer) throws(SigningError) in
            let sk = buffer.mutableBytePointer
            guard crypto_sign_ed25519_seed_keypair(&publicBytes, sk, seedCopy) == 0 else {
                throw SigningError(.invalidPrivateKey, "ed25519 key derivation failed")
            }
        }
        publicKey = Ed25519PublicKey(rawValue: Bytes32(loadingArray: publicBytes, at: 0))
    }

    /// Creates a key from a 64-byte keypair (seed ‖ public key), the layout of Solana CLI keypair files.
    /// - Throws: `SigningError.keypairMismatch` when the public half does not belong to the seed.
    public init<Bytes: Collection>(keypairBytes: Bytes) throws(SigningError) where Bytes.Element == UInt8 {
        guard keypairBytes.count == 64 else {
            throw SigningError(.invalidPrivateKey, "an ed25519 keypair is 64 bytes, got \(keypairBytes.count)")
        }
        var bytes = Array(keypairBytes)
        defer { wipe(&bytes) }
        try self.init(seed: bytes[0..<32])
        guard publicKey.rawValue.bytes == Array(bytes[32..<64]) else {
            throw SigningError(
                .keypairMismatch, "the keypair's public half does not match its secret half (corrupt key file?)")
        }
    }

    /// A new random key from the system CSPRNG.
    public static func generate() -> Ed25519PrivateKey {
        var seed = Sodium.randomBytes(32)
        defer { wipe(&seed) }
        // A 32-byte seed is always valid.
        guard let key = try? Ed25519PrivateKey(seed: seed) else { fatalError("ed25519 key generation failed") }
        return key
    }

    /// Signs `message` (RFC 8032 Ed25519, deterministic).
    public func sign(_ message: UnsafeRawBufferPointer) -> Ed25519Signature {
        var out = Bytes64(first: .zero, second: .zero)
        withUnsafeMutableBytes(of: &out) { signature in
            secret.withUnsafeBytes { sk in
                _ = crypto_sign_ed25519_detached(
                    signature.mutableBytePointer, nil,
                    message.bytePointer, UInt64(message.count),
                    sk.bytePointer)
            }
        }
        return Ed25519Signature(rawValue: out)
    }

    /// Signs `message` (RFC 8032 Ed25519, deterministic).
    public func sign(_ message: [UInt8]) -> Ed25519Signature {
        message.withUnsafeBytes { sign($0) }
    }
}

extension Ed25519PrivateKey: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public var description: String { "Ed25519PrivateKey(redacted)" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: [], displayStyle: .struct) }
}
