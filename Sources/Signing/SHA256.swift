import CSodium
import SettleCore

/// SHA-256 (libsodium), used for Solana program-derived addresses.
public enum SHA256 {
    /// The digest of `buffer`.
    public static func hash(_ buffer: UnsafeRawBufferPointer) -> Bytes32 {
        var out = Bytes32.zero
        out.withUnsafeMutableBytes { digest in
            _ = crypto_hash_sha256(
                digest.mutableBytePointer,
                buffer.bytePointer, UInt64(buffer.count))
        }
        return out
    }

    /// The digest of `bytes`.
    public static func hash(_ bytes: [UInt8]) -> Bytes32 {
        bytes.withUnsafeBytes { hash($0) }
    }
}

/// HMAC-SHA256 (libsodium), for webhook signatures: Stripe's inbound ones and Settle's outbound ones.
public enum HMACSHA256 {
    /// The MAC of `message` under `key` (any key length).
    public static func authenticate(key: [UInt8], message: [UInt8]) -> Bytes32 {
        Sodium.ensureInitialized()
        var state = crypto_auth_hmacsha256_state()
        var out = Bytes32.zero
        key.withUnsafeBytes { keyBytes in
            _ = crypto_auth_hmacsha256_init(&state, keyBytes.bytePointer, keyBytes.count)
        }
        message.withUnsafeBytes { bytes in
            _ = crypto_auth_hmacsha256_update(&state, bytes.bytePointer, UInt64(bytes.count))
        }
        out.withUnsafeMutableBytes { digest in
            _ = crypto_auth_hmacsha256_final(&state, digest.mutableBytePointer)
        }
        sodium_memzero(&state, MemoryLayout<crypto_auth_hmacsha256_state>.size)
        return out
    }

    /// Compares two MACs in constant time.
    public static func equal(_ a: Bytes32, _ b: Bytes32) -> Bool {
        a.withUnsafeBytes { x in b.withUnsafeBytes { y in sodium_memcmp(x.bytePointer, y.bytePointer, 32) == 0 } }
    }
}
