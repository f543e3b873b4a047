extension SolanaPublicKey {
    /// True when the 32 bytes decompress to an ed25519 curve point, exactly as Solana decides it
    /// (curve25519-dalek's `CompressedEdwardsY::decompress().is_some()`).
    ///
    /// The low 255 bits are y (values at or above p count as their residue), the top bit is x's sign and is
    /// ignored. The point exists iff (y² − 1)/(d·y² + 1) is a square mod p. There is deliberately no check of
    /// small order or subgroup membership, so this is NOT libsodium's `crypto_core_ed25519_is_valid_point`,
    /// which would disagree with Solana on program-derived addresses.
    public var isOnCurve: Bool {
        let y = rawValue.withUnsafeBytes { FieldElement25519(littleEndian: $0) }
        let yy = y * y
        let u = yy - .one
        let v = yy * .d + .one
        // v is never zero (−1/d is not a square), so u/v is a square iff u·v is a square or zero.
        let symbol = (u * v).legendre
        return symbol.isEqual(to: .one) || symbol.isEqual(to: .zero)
    }
}
