import CSecp256k1
import SettleCore

/// A secp256k1 ECDSA signature `(r, s)` with its recovery id, from which the signer's public key can be recovered.
public struct RecoverableSignature: Hashable, Sendable {
    /// `r`, 32 bytes big-endian.
    public let r: Bytes32
    /// `s`, 32 bytes big-endian.
    public let s: Bytes32
    /// 0 or 1: the parity of the nonce point's y (Ethereum's `yParity`; legacy `v` is derived from it).
    public let recoveryID: UInt8

    /// Half the secp256k1 group order: `s` above this is "high" (EIP-2 rejects it in transactions).
    public static let halfOrder = UInt256(
        high: 0x7FFF_FFFF_FFFF_FFFF_FFFF_FFFF_FFFF_FFFF, low: 0x5D57_6E73_57A4_501D_DFE9_2F46_681B_20A0)
    /// The secp256k1 group order n.
    public static let order = UInt256(
        high: 0xFFFF_FFFF_FFFF_FFFF_FFFF_FFFF_FFFF_FFFE, low: 0xBAAE_DCE6_AF48_A03B_BFD2_5E8C_D036_4141)

    init(unchecked r: Bytes32, s: Bytes32, recoveryID: UInt8) {
        self.r = r
        self.s = s
        self.recoveryID = recoveryID
    }

    /// Validates and creates a signature from outside input.
    /// - Throws: `SigningError.invalidSignature` when `r` or `s` is zero or not below the group order, or the
    ///   recovery id is not 0 or 1.
    public init(r: Bytes32, s: Bytes32, recoveryID: UInt8) throws(SigningError) {
        guard recoveryID <= 1 else {
            throw SigningError(.invalidSignature, "recovery id must be 0 or 1, got \(recoveryID)")
        }
        let rValue = r.withUnsafeBytes { try? UInt256(bigEndian: $0) } ?? .zero
        let sValue = s.withUnsafeBytes { try? UInt256(bigEndian: $0) } ?? .zero
        guard !rValue.isZero, !sValue.isZero, rValue < Self.order, sValue < Self.order else {
            throw SigningError(.invalidSignature, "signature r and s must be in [1, n-1]")
        }
        self.init(unchecked: r, s: s, recoveryID: recoveryID)
    }

    /// True when `s ≤ n/2`, the only form EIP-2 accepts and the only form `signRecoverable` produces.
    public var isLowS: Bool {
        let sValue = s.withUnsafeBytes { try? UInt256(bigEndian: $0) } ?? .max
        return sValue <= Self.halfOrder
    }

    /// Recovers the public key that produced this signature over `digest`.
    /// - Throws: `SigningError.invalidSignature` when no key recovers.
    public func recoverPublicKey(digest: Bytes32) throws(SigningError) -> Secp256k1PublicKey {
        let context = Secp256k1Context.shared.raw
        var compact = [UInt8]()
        compact.reserveCapacity(64)
        r.append(to: &compact)
        s.append(to: &compact)
        var signature = secp256k1_ecdsa_recoverable_signature()
        guard secp256k1_ecdsa_recoverable_signature_parse_compact(
            context, &signature, compact, Int32(recoveryID)) == 1
        else {
            throw SigningError(.invalidSignature, "signature r or s out of range")
        }
        var pubkey = secp256k1_pubkey()
        let ok = digest.withUnsafeBytes { message in
            secp256k1_ecdsa_recover(context, &pubkey, &signature, message.bytePointer)
        }
        guard ok == 1 else {
            throw SigningError(.invalidSignature, "no public key recovers from this signature")
        }
        return try Secp256k1PublicKey(parsed: pubkey)
    }
}
