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
