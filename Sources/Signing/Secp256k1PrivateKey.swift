import CSecp256k1
import SettleCore

/// A secp256k1 private key (an EVM spender key).
///
/// The 32 secret bytes live in locked heap memory that is zeroed on release. The type has no way to get the
/// bytes back out, is not `Codable`, and prints as `Secp256k1PrivateKey(redacted)` however it is interpolated,
/// described, reflected or dumped: a log line cannot leak it.
public struct Secp256k1PrivateKey: Sendable {
    private let secret: SecretBytes
    /// The public key, derived once.
    public let publicKey: Secp256k1PublicKey

    /// Creates a key from its 32 secret bytes.
    /// - Throws: `SigningError.invalidPrivateKey` for a wrong length, zero, or a value not below the group order.
    public init<Bytes: Collection>(bytes: Bytes) throws(SigningError) where Bytes.Element == UInt8 {
        guard bytes.count == 32 else {
            throw SigningError(.invalidPrivateKey, "a secp256k1 private key is 32 bytes, got \(bytes.count)")
        }
        let context = Secp256k1Context.shared.raw
        let secret = try SecretBytes(count: 32) { (buffer) throws(SigningError) in
            for (i, byte) in bytes.enumerated() { buffer[i] = byte }
            guard secp256k1_ec_seckey_verify(context, buffer.mutableBytePointer) == 1 else {
                throw SigningError(.invalidPrivateKey, "secp256k1 private key is zero or not below the curve order")
            }
        }
        var pubkey = secp256k1_pubkey()
        let created = secret.withUnsafeBytes { raw in
            secp256k1_ec_pubkey_create(context, &pubkey, raw.bytePointer)
        }
        guard created == 1 else {
            throw SigningError(.invalidPrivateKey, "secp256k1 public key derivation failed")
        }
        self.secret = secret
        self.publicKey = try Secp256k1PublicKey(parsed: pubkey)
    }

    /// A new random key from the system CSPRNG.
    public static func generate() -> Secp256k1PrivateKey {
        while true {
            var candidate = Sodium.randomBytes(32)
            defer { wipe(&candidate) }
            if let key = try? Secp256k1PrivateKey(bytes: candidate) { return key }
        }
    }

    /// Signs a 32-byte digest: RFC 6979 deterministic nonce, low-s, with the recovery id Ethereum needs.
    public func signRecoverable(digest: Bytes32) -> RecoverableSignature {
        let context = Secp256k1Context.shared.raw
        var signature = secp256k1_ecdsa_recoverable_signature()
        var compact = Bytes64(first: .zero, second: .zero)
        var recoveryID: Int32 = 0
        digest.withUnsafeBytes { message in
            secret.withUnsafeBytes { key in
                let ok = secp256k1_ecdsa_sign_recoverable(
                    context, &signature,
                    message.bytePointer,
                    key.bytePointer,
                    nil, nil)
                // Cannot fail for a verified key with the default nonce function.
                precondition(ok == 1, "secp256k1_ecdsa_sign_recoverable failed")
            }
        }
        var out = [UInt8](repeating: 0, count: 64)
        _ = secp256k1_ecdsa_recoverable_signature_serialize_compact(context, &out, &recoveryID, &signature)
        compact = Bytes64(first: Bytes32(loadingArray: out, at: 0), second: Bytes32(loadingArray: out, at: 32))
        return RecoverableSignature(unchecked: compact.first, s: compact.second, recoveryID: UInt8(recoveryID))
    }
}

extension Secp256k1PrivateKey: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public var description: String { "Secp256k1PrivateKey(redacted)" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: [], displayStyle: .struct) }
}

extension Bytes32 {
    /// Reads 32 bytes of an array known to hold them (internal fast path).
    init(loadingArray array: [UInt8], at offset: Int) {
        self = array.withUnsafeBytes { Bytes32(loading: $0, at: offset) }
    }
}
