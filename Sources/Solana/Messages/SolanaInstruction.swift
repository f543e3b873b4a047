/// An instruction before compilation into a message: the program to call, the accounts it touches and its
/// input bytes.
public struct SolanaInstruction: Hashable, Sendable {
    /// The program to call.
    public var programID: SolanaPublicKey
    /// Accounts in the order the program expects them.
    public var accounts: [AccountMeta]
    /// The program's input.
    public var data: [UInt8]

    /// Creates an instruction.
    @inlinable
    public init(programID: SolanaPublicKey, accounts: [AccountMeta], data: [UInt8]) {
        self.programID = programID
        self.accounts = accounts
        self.data = data
    }
}
