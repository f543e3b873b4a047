import CSecp256k1
import SettleCore

/// A secp256k1 public key, held as the 64-byte uncompressed point `x ‖ y` (no `0x04` prefix), the form an EVM
/// address is hashed from.
public struct Secp256k1PublicKey: Hashable, Sendable, CustomStringConvertible {
    /// `x ‖ y`, 32 bytes each, big-endian.
    public let point: Bytes64

    init(parsed key: secp256k1_pubkey) throws(SigningError) {
        var key = key
        var out = [UInt8](repeating: 0, count: 65)
        var length = 65
        guard secp256k1_ec_pubkey_serialize(
            Secp256k1Context.shared.raw, &out, &length, &key, UInt32(SECP256K1_EC_UNCOMPRESSED)) == 1,
            length == 65
        else {
            throw SigningError(.invalidPublicKey, "cannot serialise secp256k1 public key")
        }
        point = Bytes64(first: Bytes32(loadingArray: out, at: 1), second: Bytes32(loadingArray: out, at: 33))
    }

    /// Parses a serialized public key: 33 bytes compressed, 65 bytes uncompressed (`0x04` prefix), or 64 bytes `x ‖ y`.
    /// - Throws: `SigningError.invalidPublicKey` when the bytes are not a point on the curve.
    public init<Bytes: Collection>(bytes: Bytes) throws(SigningError) where Bytes.Element == UInt8 {
        var input = Array(bytes)
        if input.count == 64 { input.insert(0x04, at: 0) }
        guard input.count == 33 || input.count == 65 else {
            throw SigningError(.invalidPublicKey, "a secp256k1 public key is 33, 64 or 65 bytes, got \(bytes.count)")
        }
        var key = secp256k1_pubkey()
        guard secp256k1_ec_pubkey_parse(Secp256k1Context.shared.raw, &key, input, input.count) == 1 else {
            throw SigningError(.invalidPublicKey, "bytes are not a point on secp256k1")
        }
        try self.init(parsed: key)
    }

    /// The 64 bytes `x ‖ y`.
    public var uncompressed: [UInt8] { point.bytes }

    /// The 33-byte compressed form.
    public var compressed: [UInt8] {
        var out = [UInt8](repeating: 0, count: 33)
        out[0] = point.second.withUnsafeBytes { $0[31] } & 1 == 0 ? 0x02 : 0x03
        point.first.withUnsafeBytes { raw in
            for i in 0..<32 { out[1 + i] = raw[i] }
        }
        return out
    }

    /// Hex of the compressed form.
    public var description: String { Hex.encode(compressed, prefix: true) }
}
