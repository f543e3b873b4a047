/// Builders for the Compute Budget program's instructions (no accounts; a one-byte tag then a little-endian
/// argument).
public enum ComputeBudgetInstruction {
    /// Caps the compute units the transaction may use (tag 2, `u32`).
    public static func setComputeUnitLimit(_ units: UInt32) -> SolanaInstruction {
        var data: [UInt8] = [2]
        data.reserveCapacity(5)
        withUnsafeBytes(of: units.littleEndian) { data.append(contentsOf: $0) }
        return SolanaInstruction(programID: .computeBudgetProgram, accounts: [], data: data)
    }

    /// Sets the priority fee in micro-lamports per compute unit (tag 3, `u64`).
    public static func setComputeUnitPrice(microLamports: UInt64) -> SolanaInstruction {
        var data: [UInt8] = [3]
        data.reserveCapacity(9)
        withUnsafeBytes(of: microLamports.littleEndian) { data.append(contentsOf: $0) }
        return SolanaInstruction(programID: .computeBudgetProgram, accounts: [], data: data)
    }
}
