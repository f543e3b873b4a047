import SettleCore
import Signing

extension SolanaPublicKey {
    /// Most seeds a program-derived address takes (the bump counts as one).
    public static let maxSeeds = 16
    /// Longest seed, in bytes.
    public static let maxSeedLength = 32

    private static let pdaMarker: [UInt8] = Array("ProgramDerivedAddress".utf8)

    /// The program-derived address of `seeds` under `programID`:
    /// SHA-256(seeds ‖ programID ‖ "ProgramDerivedAddress"), which must lie off the ed25519 curve.
    /// - Throws: `SolanaError.maxSeedLengthExceeded` for more than 16 seeds or a seed over 32 bytes;
    ///   `.invalidSeeds` when the hash is on the curve.
    public static func createProgramAddress(seeds: [[UInt8]], programID: SolanaPublicKey)
        throws(SolanaError) -> SolanaPublicKey
    {
        try checkSeeds(seeds, extra: 0)
        var buffer = preimage(seeds: seeds, bump: nil, programID: programID)
        let address = SolanaPublicKey(rawValue: buffer.withUnsafeBytes { SHA256.hash($0) })
        buffer.removeAll()
        guard !address.isOnCurve else {
            throw SolanaError(.invalidSeeds, "the derived address lies on the ed25519 curve")
        }
        return address
    }

    /// The first program-derived address off the curve, trying bump seeds 255 down to 0 appended to `seeds`,
    /// as `Pubkey::find_program_address` does.
    /// - Throws: `SolanaError.maxSeedLengthExceeded` for more than 15 seeds (the bump is the 16th) or a seed
    ///   over 32 bytes; `.noViableBump` in the (astronomically unlikely) case that every bump is on the curve.
    public static func findProgramAddress(seeds: [[UInt8]], programID: SolanaPublicKey)
        throws(SolanaError) -> (address: SolanaPublicKey, bump: UInt8)
    {
        try checkSeeds(seeds, extra: 1)
        var buffer = preimage(seeds: seeds, bump: 255, programID: programID)
        let bumpOffset = buffer.count - 32 - pdaMarker.count - 1
        var bump: UInt8 = 255
        while true {
            buffer[bumpOffset] = bump
            let address = SolanaPublicKey(rawValue: buffer.withUnsafeBytes { SHA256.hash($0) })
            if !address.isOnCurve { return (address, bump) }
            if bump == 0 { break }
            bump -= 1
        }
        throw SolanaError(.noViableBump, "no bump seed gives an address off the curve")
    }

    private static func checkSeeds(_ seeds: [[UInt8]], extra: Int) throws(SolanaError) {
        guard seeds.count + extra <= maxSeeds else {
            throw SolanaError(
                .maxSeedLengthExceeded, "at most \(maxSeeds - extra) seeds, got \(seeds.count)")
        }
        for (index, seed) in seeds.enumerated() where seed.count > maxSeedLength {
            throw SolanaError(
                .maxSeedLengthExceeded, "seed \(index) is \(seed.count) bytes; at most \(maxSeedLength)",
                offset: index)
        }
    }

    private static func preimage(seeds: [[UInt8]], bump: UInt8?, programID: SolanaPublicKey) -> [UInt8] {
        var buffer: [UInt8] = []
        buffer.reserveCapacity(seeds.count * 32 + 1 + 32 + pdaMarker.count)
        for seed in seeds { buffer.append(contentsOf: seed) }
        if let bump { buffer.append(bump) }
        programID.rawValue.append(to: &buffer)
        buffer.append(contentsOf: pdaMarker)
        return buffer
    }
}
