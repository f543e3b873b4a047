/// Builders for the SPL Token instructions Settle sends, for either token program and a single owner (no
/// multisig). Data layouts: a one-byte tag, then little-endian arguments.
public enum TokenInstruction {
    /// Moves `amount` base units from `source` to `destination` (tag 3). Prefer `transferChecked`, which
    /// also pins the mint and decimals.
    /// Accounts: source (writable), destination (writable), owner (signer).
    public static func transfer(
        program: TokenProgram = .token, source: SolanaPublicKey, destination: SolanaPublicKey,
        owner: SolanaPublicKey, amount: UInt64
    ) -> SolanaInstruction {
        SolanaInstruction(
            programID: program.programID,
            accounts: [.writable(source), .writable(destination), .readonly(owner, signer: true)],
            data: data(tag: 3, amount: amount, decimals: nil))
    }

    /// Moves `amount` base units of `mint` (which has `decimals`) from `source` to `destination` (tag 12).
    /// Accounts: source (writable), mint, destination (writable), owner (signer).
    public static func transferChecked(
        program: TokenProgram = .token, source: SolanaPublicKey, mint: SolanaPublicKey,
        destination: SolanaPublicKey, owner: SolanaPublicKey, amount: UInt64, decimals: UInt8
    ) -> SolanaInstruction {
        SolanaInstruction(
            programID: program.programID,
            accounts: [.writable(source), .readonly(mint), .writable(destination), .readonly(owner, signer: true)],
            data: data(tag: 12, amount: amount, decimals: decimals))
    }

    /// Lets `delegate` move up to `amount` base units out of `source` (tag 4).
    /// Accounts: source (writable), delegate, owner (signer).
    public static func approve(
        program: TokenProgram = .token, source: SolanaPublicKey, delegate: SolanaPublicKey,
        owner: SolanaPublicKey, amount: UInt64
    ) -> SolanaInstruction {
        SolanaInstruction(
            programID: program.programID,
            accounts: [.writable(source), .readonly(delegate), .readonly(owner, signer: true)],
            data: data(tag: 4, amount: amount, decimals: nil))
    }

    /// Lets `delegate` move up to `amount` base units of `mint` (which has `decimals`) out of `source` (tag 13).
    /// Accounts: source (writable), mint, delegate, owner (signer).
    public static func approveChecked(
        program: TokenProgram = .token, source: SolanaPublicKey, mint: SolanaPublicKey,
        delegate: SolanaPublicKey, owner: SolanaPublicKey, amount: UInt64, decimals: UInt8
    ) -> SolanaInstruction {
        SolanaInstruction(
            programID: program.programID,
            accounts: [.writable(source), .readonly(mint), .readonly(delegate), .readonly(owner, signer: true)],
            data: data(tag: 13, amount: amount, decimals: decimals))
    }

    /// Removes `source`'s delegate (tag 5).
    /// Accounts: source (writable), owner (signer).
    public static func revoke(program: TokenProgram = .token, source: SolanaPublicKey, owner: SolanaPublicKey)
        -> SolanaInstruction
    {
        SolanaInstruction(
            programID: program.programID,
            accounts: [.writable(source), .readonly(owner, signer: true)],
            data: [5])
    }

    /// Token-2022 TransferCheckedWithFee (TransferFeeExtension 26, sub-instruction 1): like `transferChecked`, and
    /// the program checks that the mint's current fee on `amount` is exactly `fee` (the destination gets
    /// `amount - fee`). Accounts as `transferChecked`.
    public static func transferCheckedWithFee(
        source: SolanaPublicKey, mint: SolanaPublicKey, destination: SolanaPublicKey, owner: SolanaPublicKey, amount: UInt64, decimals: UInt8,
        fee: UInt64
    ) -> SolanaInstruction {
        var data: [UInt8] = [26, 1]
        withUnsafeBytes(of: amount.littleEndian) { data.append(contentsOf: $0) }
        data.append(decimals)
        withUnsafeBytes(of: fee.littleEndian) { data.append(contentsOf: $0) }
        return SolanaInstruction(
            programID: TokenProgram.token2022.programID,
            accounts: [.writable(source), .readonly(mint), .writable(destination), .readonly(owner, signer: true)],
            data: data)
    }

    private static func data(tag: UInt8, amount: UInt64, decimals: UInt8?) -> [UInt8] {
        var data: [UInt8] = []
        data.reserveCapacity(10)
        data.append(tag)
        withUnsafeBytes(of: amount.littleEndian) { data.append(contentsOf: $0) }
        if let decimals { data.append(decimals) }
        return data
    }
}
